// The TDB2 lock set: names, order, nesting, and who holds what.
//
// A backend provides the real locks (a LockPrimitive: fcntl byte ranges or robust mutexes
// for files, DRAM locks for pools). LockSet adds what TDB2 defines on top, the same for
// every backend (docs/locking.md):
//   - order: transaction -> allrecord | hash group -> free zone -> expansion. Asking for a
//     lock that ranks below one already held fails with kLock instead of risking a
//     deadlock; a second hash group is taken only if it comes after the held one or is
//     free right now (a user holding a chainlock may touch another key).
//   - nesting: a thread that asks again for a lock it holds gets it counted; a write
//     request while holding the read lock is an error, not a deadlock.
//   - the allrecord lock covers every hash group and free zone: under it, compatible
//     requests ride on it without a real lock; it cannot be taken while a hash group is.
//   - owners: locks belong to a thread and a handle. If another handle of the same file
//     in the same thread holds a lock, the request fails at once (it could never be
//     released while we wait: "TDB Files Cannot Be Opened Multiple Times").
//   - fork: a child process that inherited held locks gets kLock from every lock call.
// One LockSet serves every handle of a file in a process; its state per thread is kept in
// a thread_local list, so an uncontended lock costs the primitive and a short scan.
#ifndef PTDB_COMMON_LOCKS_H_
#define PTDB_COMMON_LOCKS_H_

#include <cstddef>
#include <cstdint>

#include "ptdb/status.h"

namespace ptdb {

enum class LockType : uint8_t { kRead, kWrite };

// In lock order: a thread may only ask for a kind ranked after every kind it holds.
enum class LockKind : uint8_t {
  kTransaction = 0,
  kAllRecord = 1,
  kHashGroup = 2,  // index: top-level hash group
  kFreeZone = 3,   // index: zone number in address order
  kExpansion = 4,
};

struct LockId {
  LockKind kind;
  uint32_t index = 0;
  bool operator==(const LockId& o) const { return kind == o.kind && index == o.index; }
};

// The real locks, excluding other processes and other threads alike. Read locks may be
// exclusive (robust mutexes have no shared mode); callers must not depend on sharing.
class LockPrimitive {
 public:
  virtual ~LockPrimitive() = default;
  // Without wait: Status::WouldBlock if the lock is not free now.
  virtual Status Lock(LockId id, LockType type, bool wait) = 0;
  virtual Status Unlock(LockId id, LockType type) = 0;
  // Unlock of a free zone whose thread next releases hash group `group`: it holds that
  // group's real write lock (taken once, by the operation now running) and no other group
  // of this set. A primitive where every release is a system call may keep the zone's
  // real lock until then and let both go in one call, provided nothing this thread does
  // meanwhile waits while the zone is still held.
  virtual Status UnlockZoneBeforeGroup(LockId zone, LockType type, unsigned group) {
    (void)group;
    return Unlock(zone, type);
  }
  // Every hash group and free zone as one lock, taken gradually (never starving behind a
  // stream of small lockers).
  virtual Status LockAllRecord(LockType type) = 0;
  virtual Status UnlockAllRecord(LockType type) = 0;
  // Hash groups groups[0..n), ascending, waiting for each; on failure none stays held.
  // UnlockGroups lets them go newest first and tells the first failure. One Lock or Unlock
  // each, unless the primitive does better (a commit takes every group it changed).
  virtual Status LockGroups(const unsigned* groups, size_t n, LockType type);
  virtual Status UnlockGroups(const unsigned* groups, size_t n, LockType type);

  // Waits until no one holds a hash group (writers and readers checking a flag the caller
  // set just before: the writer gate, header.ro_readers). Taking the allrecord lock and
  // dropping it does; a primitive that can see a free lock without taking it skips those.
  virtual Status Sweep(LockType type) {
    Status st = LockAllRecord(type);
    return st.ok() ? UnlockAllRecord(type) : st;
  }

  // Whether a few hash groups cost less than the allrecord lock: true where every lock is
  // its own atomic (mutexes), false where allrecord is one call (a byte range).
  virtual bool FewGroupsCheaperThanAll() const { return false; }
};

class LockSet {
 public:
  explicit LockSet(LockPrimitive* primitive);
  ~LockSet();
  LockSet(const LockSet&) = delete;
  LockSet& operator=(const LockSet&) = delete;

  // `owner` identifies the handle (any stable pointer). Waits unless wait is false.
  Status Lock(const void* owner, LockId id, LockType type, bool wait = true);
  Status Unlock(const void* owner, LockId id, LockType type);
  // As Lock, then Unlock, on each hash group of groups[0, n), which ascend with no
  // repeats. A commit applying in place takes a dozen at once: when the thread holds
  // nothing of this set that ranks with or after them, they skip the per-lock search of
  // what it holds. On failure none of them is held.
  Status LockGroups(const void* owner, const unsigned* groups, size_t n, LockType type);
  Status UnlockGroups(const void* owner, const unsigned* groups, size_t n, LockType type);
  Status LockAll(const void* owner, LockType type);
  Status UnlockAll(const void* owner, LockType type);
  bool FewGroupsCheaperThanAll() const { return primitive_->FewGroupsCheaperThanAll(); }

  // Waits until no one holds a hash group: takes the allrecord lock and drops it, without
  // bookkeeping. REQUIRES: the calling thread holds no hash group.
  Status Sweep(LockType type = LockType::kWrite);

  // Whether the calling thread holds id (itself or through the allrecord lock) for owner.
  bool Holds(const void* owner, LockId id) const;
  // Whether the calling thread holds any lock of this set for owner.
  bool HoldsAny(const void* owner) const;
  // Whether it holds a hash group, a free zone or the allrecord lock for owner.
  bool HoldsRecordLocks(const void* owner) const;
  // The same for any set and owner: no search, for a caller that asks Holds on every
  // operation and mostly holds none (a transaction's staging, which takes no locks).
  static bool ThreadHoldsRecordLocks();
  // Releases every lock the calling thread holds for owner (closing a handle).
  void ReleaseAll(const void* owner);

 private:
  LockPrimitive* primitive_;
  uint64_t id_;  // distinguishes this set's entries in the per-thread lists
};

}  // namespace ptdb

#endif  // PTDB_COMMON_LOCKS_H_
