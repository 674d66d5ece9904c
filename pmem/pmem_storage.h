// The pmem backend's storage (common/storage.h): the database's bytes in a libpmemobj
// pool. The header lives in the root object; the rest of the space is zone objects, one
// per zone, found again at open by walking the pool's objects.
//
// Every Write happens inside a pmemobj transaction (Transaction): the range, widened to
// aligned blocks, is added to the undo log unless this transaction logged it already
// (libpmemobj copies the old bytes, except in an object allocated by the same
// transaction) or it was free space when the transaction began (pmem_fresh_space.h),
// then overwritten in place. An abort or a crash before the commit puts
// every byte back. A user transaction is the outermost pmemobj transaction, begun and
// ended by calls of its own, and every operation's transaction flattens into it.
// docs/pmem.md has the layout and the reasons.
//
// Read and Write are inline: they sit on every lookup's path.
#ifndef PTDB_PMEM_PMEM_STORAGE_H_
#define PTDB_PMEM_PMEM_STORAGE_H_

#include <libpmemobj.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "common/errors.h"
#include "common/format.h"
#include "common/locks.h"
#include "common/prefetch.h"
#include "common/stat_counters.h"
#include "common/storage.h"
#include "pmem/pmem_fresh_space.h"
#include "pmem/pmem_logged_blocks.h"
#include "pmem/pmem_op_undo.h"
#include "pmem/pmem_tx.h"

namespace ptdb {

class PmemStorage {
 public:
  // Takes ownership of `pop` (closed on destruction, even on failure) and finds its zone
  // objects. The root object must have pmem_layout::kRootSize bytes; with may_create_root a
  // pool without one (a new pool) gets it, zeroed.
  static Status Open(PMEMobjpool* pop, bool may_create_root, std::unique_ptr<PmemStorage>* out);

  ~PmemStorage();
  PmemStorage(const PmemStorage&) = delete;
  PmemStorage& operator=(const PmemStorage&) = delete;

  // Always a pointer into the pool: the buffer is never used.
  Status Read(uint64_t off, size_t len, void* /*buf*/, const void** out) {
    Region r;
    if (!Locate(off, len, &r)) return OutOfBounds(off, len);
    *out = r.p;
    return Status::OK();
  }

  // Up to the end of the header or of the zone object that holds `off`.
  const uint8_t* Span(uint64_t off, uint64_t* avail) const {
    Region r;
    if (!Locate(off, 0, &r)) return nullptr;
    *avail = uint64_t(r.hi - r.p);
    return r.p;
  }

  // REQUIRES: inside Transaction (checked: outside a transaction the write could not be
  // undone, so it is refused).
  Status Write(uint64_t off, const void* src, size_t len) {
    Region r;
    if (!Locate(off, len, &r)) return OutOfBounds(off, len);
    if (len == 0) return Status::OK();
    if (!logged_.Covers(r.p, len)) PTDB_RETURN_IF_ERROR(Snapshot(r, off, len));
    if (user_tx_) op_undo_.SaveWrite(r.p, len);
    std::memcpy(r.p, src, len);
    return Status::OK();
  }

  // The engine's reports on free space (common/storage.h): bytes the current
  // transaction freed, and bytes of a free record's body about to become a record (or
  // the header of the free record split off after it). The latter need no snapshot if
  // they were free when the outermost transaction began.
  void SpaceFreed(uint64_t off, uint64_t len) { fresh_.Freed(off, len); }
  void SpaceReused(uint64_t off, uint64_t len) {
    Region r;
    if (!op_tx_ || len == 0 || !Locate(off, len, &r)) return;
    if (user_tx_) op_undo_.AddReused(r.p, len);
    if (!fresh_.FreeAtStart(off, len)) return;
    logged_.AddFresh(r.p, r.p + len);
    fresh_.Written(r.p, len);
  }

  // Runs fn (returning Status) as one pmemobj transaction (pmem_tx.h): every Write inside
  // it is undone if fn fails, anything throws, or the process dies before the commit.
  // Inside a user transaction fn runs in that one: a failure undoes fn's own writes and
  // zones (OpUndo) and the user transaction goes on; only a crash or a cancel undoes the
  // rest.
  template <class Fn>
  Status Transaction(Fn&& fn);

  // The user transaction: the outermost pmemobj transaction of this thread, from Begin to
  // Commit or Abort, across any number of Transaction calls. libpmemobj's transactions
  // belong to a thread: the caller keeps other threads out until it ends (the handle
  // mutex) and calls all of these from the thread that began it.
  Status BeginUserTransaction();
  // Makes every change since Begin durable at once and ends the transaction. If
  // libpmemobj aborted it meanwhile, only ends it and says so: nothing was committed.
  Status CommitUserTransaction();
  // Undoes every change since Begin and ends the transaction.
  void AbortUserTransaction();
  bool in_user_transaction() const { return user_tx_; }
  // The error for a user transaction libpmemobj aborted; OK if it is alive (or none).
  Status UserTransactionAborted(const char* what) const;

