// Byte-range locks on the database file: POSIX fcntl(F_SETLK / F_SETLKW),
// or the caller's LockHooks (TDB2's FLOCK attribute), behind one small class.
//
// These are the locks of the kFcntl mode and the open/active locks of every mode
// (docs/locking.md). POSIX locks belong to the process, not the fd or thread: the
// caller (FileLocks) keeps the per-thread bookkeeping and never asks for a byte twice.
#ifndef PTDB_FILE_BYTE_RANGE_LOCKS_H_
#define PTDB_FILE_BYTE_RANGE_LOCKS_H_

#include <atomic>
#include <cstdint>

#include "ptdb/options.h"
#include "ptdb/status.h"

namespace ptdb {

class ByteRangeLocks {
 public:
  // hooks: both set, or neither (fcntl on fd).
  ByteRangeLocks(int fd, LockHooks hooks) : fd_(fd), hooks_(std::move(hooks)) {}

  // rw is F_RDLCK or F_WRLCK; len 0 means "to infinity". Without wait, a held lock gives
  // Status::WouldBlock. EAGAIN/EACCES/EINTR (a signal or a hook's timeout) also give
  // Status::WouldBlock; EDEADLK (the kernel saw a cycle) and other errors give kLock with
  // the errno text.
  Status Lock(int rw, uint64_t off, uint64_t len, bool wait);
  Status Unlock(uint64_t off, uint64_t len);

  // Locks a large range without starving behind many small holders (TDB2's allrecord
  // lock): try the whole range without waiting; if that would block, split it in halves
  // and recurse, waiting only on single bytes. On failure nothing stays locked. A len of 0
  // is split like [off, 2^63 - 1), so releasing with Unlock(off, 0) covers it.
  Status LockGradual(int rw, uint64_t off, uint64_t len);

  bool has_hooks() const { return static_cast<bool>(hooks_.lock); }
  // Lock and Unlock calls so far, each one fcntl (EDEADLK retries aside) or hook call:
  // tests count system calls with it.
  uint64_t calls() const { return calls_.load(std::memory_order_relaxed); }

 private:
  int fd_;
  LockHooks hooks_;
  std::atomic<uint64_t> calls_{0};
};

}  // namespace ptdb

#endif  // PTDB_FILE_BYTE_RANGE_LOCKS_H_
