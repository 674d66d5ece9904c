#include "common/hash.h"

#include <cstring>
#include <random>

namespace ptdb {
namespace {

inline uint32_t Rot(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

// lookup3's reversible mixing of three 32-bit lanes.
inline void Mix(uint32_t& a, uint32_t& b, uint32_t& c) {
  a -= c;
  a ^= Rot(c, 4);
  c += b;
  b -= a;
  b ^= Rot(a, 6);
  a += c;
  c -= b;
  c ^= Rot(b, 8);
  b += a;
  a -= c;
  a ^= Rot(c, 16);
  c += b;
  b -= a;
  b ^= Rot(a, 19);
  a += c;
  c -= b;
  c ^= Rot(b, 4);
  b += a;
}

// lookup3's final avalanche of the three lanes into c (and b).
inline void Final(uint32_t& a, uint32_t& b, uint32_t& c) {
  c ^= b;
  c -= Rot(b, 14);
  a ^= c;
  a -= Rot(c, 11);
  b ^= a;
  b -= Rot(a, 25);
  c ^= b;
  c -= Rot(b, 16);
  a ^= c;
  a -= Rot(c, 4);
  b ^= a;
  b -= Rot(a, 14);
  c ^= b;
  c -= Rot(b, 24);
}

// Little-endian load of n (< 4 allowed) bytes, so the result is the same on any host.
inline uint32_t Load(const uint8_t* p, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; i++) v |= uint32_t(p[i]) << (8 * i);
  return v;
}

inline uint32_t Load4(const uint8_t* p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
#else
  return Load(p, 4);
#endif
}

}  // namespace

uint64_t JenkinsHash64(const void* key, size_t len, uint64_t seed) {
  const uint8_t* k = static_cast<const uint8_t*>(key);
  uint32_t a, b, c;
  a = b = c = 0xdeadbeef + uint32_t(len) + uint32_t(seed);
  c += uint32_t(seed >> 32);

  while (len > 12) {
    a += Load4(k);
    b += Load4(k + 4);
    c += Load4(k + 8);
    Mix(a, b, c);
    len -= 12;
    k += 12;
  }
  if (len == 0) return (uint64_t(c) << 32) | b;  // lookup3 skips the final mix here
  // The last 1..12 bytes, zero-padded, as lookup3's tail switch does.
  a += len >= 4 ? Load4(k) : Load(k, len);
  if (len > 4) b += len >= 8 ? Load4(k + 4) : Load(k + 4, len - 4);
  if (len > 8) c += len == 12 ? Load4(k + 8) : Load(k + 8, len - 8);
  Final(a, b, c);
  return (uint64_t(c) << 32) | b;
}

uint64_t RandomHashSeed() {
  std::random_device rd;  // /dev/urandom on Linux
  return (uint64_t(rd()) << 32) ^ rd();
}

}  // namespace ptdb
