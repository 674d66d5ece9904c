// The pmem handle's mutex: exclusive for every operation that writes or calls back into
// user code, shared for the reads that do neither (fetch, exists, first and next key), so
// threads reading one pool do not take turns.
//
// Exclusive holds nest in their thread: callbacks (traverse, parse) call back into the
// handle, a chainlock or lockall holds it across calls, and a user transaction from start
// to commit or cancel. A shared request from the thread that holds it exclusively nests
// the same way. A shared hold never nests and never asks for exclusive: those reads run
// no user code, and a read takes no engine lock on a pool (pmem_storage.h).
//
// Writers are preferred: once one waits, new readers wait behind it, so a stream of
// fetches from other threads cannot keep a store out forever (glibc's rwlock prefers
// readers by default).
#ifndef PTDB_PMEM_PMEM_HANDLE_MUTEX_H_
#define PTDB_PMEM_PMEM_HANDLE_MUTEX_H_

#include <pthread.h>

#include <atomic>
#include <cassert>
#include <thread>

namespace ptdb {

class HandleMutex {
 public:
  HandleMutex() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&rw_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~HandleMutex() { pthread_rwlock_destroy(&rw_); }
  HandleMutex(const HandleMutex&) = delete;
  HandleMutex& operator=(const HandleMutex&) = delete;

  // Exclusive (BasicLockable, Lockable).
  void lock() {
    if (OwnedHere()) {
      depth_++;
      return;
    }
    assert(reads_held_ == 0 && "a shared hold asked for the exclusive one: it would deadlock");
    pthread_rwlock_wrlock(&rw_);
    Own();
  }
  bool try_lock() {
    if (OwnedHere()) {
      depth_++;
      return true;
    }
    if (pthread_rwlock_trywrlock(&rw_) != 0) return false;
    Own();
    return true;
  }
  void unlock() {
    assert(OwnedHere() && depth_ > 0);
    if (--depth_ > 0) return;
    owner_.store(std::thread::id(), std::memory_order_relaxed);
    pthread_rwlock_unlock(&rw_);
  }

  // Shared (SharedLockable, for std::shared_lock): nested in an exclusive hold of the
  // same thread, else one of any number of readers.
  void lock_shared() {
    if (OwnedHere()) {
      depth_++;
      return;
    }
    pthread_rwlock_rdlock(&rw_);
#ifndef NDEBUG
    reads_held_++;
#endif
  }
  void unlock_shared() {
    if (OwnedHere()) {
      unlock();
      return;
    }
#ifndef NDEBUG
    reads_held_--;
#endif
    pthread_rwlock_unlock(&rw_);
  }

  // Whether the calling thread holds it exclusively.
  bool OwnedHere() const {
    return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }

 private:
  void Own() {
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    depth_ = 1;
  }

  pthread_rwlock_t rw_;
  // Set only by the thread that holds rw_ exclusively, so another thread never reads its
  // own id here: relaxed loads suffice.
  std::atomic<std::thread::id> owner_{};
  int depth_ = 0;  // the owner's nesting; touched only by the owner
#ifndef NDEBUG
  static inline thread_local int reads_held_ = 0;  // this thread's shared holds, any handle
#endif
};

}  // namespace ptdb

#endif  // PTDB_PMEM_PMEM_HANDLE_MUTEX_H_
