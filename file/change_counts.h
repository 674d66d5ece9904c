// The change counts of the hash groups, in memory every process maps shared, that let
// fetch and exists read a group without its lock (a sequence lock; docs/locking.md,
// "Reads without a lock").
//
// A writer that holds a group's write lock calls BeginChange before it changes the
// group's records or tables and EndChange before it lets the lock go. A reader calls
// BeginRead, reads, and keeps what it read only if ReadValid: no writer was inside the
// group at BeginRead, and none began since.
//
// kMutex files keep one count per group, in the group's mutex slot (format.md §1.2): odd
// while its one writer is inside. kFcntl files keep 16 pairs in the header
// (format.md §1.3), group g counting in pair g mod 16: "begun" and "ended" tallies that
// writers of different groups may bump at once (atomic adds), equal when no writer is
// inside. A writer that died inside leaves a count odd (or a pair unequal): readers of
// those groups then lock, until the next writer (kMutex) or the next lone opener (Reset)
// evens it.
#ifndef PTDB_FILE_CHANGE_COUNTS_H_
#define PTDB_FILE_CHANGE_COUNTS_H_

#include <cstdint>

#include "common/fence.h"
#include "common/format.h"

namespace ptdb {

class ChangeCounts {
 public:
  // kMutex: `area` is the MutexArea's first byte. Writable.
  static ChangeCounts InMutexArea(uint8_t* area);
  // kFcntl: `header` maps the file's header; read-only when the handle cannot write.
  static ChangeCounts InHeader(uint8_t* header);

  void BeginChange(unsigned group) {
    if (pairs_ == nullptr) {
      uint64_t* count = Count(group);
      __atomic_store_n(count, __atomic_load_n(count, __ATOMIC_RELAXED) | 1, __ATOMIC_RELAXED);
      // The odd count must be visible before any byte it guards changes.
      StoreStoreFence();
    } else {
      // A full barrier itself (a locked add), before the first change.
      __atomic_fetch_add(&Pair(group)[0], 1, __ATOMIC_SEQ_CST);
    }
  }
  void EndChange(unsigned group) {
    if (pairs_ == nullptr) {
      uint64_t* count = Count(group);
      __atomic_store_n(count, (__atomic_load_n(count, __ATOMIC_RELAXED) | 1) + 1, __ATOMIC_RELEASE);
    } else {
      __atomic_fetch_add(&Pair(group)[1], 1, __ATOMIC_RELEASE);
    }
  }

  // As BeginChange and EndChange for every group at once (the allrecord lock): one
  // barrier, and in a kFcntl file one add per pair, not one per group.
  void BeginChangeAll() {
    if (pairs_ == nullptr) {
      for (unsigned g = 0; g < format::kTopGroups; g++) {
        __atomic_store_n(Count(g), __atomic_load_n(Count(g), __ATOMIC_RELAXED) | 1,
                         __ATOMIC_RELAXED);
      }
      StoreStoreFence();
    } else {
      for (unsigned p = 0; p < kPairs; p++) {
        __atomic_fetch_add(&pairs_[2 * p], kGroupsPerPair, __ATOMIC_SEQ_CST);
      }
    }
  }
  void EndChangeAll() {
    if (pairs_ == nullptr) {
      for (unsigned g = 0; g < format::kTopGroups; g++) EndChange(g);
    } else {
      for (unsigned p = 0; p < kPairs; p++) {
        __atomic_fetch_add(&pairs_[2 * p + 1], kGroupsPerPair, __ATOMIC_RELEASE);
      }
    }
  }

  // Whether no writer is inside the group now; *token names this moment.
  bool BeginRead(unsigned group, uint64_t* token) const {
    if (pairs_ == nullptr) {
      *token = __atomic_load_n(Count(group), __ATOMIC_ACQUIRE);
      return (*token & 1) == 0;
    }
    // "ended" first: begun (later) == ended (earlier) means none was inside in between.
    const uint64_t ended = __atomic_load_n(&Pair(group)[1], __ATOMIC_ACQUIRE);
    *token = __atomic_load_n(&Pair(group)[0], __ATOMIC_ACQUIRE);
    return *token == ended;
  }
  // Whether no writer began in the group since BeginRead gave token.
  bool ReadValid(unsigned group, uint64_t token) const {
    // The bytes read must be loaded before the count is looked at again.
    LoadLoadFence();
    const uint64_t* word = pairs_ == nullptr ? Count(group) : &Pair(group)[0];
    return __atomic_load_n(word, __ATOMIC_RELAXED) == token;
  }

  // kFcntl: evens every pair. REQUIRES: no other process has the file open.
  void Reset();

 private:
  static constexpr unsigned kPairs = format::kChangeCountPairs;
  static constexpr unsigned kGroupsPerPair = format::kTopGroups / kPairs;
  static_assert(format::kTopGroups % kPairs == 0, "every pair counts as many groups");

  // kMutex: group g's count is a word in each 64-byte slot from group 0's on.
  static constexpr unsigned kSlotWords = 8;

  uint64_t* Count(unsigned group) const { return counts_ + kSlotWords * group; }
  uint64_t* Pair(unsigned group) const { return pairs_ + 2 * (group % kPairs); }

  uint64_t* counts_ = nullptr;  // kMutex: group 0's count
  uint64_t* pairs_ = nullptr;   // kFcntl
};

}  // namespace ptdb

#endif  // PTDB_FILE_CHANGE_COUNTS_H_
