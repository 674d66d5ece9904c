// The file backend's LockPrimitive (common/locks.h), in one of two modes chosen when the
// database is created (docs/locking.md):
//   kMutex: robust process-shared mutexes in the file (file/mutex_area.h). Threads and
//           processes are excluded alike; an uncontended lock makes no system call.
//   kFcntl: POSIX byte-range locks in TDB2's layout (or the caller's lock hooks). They
//           belong to the process, so a small in-process reader/writer state per lock
//           excludes this process's threads first; the byte lock is taken by the first
//           thread in and released by the last one out.
#ifndef PTDB_FILE_FILE_LOCKS_H_
#define PTDB_FILE_FILE_LOCKS_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "common/format.h"
#include "common/locks.h"
#include "file/byte_range_locks.h"
#include "file/change_counts.h"
#include "file/mutex_area.h"

namespace ptdb {

// TDB2's byte-range layout (tdb2-reference.md §3.1); byte 4 is left to callers (the
// CLEAR_IF_FIRST emulation through the open hook).
namespace lock_bytes {
inline constexpr uint64_t kOpen = 0;
inline constexpr uint64_t kExpansion = 2;
inline constexpr uint64_t kActive = 6;  // read-held by every opener of a kMutex file
inline constexpr uint64_t kTransaction = 8;
inline constexpr uint64_t kReadTransaction = 10;  // shared by read-only transactions
inline constexpr uint64_t kHashStart = 64;
inline constexpr uint64_t kHashRange = uint64_t(1) << 30;
inline constexpr uint64_t kFreeStart = kHashStart + kHashRange;
inline constexpr uint64_t GroupByte(unsigned g) {
  return kHashStart + (uint64_t(g) << (30 - format::kTopGroupBits));
}
}  // namespace lock_bytes

class FileLocks final : public LockPrimitive {
 public:
  // kFcntl mode over `bytes`; with null, locks between this process's threads only (an
  // in-memory database). `counts`: where a group write lock announces its changes
  // (change_counts.h), or null (no one reads without a lock).
  FileLocks(ByteRangeLocks* bytes, ChangeCounts* counts);
  // kMutex mode over `mutexes`.
  FileLocks(MutexArea* mutexes, ChangeCounts* counts);
  ~FileLocks() override;

  Status Lock(LockId id, LockType type, bool wait) override;
  Status Unlock(LockId id, LockType type) override;
  Status LockAllRecord(LockType type) override;
  // kMutex: skips the groups whose mutex is free (no syscall, no lock) and waits on the
  // others. kFcntl: the allrecord lock, taken and dropped.
  Status Sweep(LockType type) override;
  Status UnlockAllRecord(LockType type) override;
  // kMutex: each group's mutex and change count directly, without a call per group.
  Status LockGroups(const unsigned* groups, size_t n, LockType type) override;
  Status UnlockGroups(const unsigned* groups, size_t n, LockType type) override;
  bool FewGroupsCheaperThanAll() const override { return mutexes_ != nullptr; }

  // kMutex: the MutexArea slot of hash group g (its mutex and change count).
  static constexpr unsigned GroupSlot(unsigned g) { return kFirstGroupSlot + g; }

 private:
  static constexpr unsigned kFirstGroupSlot = 2;  // after transaction and expansion

  // This process's holders of one lock (kFcntl mode).
  struct Local {
    std::mutex mu;
    std::condition_variable cv;
    int readers = 0;
    bool writer = false;
  };
  static constexpr unsigned kFreeLocals = 64;

  Local* LocalOf(LockId id);
  // Waits until this thread may hold `l` as `type`; runs first_in() when it is the first.
  Status EnterLocal(Local* l, LockType type, bool wait, const std::function<Status()>& first_in);
  // Leaves `l`; runs last_out() when it was the last.
  Status LeaveLocal(Local* l, LockType type, const std::function<Status()>& last_out);
  uint64_t ByteOf(LockId id) const;
  bool Changes(LockId id, LockType type) const;
  bool ChangesAll(LockType type) const;  // the allrecord lock
  static unsigned SlotOf(LockId id);

  ByteRangeLocks* bytes_ = nullptr;
  MutexArea* mutexes_ = nullptr;
  ChangeCounts* counts_ = nullptr;
  std::unique_ptr<Local[]> groups_, free_;
  Local transaction_, expansion_;
};

}  // namespace ptdb

#endif  // PTDB_FILE_FILE_LOCKS_H_
