// Memory barriers: a full one (store-load ordering) for the flag-then-sweep handshakes
// (docs/transactions.md: the writer gate, read-only transactions), the two halves a
// sequence lock needs (file/change_counts.h), and the compiler-only one that keeps stores
// in order for a process killed between them (common/group_edit.h).
#ifndef PTDB_COMMON_FENCE_H_
#define PTDB_COMMON_FENCE_H_

#include "common/sanitizers.h"

namespace ptdb {

// A sequentially consistent read-modify-write of a word no one else touches: a full
// barrier on every target (a locked instruction on x86, the cheapest one there), and,
// unlike atomic_thread_fence, accepted by GCC's ThreadSanitizer.
inline void FullFence() {
  static thread_local int word;
  __atomic_fetch_add(&word, 0, __ATOMIC_SEQ_CST);
}

// Loads before it happen before loads after it (a sequence-lock reader's data, then its
// second look at the count). Free on x86, where loads are not reordered with loads.
// ThreadSanitizer does not model fences: under it, the full one.
inline void LoadLoadFence() {
#if PTDB_TSAN
  FullFence();
#else
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
#endif
}

// Stores before it become visible before stores after it (a sequence-lock writer's odd
// count, then the data). Free on x86, where stores are not reordered with stores.
inline void StoreStoreFence() {
#if PTDB_TSAN
  FullFence();
#else
  __atomic_thread_fence(__ATOMIC_RELEASE);
#endif
}

// Stores before it reach the mapping before stores after it, as far as a kill of this
// process can tell: a kill lands between two instructions, and every store retired before
// it still lands, so only the compiler could reorder them. Emits no instruction.
inline void KillOrderFence() { __atomic_signal_fence(__ATOMIC_SEQ_CST); }

}  // namespace ptdb

#endif  // PTDB_COMMON_FENCE_H_
