#include "tests/support/named_hash.h"

#include <cstdio>

namespace ptdb::test {
namespace {

constexpr size_t kKeyLen = 17;

}  // namespace

std::string KeyFor(uint64_t hash) {
  char buf[kKeyLen + 1];
  std::snprintf(buf, sizeof(buf), "h%016llx", static_cast<unsigned long long>(hash));
  return buf;
}

uint64_t NamedHash(const void* key, size_t len, uint64_t seed) {
  const char* k = static_cast<const char*>(key);
  if (len == kKeyLen && k[0] == 'h') {
    uint64_t h = 0;
    if (std::sscanf(k + 1, "%16llx", reinterpret_cast<unsigned long long*>(&h)) == 1) return h;
  }
  uint64_t h = 14695981039346656037ULL ^ seed;
  for (size_t i = 0; i < len; i++) h = (h ^ uint8_t(k[i])) * 1099511628211ULL;
  return h;
}

}  // namespace ptdb::test
