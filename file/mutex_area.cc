#include "file/mutex_area.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "common/sanitizers.h"

#if PTDB_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace ptdb {
namespace {

static_assert(sizeof(pthread_mutex_t) <= MutexArea::kSlotSize, "a mutex must fit its slot");
static_assert(alignof(pthread_mutex_t) <= MutexArea::kSlotSize, "slots keep mutexes aligned");
static_assert(MutexArea::kSize % MutexArea::kSlotSize == 0, "the area is whole slots");

std::string Errno(const char* what, unsigned slot, int err) {
  return std::string(what) + " (mutex " + std::to_string(slot) + "): " + strerror(err);
}

// Destroys the attribute object on every path out of Initialize.
class MutexAttr {
 public:
  MutexAttr() : rc_(pthread_mutexattr_init(&attr_)) {}
  ~MutexAttr() {
    if (rc_ == 0) pthread_mutexattr_destroy(&attr_);
  }
  MutexAttr(const MutexAttr&) = delete;
  MutexAttr& operator=(const MutexAttr&) = delete;

  int Setup() {
    if (rc_ != 0) return rc_;
    if (int rc = pthread_mutexattr_setpshared(&attr_, PTHREAD_PROCESS_SHARED)) return rc;
    if (int rc = pthread_mutexattr_setrobust(&attr_, PTHREAD_MUTEX_ROBUST)) return rc;
    return pthread_mutexattr_settype(&attr_, PTHREAD_MUTEX_ERRORCHECK);
  }
  const pthread_mutexattr_t* get() const { return &attr_; }

 private:
  pthread_mutexattr_t attr_;
  int rc_;
};

}  // namespace

Status MutexArea::Initialize() {
  MutexAttr attr;
  if (int rc = attr.Setup()) {
    return Status(Error::kLock, std::string("mutex attributes: ") + strerror(rc));
  }
  // Whatever a previous generation of openers left in these bytes (a mutex held by a
  // process that is gone) is meaningless now: start from zeroes.
  std::memset(base_, 0, kSize);
  for (unsigned i = 0; i < kSlots; i++) {
    if (int rc = pthread_mutex_init(Slot(i), attr.get())) {
      return Status(Error::kLock, Errno("pthread_mutex_init", i, rc));
    }
  }
  return Status::OK();
}

int MutexArea::Wait(pthread_mutex_t* m) {
  // The wake-up a robust mutex can lose: a waiter sleeps until an unlocker, finding the
  // futex word's waiters bit set, wakes one. A process killed after glibc's unlock cleared
  // the word but before it woke anyone, or a woken waiter killed before it took the
  // mutex, is made good by the kernel only while the word stays 0: if a third process
  // takes the mutex meanwhile (without waiting, so without the waiters bit), no later
  // unlock wakes the sleeper. Asking again after a while puts the bit back or takes the
  // mutex. CLOCK_REALTIME because ThreadSanitizer understands pthread_mutex_timedlock
  // only: a step of that clock back lengthens the round it falls in by the step.
  for (;;) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += kRecheckMs * 1000 * 1000;
    deadline.tv_sec += deadline.tv_nsec / 1000000000;
    deadline.tv_nsec %= 1000000000;
    const int rc = pthread_mutex_timedlock(m, &deadline);
#if PTDB_TSAN
    // Its timedlock counts only 0 as taking the mutex, where its lock and trylock count
    // EOWNERDEAD too; without this it reports our unlock as one of a mutex not held.
    if (rc == EOWNERDEAD) {
      __tsan_mutex_pre_lock(m, __tsan_mutex_try_lock);
      __tsan_mutex_post_lock(m, __tsan_mutex_try_lock, 0);
    }
#endif
    if (rc != ETIMEDOUT) return rc;
  }
}

Status MutexArea::LockFailed(unsigned slot, int rc, bool* holder_died) {
  pthread_mutex_t* m = Slot(slot);
  switch (rc) {
    case EOWNERDEAD:
      // We own it now. Whether the data it guarded is whole is the caller's question
      // (holder_died); the mutex itself goes on working for everyone.
      if (int c = pthread_mutex_consistent(m)) {
        pthread_mutex_unlock(m);
        return Status(Error::kLock, Errno("pthread_mutex_consistent", slot, c));
      }
      if (holder_died != nullptr) *holder_died = true;
      return Status::OK();
    case EBUSY:
      return Status::WouldBlock("mutex " + std::to_string(slot) + " is held");
    case EDEADLK:
      return Status(Error::kLock, "mutex " + std::to_string(slot) + " already held by this thread");
    default:
      // ENOTRECOVERABLE: a holder died and the next one unlocked without marking it
      // consistent. Not reachable through this class, which always marks it.
      return Status(Error::kLock, Errno("pthread_mutex_lock", slot, rc));
  }
}

Status MutexArea::UnlockFailed(unsigned slot, int rc) {
  if (rc == EPERM) {
    return Status(Error::kLock, "mutex " + std::to_string(slot) + " not held by this thread");
  }
  return Status(Error::kLock, Errno("pthread_mutex_unlock", slot, rc));
}

Status MutexArea::OutOfRange(unsigned slot) {
  return Status(Error::kEinval, "mutex slot " + std::to_string(slot) + " out of range");
}

}  // namespace ptdb
