// The default key hash: Bob Jenkins' lookup3 ("hashlittle2"), seeded with the 64-bit
// seed stored in the database header, giving 64 bits. Same result on any byte order.
#ifndef PTDB_COMMON_HASH_H_
#define PTDB_COMMON_HASH_H_

#include <cstddef>
#include <cstdint>

namespace ptdb {

uint64_t JenkinsHash64(const void* key, size_t len, uint64_t seed);

// The seed of a new database, from /dev/urandom: keys crafted to collide in one database
// do not collide in another.
uint64_t RandomHashSeed();

// The header's hash check value: `hash` (called as hash(bytes, len), seed already
// applied) over the fixed test value.
template <class Hasher>
uint64_t HashTestValue(const Hasher& hash);

}  // namespace ptdb

#include "common/format.h"

template <class Hasher>
uint64_t ptdb::HashTestValue(const Hasher& hash) {
  // Fixed little-endian bytes, so the value does not depend on the host.
  unsigned char bytes[8];
  for (int i = 0; i < 8; i++) bytes[i] = uint8_t(format::kHashTestValue >> (8 * i));
  return hash(bytes, sizeof(bytes));
}

#endif  // PTDB_COMMON_HASH_H_
