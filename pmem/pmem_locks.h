// The pmem backend's lock primitive (common/locks.h), for now one lock per handle.
//
// Every id maps to the handle's mutex, held exclusively, the same one every write holds
// for its whole transaction. Undo logging needs that: a lock released before its
// transaction commits would let another thread change the same bytes, and an abort or a
// crash would then put back a value from under that thread's committed change. So the
// TDB2 locks (hash groups, free zones, chainlock, lockall) keep their meaning and their
// checks through the LockSet, and exclude other threads by holding the handle. Fetch,
// exists and first/next key share the mutex instead, and take no lock here (a read adds
// nothing on a pool: pmem_storage.h). A pool has one process (libpmemobj's flock), so
// nothing here crosses processes.
#ifndef PTDB_PMEM_PMEM_LOCKS_H_
#define PTDB_PMEM_PMEM_LOCKS_H_

#include "common/locks.h"
#include "pmem/pmem_handle_mutex.h"

namespace ptdb {

class HandleLock final : public LockPrimitive {
 public:
  explicit HandleLock(HandleMutex* mu) : mu_(mu) {}

  Status Lock(LockId, LockType, bool wait) override {
    if (wait) {
      mu_->lock();
    } else if (!mu_->try_lock()) {
      return Status::WouldBlock("the pmem handle is busy in another thread");
    }
    return Status::OK();
  }
  Status Unlock(LockId, LockType) override {
    mu_->unlock();
    return Status::OK();
  }
  Status LockAllRecord(LockType) override {
    mu_->lock();
    return Status::OK();
  }
  Status UnlockAllRecord(LockType) override {
    mu_->unlock();
    return Status::OK();
  }

 private:
  HandleMutex* mu_;
};

}  // namespace ptdb

#endif  // PTDB_PMEM_PMEM_LOCKS_H_
