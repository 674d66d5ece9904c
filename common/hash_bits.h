// Which hash bits each level of the hash tree uses (format.h, docs/format.md §3), as
// plain functions of the level. The checker and the tests' layout builder use these;
// the engine computes the same positions incrementally as it descends (tree_cursor.h).
#ifndef PTDB_COMMON_HASH_BITS_H_
#define PTDB_COMMON_HASH_BITS_H_

#include <cstdint>

#include "common/format.h"

namespace ptdb {

// Where this level's bucket bits start, counted from the hash's top bit: the top level
// uses its group bits first, every sub-level its bucket bits first.
constexpr unsigned LevelBucketStart(unsigned level) {
  return level == 0 ? format::kTopGroupBits : format::kTopBits + (level - 1) * format::kSubBits;
}

// The home bucket at this level.
constexpr unsigned LevelBucket(uint64_t hash, unsigned level) {
  return unsigned(hash >> (64 - LevelBucketStart(level) - format::kBucketBits)) & 7;
}

// The group number at this level, before masking by a sub-group's group count.
constexpr unsigned LevelGroup(uint64_t hash, unsigned level) {
  if (level == 0) return unsigned(hash >> (64 - format::kTopGroupBits));
  return unsigned(hash >> (64 - LevelBucketStart(level) - format::kSubBits)) & 7;
}

// The 7 bits that follow the bucket bits, zero-filled past the hash's end.
constexpr unsigned LevelExtra(uint64_t hash, unsigned level) {
  const unsigned start = LevelBucketStart(level) + format::kBucketBits;
  return start >= 64 ? 0 : unsigned((hash << start) >> format::kEntryExtraShift);
}

}  // namespace ptdb

#endif  // PTDB_COMMON_HASH_BITS_H_