  // Reads always take the group's lock: a pool's locks are in DRAM, with no change
  // counts beside them (Engine's unlocked reads are the file backend's).
  bool BeginUnlockedRead(unsigned, uint64_t*) const { return false; }
  bool UnlockedReadValid(unsigned, uint64_t) const { return false; }
  void EndUnlockedRead() const {}

  // No range test: a prefetch never faults.
  void Prefetch(uint64_t off) const { PrefetchLine(base_ + off); }

  const uint8_t* Peek(uint64_t off, size_t len) const {
    Region r;
    return Locate(off, len, &r) ? r.p : nullptr;
  }

  // Allocates a zone object of at least min_bytes inside the caller's transaction (so an
  // abort frees it again) and reports it. kOom when the pool has no room for it.
  Status Grow(uint64_t min_bytes, Extent* added);

  // Frees every zone object from `end` on (a wipe keeps only the first zone), inside the
  // caller's transaction, so an abort or a crash keeps them. Inside a user transaction a
  // failure after this cannot be taken back alone (libpmemobj has no "unfree"): the
  // whole transaction is then aborted.
  Status ReleaseFrom(uint64_t end);

  // The zone objects in address order: what the pool really holds, not what the zone
  // chain says, so the checker can tell an unlinked zone object.
  const std::vector<Extent>& Extents() const { return extents_; }
  uint64_t size() const { return end_; }

  // Finds the zone objects again: after an aborted transaction freed one that Grow made.
  Status Rescan();
  // Rescan, unless a user transaction is alive: zone objects it allocated are not yet
  // visible to pmemobj_first (libpmemobj publishes them at commit), and a failed
  // operation inside it has restored the list already.
  Status Refresh() {
    return user_tx_ && pmemobj_tx_stage() == TX_STAGE_WORK ? Status::OK() : Rescan();
  }

  // The lock set (common/locks.h) for the handle `owner`; none when locks is null
  // (kNoLock).
  void SetLocks(LockSet* locks, const void* owner) {
    locks_ = locks;
    owner_ = owner;
  }
  LockSet* locks() const { return locks_; }

  // The engine's locks. A read lock adds nothing here: the handle's mutex keeps other
  // threads out for the whole operation (pmem_locks.h), and a read is allowed under any
  // lock this thread holds. A write goes through the lock set, which refuses it under a
  // read lock this thread holds (ChainLockRead, LockAllRead) and keeps the lock order,
  // but only while the thread holds a record lock (a chainlock or lockall, of any
  // handle): without one there is nothing to refuse, the mutex already excludes the
  // others, and the engine takes its own locks in order (as with kNoLock, which skips
  // them all). Whether it holds one cannot change inside an operation, so each Unlock
  // takes the same path as its Lock. That saves the lock set's bookkeeping, ~400
  // instructions per insert.
  Status Lock(LockId id, LockType type) {
    if (!NeedsLockSet(type)) return Status::OK();
    return locks_->Lock(owner_, id, type);
  }
  Status Unlock(LockId id, LockType type) {
    if (!NeedsLockSet(type)) return Status::OK();
    return locks_->Unlock(owner_, id, type);
  }

  // A traverse holds the handle's mutex from start to end (pmem_locks.h): only its own
  // thread, which the engine watches itself, can change a group meanwhile.
  bool GroupChangeToken(unsigned, uint64_t* token) const {
    *token = 0;
    return true;
  }

  // The same mutex: a traverse walks the space in address order (engine.h).
  bool OnlyTraverserWrites() const { return true; }

  PMEMobjpool* pool() const { return pop_; }
  // Where Snapshot counts the ranges it logs (Stats::logged_ranges).
  void CountLogsIn(StatCounters* stats) { stats_ = stats; }

 private:
  explicit PmemStorage(PMEMobjpool* pop) : pop_(pop) {}

  // Where a range lives: its address, and the bounds of the header or zone object that
  // holds it.
  struct Region {
    uint8_t* p;
    uint8_t* lo;
    uint8_t* hi;
  };

  // Finds [off, off + len) inside the header or inside one zone object; false if it is
  // in neither.
  bool Locate(uint64_t off, size_t len, Region* r) const {
    if (off < format::kHeaderSize) {
      if (len > format::kHeaderSize - off) return false;
      *r = {header_ + off, header_, header_ + format::kHeaderSize};
      return true;
    }
    const uint64_t page = off >> kPageShift;
    if (page >= first_extent_.size()) return false;
    size_t i = first_extent_[page];
    while (i < extents_.size() && extents_[i].end() <= off) i++;
    if (i == extents_.size() || off < extents_[i].off) return false;
    const Extent& e = extents_[i];
    if (len > e.end() - off) return false;
    *r = {base_ + off, base_ + e.off, base_ + e.end()};
    return true;
  }

  // Appends a zone object (above every other) to extents_ and first_extent_.
  void AddExtent(const Extent& e);

  // How many zone objects the list had, to drop those a failed operation added.
  struct ExtentsMark {
    size_t extents;
    size_t pages;
    uint64_t end;
    uint64_t zone_bytes;
  };
  ExtentsMark Mark() const { return {extents_.size(), first_extent_.size(), end_, zone_bytes_}; }

