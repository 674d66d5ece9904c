#include "common/header_checks.h"

#include <cstring>

namespace ptdb {

Status ValidateHeader(const format::Header& h, const HashConfig& hash, const std::string& name) {
  char expected[sizeof(h.magic_food)] = {};
  std::memcpy(expected, format::kMagicFood, sizeof(format::kMagicFood));
  if (std::memcmp(h.magic_food, expected, sizeof(expected)) != 0) {
    return Err(Error::kCorrupt, "%s is not a ptdb database (bad magic)", name.c_str());
  }
  if (h.version != format::kVersion) {
    if (__builtin_bswap64(h.version) == format::kVersion) {
      return Err(Error::kCorrupt,
                 "%s was written on a host of the other byte order, which is not supported",
                 name.c_str());
    }
    return Err(Error::kCorrupt, "%s has format version %#llx; this library reads %#llx",
               name.c_str(), (unsigned long long)h.version, (unsigned long long)format::kVersion);
  }
  if (h.hash_test != HashTestValue(hash)) {
    return Err(Error::kEinval, "%s uses a different hash function", name.c_str());
  }
  if (h.features_used & ~h.features_offered) {
    return Err(Error::kCorrupt, "%s uses features (%#llx) it does not offer (%#llx)", name.c_str(),
               (unsigned long long)h.features_used, (unsigned long long)h.features_offered);
  }
  return Status::OK();
}

}  // namespace ptdb
