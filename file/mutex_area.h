// The robust process-shared mutexes of a kMutex database: a fixed area of the file
// right after the header, mapped shared by every process that opens it.
//
// Robust: if a holder dies, the next locker gets the mutex (EOWNERDEAD), marks it
// consistent and goes on, so a killed process never wedges the others. Error-checking:
// a thread that asks again for a mutex it holds gets an error, not a deadlock.
//
// The bytes are meaningless after every process has closed the file (a reboot, a
// kill): the first opener (who holds the active lock alone) initialises the area again.
#ifndef PTDB_FILE_MUTEX_AREA_H_
#define PTDB_FILE_MUTEX_AREA_H_

#include <errno.h>
#include <pthread.h>

#include <cstddef>
#include <cstdint>

#include "ptdb/status.h"

namespace ptdb {

class MutexArea {
 public:
  // One cache line per mutex, so two processes working on neighbouring hash groups do not
  // share a line. The line's last word is a hash group's change count (change_counts.h).
  static constexpr uint64_t kSlotSize = 64;
  static constexpr uint64_t kSize = 16384;
  static constexpr unsigned kSlots = unsigned(kSize / kSlotSize);

  // base: kSize writable bytes of a MAP_SHARED mapping, 64-byte aligned.
  explicit MutexArea(void* base) : base_(static_cast<uint8_t*>(base)) {}

  // (Re)creates every mutex (process-shared, robust, error-checking), unlocked.
  // REQUIRES: no other process or thread uses the area.
  Status Initialize();

  // How long a waiter sleeps before it asks for the mutex again. A robust mutex can lose
  // a wake-up when a process is killed at the wrong instruction (docs/locking.md, "Lost
  // wake-ups"); asking again ends the wait that a lost one would make endless.
  static constexpr long kRecheckMs = 100;

  // Without wait, a held mutex gives Status::WouldBlock. A mutex whose holder died is
  // taken and made consistent (*holder_died set when given). The calling thread holding
  // it already gives kLock.
  Status Lock(unsigned slot, bool wait, bool* holder_died = nullptr) {
    if (holder_died != nullptr) *holder_died = false;
    if (slot < kSlots) {
      pthread_mutex_t* m = Slot(slot);
      int rc = pthread_mutex_trylock(m);
      if (rc == EBUSY && wait) rc = Wait(m);
      if (rc == 0) return Status::OK();
      return LockFailed(slot, rc, holder_died);
    }
    return OutOfRange(slot);
  }
  Status Unlock(unsigned slot) {
    if (slot < kSlots) {
      const int rc = pthread_mutex_unlock(Slot(slot));
      if (rc == 0) return Status::OK();
      return UnlockFailed(slot, rc);
    }
    return OutOfRange(slot);
  }
  // The first slot in [first, end) whose mutex may be held right now (its futex word is
  // not zero), or end; without taking any. A caller that stored a flag before asking
  // (with a full fence) knows that a later holder sees the flag, as taking the mutex is a
  // full barrier. Inline, one pass: a transaction's start asks it of all 128 groups.
  unsigned NextMaybeHeld(unsigned first, unsigned end) const {
    // glibc keeps the futex word first: 0 when free, else the holder's TID and flags (a
    // dead holder's too). That is the kernel's robust-futex ABI, so it cannot move.
    static_assert(offsetof(pthread_mutex_t, __data.__lock) == 0);
    // Four slots a step, their words or'ed: nearly all are free, and one test per four
    // halves the pass. A step that finds one held looks again slot by slot.
    unsigned slot = first;
    for (; end - slot >= 4; slot += 4) {
      if ((Word(slot) | Word(slot + 1) | Word(slot + 2) | Word(slot + 3)) != 0) break;
    }
    for (; slot < end; slot++) {
      if (Word(slot) != 0) return slot;
    }
    return end;
  }

 private:
  // The futex word of a slot's mutex (NextMaybeHeld).
  int Word(unsigned slot) const {
    return __atomic_load_n(reinterpret_cast<const int*>(base_ + uint64_t(slot) * kSlotSize),
                           __ATOMIC_SEQ_CST);
  }
  pthread_mutex_t* Slot(unsigned slot) const {
    return reinterpret_cast<pthread_mutex_t*>(base_ + uint64_t(slot) * kSlotSize);
  }
  // Waits for a held mutex in rounds of kRecheckMs (out of line: the slow path).
  static int Wait(pthread_mutex_t* m);
  // What Lock and Unlock make of anything but success (out of line: rare).
  Status LockFailed(unsigned slot, int rc, bool* holder_died);
  Status UnlockFailed(unsigned slot, int rc);
  static Status OutOfRange(unsigned slot);

  uint8_t* base_;
};

}  // namespace ptdb

#endif  // PTDB_FILE_MUTEX_AREA_H_