  // Transaction inside a user transaction.
  template <class Fn>
  Status NestedTransaction(Fn&& fn);
  // After fn failed inside a user transaction: puts back what it wrote and frees the
  // zones it allocated, or, if libpmemobj aborted the whole transaction, says so.
  Status TakeBack(const Status& failure, const ExtentsMark& mark);
  Status OtherPoolTransaction() const;

  bool NeedsLockSet(LockType type) const {
    return locks_ != nullptr && type == LockType::kWrite && LockSet::ThreadHoldsRecordLocks();
  }

  // Adds the range, widened to whole blocks inside its region, to the undo log; or, in a
  // zone object the current transaction allocated, only to the ranges flushed before
  // its commit (NewInThisTransaction).
  Status Snapshot(const Region& r, uint64_t off, size_t len);
  // Whether r is a zone object allocated by the current outermost transaction. An abort,
  // or a crash before the commit, frees such an object whole, so writes into it need no
  // undo. Logging one anyway costs more than the entry: libpmemobj then flushes the
  // whole object at commit (and faults in every page of it), 9 ms for an 18 MiB zone.
  bool NewInThisTransaction(const Region& r) const {
    return tx_zones_from_ < extents_.size() && r.lo != header_ &&
           r.lo >= base_ + extents_[tx_zones_from_].off;
  }
  // Where the current outermost transaction begins: zones from here on are its own.
  void BeginTracking() {
    logged_.Clear();
    fresh_.Clear();
    tx_zones_from_ = extents_.size();
  }

  Status OutOfBounds(uint64_t off, size_t len) const;
  Status OutsideTransaction(uint64_t off, size_t len) const;
  Status SnapshotFailed(uint64_t off, size_t len, int err) const;
  Status Allocate(uint64_t bytes, PMEMoid* oid, bool* full);

  PMEMobjpool* pop_;
  uint8_t* base_ = nullptr;    // pool offset 0
  uint8_t* header_ = nullptr;  // database offset 0: inside the root object
  std::vector<Extent> extents_;
  uint64_t end_ = format::kHeaderSize;  // the last extent's end
  uint64_t zone_bytes_ = 0;             // sum of the extents' lengths
  // Finding an offset's zone in O(1): for each 256 KiB page of pool offsets, the first
  // extent that ends after the page starts. Zones are at least a page, so the search
  // from there takes a step or two.
  static constexpr unsigned kPageShift = 18;
  std::vector<uint32_t> first_extent_;
  LockSet* locks_ = nullptr;
  const void* owner_ = nullptr;
  // The blocks the current transaction has logged, or that were free space when it
  // began, so that a write into one needs no call into libpmemobj. Only the handle's one
  // transaction at a time uses it (pmem_locks.h).
  LoggedBlocks logged_;
  StatCounters* stats_ = nullptr;
  // What the current transaction freed, and the fresh ranges it writes unlogged.
  FreshSpace fresh_;
  // The first of extents_ that the current outermost transaction allocated (those
  // before it were there when it began; new zones are appended above all others).
  size_t tx_zones_from_ = 0;
  // A user transaction is open (on the thread that holds the handle).
  bool user_tx_ = false;
  // One of ours is: an operation's (Transaction) or the user's.
  bool op_tx_ = false;
  // The current operation's changes, kept only inside a user transaction.
  OpUndo op_undo_;
  // The current operation freed zone objects (ReleaseFrom): it cannot be taken back alone.
  bool op_released_ = false;
};

template <class Fn>
Status PmemStorage::Transaction(Fn&& fn) {
  if (user_tx_) return NestedTransaction(std::forward<Fn>(fn));
  // A thread has one pmemobj transaction at a time, whatever the pool: one open on
  // another pool would take this operation in (libpmemobj refuses that).
  if (pmemobj_tx_stage() != TX_STAGE_NONE) return OtherPoolTransaction();
  BeginTracking();
  op_tx_ = true;
  Status st = RunInTransaction(pop_, [this, &fn] {
    Status fn_st = fn();
    if (fn_st.ok()) fresh_.Flush(pop_);
    return fn_st;
  });
  op_tx_ = false;
  logged_.Clear();
  fresh_.Clear();
  return st;
}

template <class Fn>
Status PmemStorage::NestedTransaction(Fn&& fn) {
  PTDB_RETURN_IF_ERROR(UserTransactionAborted("cancel the transaction"));
  // The blocks logged so far stay logged: the undo log holds their state from before the
  // user transaction, which is what a crash or a cancel must restore.
  op_undo_.Clear();
  op_released_ = false;
  const ExtentsMark mark = Mark();
  // fn runs straight in the user transaction: that is all a nested flat_transaction
  // would do (its commit is a no-op, and its failure is ours to take back), minus the
  // per-operation begin, allocation and end that cost about a fifth of a small store.
  Status st = CatchPmemErrors(std::forward<Fn>(fn));
  return st.ok() ? st : TakeBack(st, mark);
}

}  // namespace ptdb

#endif  // PTDB_PMEM_PMEM_STORAGE_H_
