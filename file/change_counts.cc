#include "file/change_counts.h"

#include <pthread.h>

#include <cstddef>

#include "file/file_locks.h"
#include "file/mutex_area.h"

namespace ptdb {

// A slot is the mutex, then (its last word) the count.
static_assert(sizeof(pthread_mutex_t) <= MutexArea::kSlotSize - 8, "a count follows the mutex");
static_assert(MutexArea::kSlotSize == 8 * sizeof(uint64_t), "kSlotWords");

ChangeCounts ChangeCounts::InMutexArea(uint8_t* area) {
  ChangeCounts c;
  c.counts_ = reinterpret_cast<uint64_t*>(area + FileLocks::GroupSlot(0) * MutexArea::kSlotSize +
                                          MutexArea::kSlotSize - 8);
  return c;
}

ChangeCounts ChangeCounts::InHeader(uint8_t* header) {
  ChangeCounts c;
  c.pairs_ = reinterpret_cast<uint64_t*>(header + offsetof(format::Header, change_counts));
  return c;
}

void ChangeCounts::Reset() {
  for (unsigned p = 0; p < kPairs; p++) {
    __atomic_store_n(&pairs_[2 * p + 1], __atomic_load_n(&pairs_[2 * p], __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
  }
}

}  // namespace ptdb
