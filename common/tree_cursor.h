// A walk down the hash tree (format.h, docs/format.md §3), as a position and the hash
// bits left: HashTree::Locate walks with one, and a batch of stores keeps one per key
// (HashTree::PrefetchStep, Engine::StoreBatch).
#ifndef PTDB_COMMON_TREE_CURSOR_H_
#define PTDB_COMMON_TREE_CURSOR_H_

#include <cstdint>

#include "common/format.h"

namespace ptdb {

// Where a walk is: the group it reads next, and the hash bits it has left.
struct TreeCursor {
  // `rest` holds the hash bits from the current table's bucket bits on, at the top of
  // the word: a sub-group's group bits follow its bucket bits and begin the entry's
  // extra bits (format.h). Each level shifts them out, so bits past the end of the hash
  // read as zero, as HashBits has them.
  uint64_t rest;
  uint64_t group_off;    // the group to read
  uint64_t table_slots;  // slot 0 of its table (for the top level: of the group)
  unsigned table_groups;
  unsigned table_nslots;
  unsigned group_in_table;
  unsigned bucket;  // the key's home bucket in the group
  unsigned extra;   // the extra hash bits its entry would carry
  unsigned bits_used;
  unsigned level;  // 0 = top

  enum Entered { kTable, kChain, kBadSize };

  static TreeCursor Top(uint64_t h) {
    TreeCursor c;
    const unsigned top_group = unsigned(h >> (64 - format::kTopGroupBits));
    c.rest = h << format::kTopGroupBits;
    c.bucket = unsigned(c.rest >> kBucketShift);
    c.extra = unsigned((c.rest << format::kBucketBits) >> kExtraShift);
    c.rest <<= format::kBucketBits;
    c.bits_used = format::kTopBits;
    c.level = 0;
    c.group_off = format::kTopHashOffset + uint64_t(top_group) * 64;
    c.table_slots = c.group_off;
    c.table_groups = 1;
    c.table_nslots = format::kGroupSlots;
    c.group_in_table = 0;
    return c;
  }

  // Whether `home`, the entry in the key's home bucket of this group, is the bucket's
  // child table: then every key with this home bucket lives in it.
  bool AtChild(uint64_t home) const {
    return home != 0 && format::EntryIsSubHash(home) && format::EntryBucket(home) == bucket;
  }

  // Moves into the child `home` points to. Past the last level it is a chain (the cursor
  // then only counts the level); the entry's extra bits give a sub-group's size, so its
  // group is found without reading its header first.
  Entered Enter(uint64_t home) {
    level++;
    if (level > format::kMaxSubLevels) return kChain;
    const unsigned size_code = format::EntryExtra(home);
    if (size_code > format::kSubGroupBits) return kBadSize;
    table_groups = 1u << size_code;
    bucket = unsigned(rest >> kBucketShift);
    rest <<= format::kBucketBits;
    extra = unsigned(rest >> kExtraShift);
    group_in_table = unsigned(rest >> (64 - format::kSubGroupBits)) & (table_groups - 1);
    rest <<= format::kSubGroupBits;
    bits_used += format::kSubBits;
    table_slots = format::EntryOffset(home) + format::kUsedHeaderSize;
    table_nslots = table_groups * format::kGroupSlots;
    group_off = table_slots + uint64_t(group_in_table) * 64;
    return kTable;
  }

 private:
  static constexpr unsigned kBucketShift = 64 - format::kBucketBits;
  static constexpr unsigned kExtraShift = 64 - format::kExtraHashBits;
};

}  // namespace ptdb

#endif  // PTDB_COMMON_TREE_CURSOR_H_
