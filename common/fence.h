// A full memory barrier (store-load ordering) for the flag-then-sweep handshakes
// (docs/transactions.md: the writer gate, read-only transactions).
#ifndef PTDB_COMMON_FENCE_H_
#define PTDB_COMMON_FENCE_H_

namespace ptdb {

// A sequentially consistent read-modify-write of a word no one else touches: a full
// barrier on every target (a locked instruction on x86, the cheapest one there), and,
// unlike atomic_thread_fence, accepted by GCC's ThreadSanitizer.
inline void FullFence() {
  static thread_local int word;
  __atomic_fetch_add(&word, 0, __ATOMIC_SEQ_CST);
}

}  // namespace ptdb

#endif  // PTDB_COMMON_FENCE_H_
