// The pmem backend's storage (common/storage.h): the database's bytes in a libpmemobj
// pool. The header lives in the root object; the rest of the space is zone objects, one
// per zone, found again at open by walking the pool's objects.
//
// Every Write happens inside the caller's pmemobj transaction: the range is added to the
// undo log (libpmemobj copies the old bytes unless the range is already logged, or is
// part of an object allocated by this same transaction) and then overwritten in place.
// An abort or a crash before commit puts every byte back.
//
// Read and Write are inline: they sit on every lookup's path.
#ifndef PTDB_PMEM_PMEM_STORAGE_H_
#define PTDB_PMEM_PMEM_STORAGE_H_

#include <libpmemobj.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "common/errors.h"
#include "common/format.h"
#include "common/locks.h"
#include "common/storage.h"

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
    uint8_t* p = Locate(off, len);
    if (p == nullptr) return OutOfBounds(off, len);
    *out = p;
    return Status::OK();
  }

  // REQUIRES: inside a pmemobj transaction of this pool (checked: outside one the write
  // could not be undone, so it is refused).
  Status Write(uint64_t off, const void* src, size_t len) {
    uint8_t* p = Locate(off, len);
    if (p == nullptr) return OutOfBounds(off, len);
    if (pmemobj_tx_stage() != TX_STAGE_WORK) return OutsideTransaction(off, len);
    if (pmemobj_tx_xadd_range_direct(p, len, POBJ_XADD_NO_ABORT) != 0) {
      return SnapshotFailed(off, len);
    }
    std::memcpy(p, src, len);
    return Status::OK();
  }

  void Prefetch(uint64_t off) const {
    if (off < format::kHeaderSize) {
      __builtin_prefetch(header_ + off);
    } else if (off < size()) {
      __builtin_prefetch(base_ + off);
    }
  }

  // Allocates a zone object of at least min_bytes inside the caller's transaction (so an
  // abort frees it again) and reports it. kOom when the pool has no room for it.
  Status Grow(uint64_t min_bytes, Extent* added);

  // The zone objects in address order: what the pool really holds, not what the zone
  // chain says, so the checker can tell an unlinked zone object.
  const std::vector<Extent>& Extents() const { return extents_; }
  uint64_t size() const { return extents_.empty() ? format::kHeaderSize : extents_.back().end(); }

  // Finds the zone objects again: after an aborted transaction freed one that Grow made.
  Status Rescan();

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
  // read lock this thread holds (ChainLockRead, LockAllRead) and keeps the lock order.
  Status Lock(LockId id, LockType type) {
    if (locks_ == nullptr || type == LockType::kRead) return Status::OK();
    return locks_->Lock(owner_, id, type);
  }
  Status Unlock(LockId id, LockType type) {
    if (locks_ == nullptr || type == LockType::kRead) return Status::OK();
    return locks_->Unlock(owner_, id, type);
  }

  PMEMobjpool* pool() const { return pop_; }

 private:
  explicit PmemStorage(PMEMobjpool* pop) : pop_(pop) {}

  // The address of [off, off + len) if it lies inside the header or inside one zone
  // object, else null.
  uint8_t* Locate(uint64_t off, size_t len) const {
    if (off < format::kHeaderSize) {
      return len <= format::kHeaderSize - off ? header_ + off : nullptr;
    }
    auto it = std::upper_bound(extents_.begin(), extents_.end(), off,
                               [](uint64_t o, const Extent& e) { return o < e.off; });
    if (it == extents_.begin()) return nullptr;
    --it;
    const uint64_t into = off - it->off;
    if (into >= it->len || len > it->len - into) return nullptr;
    return base_ + off;
  }

  Status OutOfBounds(uint64_t off, size_t len) const;
  Status OutsideTransaction(uint64_t off, size_t len) const;
  Status SnapshotFailed(uint64_t off, size_t len) const;
  Status Allocate(uint64_t bytes, PMEMoid* oid, bool* full);

  PMEMobjpool* pop_;
  uint8_t* base_ = nullptr;    // pool offset 0
  uint8_t* header_ = nullptr;  // database offset 0: inside the root object
  std::vector<Extent> extents_;
  uint64_t zone_bytes_ = 0;  // sum of the extents' lengths
  LockSet* locks_ = nullptr;
  const void* owner_ = nullptr;
};

}  // namespace ptdb

#endif  // PTDB_PMEM_PMEM_STORAGE_H_
