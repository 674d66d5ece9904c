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
#include <vector>

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
  // kFcntl without lock hooks: the zone's byte stays locked until the group's unlock,
  // which lets both go with one F_UNLCK over the bytes between them when this process
  // holds none of those (docs/locking.md, "System calls per operation").
  Status UnlockZoneBeforeGroup(LockId zone, LockType type, unsigned group) override;
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
    // A free-zone Local no thread is inside whose byte (of zone `kept_zone`: zones share
    // Locals) is still locked, kept by the thread whose t_kept (file_locks.cc) is `kept_by` for its
    // group's unlock. The next thread in takes the byte over, or lets it go first when
    // it wants another zone of this Local.
    const void* kept_by = nullptr;
    uint32_t kept_zone = 0;
  };
  static constexpr unsigned kFreeLocals = 64;

  Local* LocalOf(LockId id);
  // Waits until this thread may hold id's Local as `type`; the first one in takes the
  // byte lock too, if `byte` (the allrecord lock takes one range for all groups instead).
  Status EnterLocal(LockId id, LockType type, bool wait, bool byte);
  // Leaves id's Local; the last one out releases the byte, if `byte`.
  Status LeaveLocal(LockId id, LockType type, bool byte);
  // The byte of a zone this thread kept (UnlockZoneBeforeGroup) goes now, unless another
  // thread took it over. Every other lock call of the thread does this first, so a kept
  // byte is never held while the thread waits.
  static Status ReleaseKeptZone();
  static Status ReleaseKeptFirst();           // ReleaseKeptZone if there is one
  Status ReleaseKeptByte(Local* zone_local);  // REQUIRES: zone_local->mu, a kept byte
  // The byte lock and unlock of a group or zone, noted in groups_held_ or zones_held_.
  Status LockByte(uint64_t byte, LockType type, bool wait);
  Status UnlockByte(uint64_t byte);
  void NoteByte(uint64_t byte, bool held);        // REQUIRES: merge_
  void NoteByteLocked(uint64_t byte, bool held);  // REQUIRES: merge_, held_mu_
  void SetAllHeld(bool held);                     // REQUIRES: merge_
  // Lets group g's byte and zone z's kept byte go, in one call if no other byte this
  // process holds lies between them. REQUIRES: g's Local->mu and z's Local->mu.
  Status UnlockGroupAndZone(unsigned g, uint32_t z);
  uint64_t ByteOf(LockId id) const;
  bool Changes(LockId id, LockType type) const;
  bool ChangesAll(LockType type) const;  // the allrecord lock
  static unsigned SlotOf(LockId id);

  ByteRangeLocks* bytes_ = nullptr;
  MutexArea* mutexes_ = nullptr;
  ChangeCounts* counts_ = nullptr;
  std::unique_ptr<Local[]> groups_, free_;
  Local transaction_, expansion_;
  // Whether a zone's byte may be kept for a merged unlock: real fcntl locks only (lock
  // hooks see each lock and unlock as its own call).
  bool merge_ = false;
  // The group and zone bytes this process holds or is about to lock (merge_ only): a byte
  // is noted before its lock call and forgotten after its unlock call, and a merged unlock
  // runs under held_mu_, so no byte it covers is locked meanwhile by another thread.
  std::mutex held_mu_;
  uint64_t groups_held_[format::kTopGroups / 64] = {};  // a bit per group
  std::vector<uint32_t> zones_held_;
  bool all_held_ = false;  // the allrecord range [kHashStart, infinity)
};

}  // namespace ptdb

#endif  // PTDB_FILE_FILE_LOCKS_H_
