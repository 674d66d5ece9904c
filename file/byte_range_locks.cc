#include "file/byte_range_locks.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>

#include <cstdint>
#include <string>

namespace ptdb {
namespace {

// off_t is signed: a range must fit below its maximum.
constexpr uint64_t kMaxOffset = uint64_t(INT64_MAX);

const char* TypeName(int rw) {
  switch (rw) {
    case F_RDLCK:
      return "read";
    case F_WRLCK:
      return "write";
    case F_UNLCK:
      return "unlock";
  }
  return "bad-type";
}

std::string Range(uint64_t off, uint64_t len) {
  return "[" + std::to_string(off) + ", " + (len == 0 ? "EOF" : std::to_string(off + len)) + ")";
}

bool RangeFits(uint64_t off, uint64_t len) { return off <= kMaxOffset && len <= kMaxOffset - off; }

// EAGAIN/EACCES: held by someone else (POSIX lets F_SETLK report either). EINTR: a signal
// (the caller's timeout) cut a wait short. All three are "not now", never logged.
Status FromErrno(int err, const char* what, int rw, uint64_t off, uint64_t len) {
  std::string msg = std::string(what) + " " + TypeName(rw) + " " + Range(off, len);
  if (err == EAGAIN || err == EACCES || err == EINTR) {
    return Status::WouldBlock(msg + ": " + strerror(err));
  }
  return Status(Error::kLock, msg + ": " + strerror(err));
}

}  // namespace

Status ByteRangeLocks::Lock(int rw, uint64_t off, uint64_t len, bool wait) {
  if (!RangeFits(off, len)) {
    return Status(Error::kLock, "lock range out of bounds " + Range(off, len));
  }
  calls_.fetch_add(1, std::memory_order_relaxed);
  int rc;
  if (hooks_.lock) {
    errno = 0;
    rc = hooks_.lock(fd_, rw, off, len, wait);
  } else {
    struct flock fl = {};
    fl.l_type = static_cast<short>(rw);
    fl.l_whence = SEEK_SET;
    fl.l_start = static_cast<off_t>(off);
    fl.l_len = static_cast<off_t>(len);
    rc = fcntl(fd_, wait ? F_SETLKW : F_SETLK, &fl);
    // The kernel's deadlock check sees processes, not threads: two threads of this process
    // waiting on locks another process holds can look like a cycle that is not one. Our
    // lock order never waits in a real cycle (common/locks.h), so back off and try again;
    // only a wait that stays "deadlocked" for half a minute is reported.
    for (unsigned delay_us = 100, waited_us = 0;
         rc != 0 && errno == EDEADLK && wait && waited_us < 30'000'000;
         waited_us += delay_us, delay_us = std::min(delay_us * 2, 10'000u)) {
      usleep(delay_us);
      rc = fcntl(fd_, F_SETLKW, &fl);
    }
  }
  if (rc == 0) return Status::OK();
  return FromErrno(errno, hooks_.lock ? "lock hook" : "fcntl lock", rw, off, len);
}

Status ByteRangeLocks::Unlock(uint64_t off, uint64_t len) {
  if (!RangeFits(off, len)) {
    return Status(Error::kLock, "unlock range out of bounds " + Range(off, len));
  }
  calls_.fetch_add(1, std::memory_order_relaxed);
  int rc;
  // The caller does not say which type it held; F_UNLCK tells the hook it is a release.
  if (hooks_.unlock) {
    errno = 0;
    rc = hooks_.unlock(fd_, F_UNLCK, off, len);
  } else {
    struct flock fl = {};
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = static_cast<off_t>(off);
    fl.l_len = static_cast<off_t>(len);
    rc = fcntl(fd_, F_SETLK, &fl);
  }
  if (rc == 0) return Status::OK();
  // A release that fails is never "try again later": the caller's bookkeeping is wrong.
  const int err = errno;
  return Status(Error::kLock, std::string(hooks_.unlock ? "unlock hook " : "fcntl unlock ") +
                                  Range(off, len) + ": " + strerror(err));
}

Status ByteRangeLocks::LockGradual(int rw, uint64_t off, uint64_t len) {
  Status s = Lock(rw, off, len, false);
  if (s.ok() || !s.IsWouldBlock()) return s;
  // An open-ended range is halved as the largest finite one: its upper halves, far past
  // any lock in use, are granted at once, so this costs a few calls per held byte.
  // Unlock(off, 0) releases either form.
  if (len == 0) return off < kMaxOffset ? LockGradual(rw, off, kMaxOffset - off) : s;
  if (len == 1) return Lock(rw, off, len, true);
  const uint64_t half = len / 2;
  s = LockGradual(rw, off, half);
  if (!s.ok()) return s;
  s = LockGradual(rw, off + half, len - half);
  if (!s.ok()) {
    // The first half is entirely ours (the caller never holds bytes of this range), so
    // releasing it restores the state before the call. The lock error is the one to
    // report; a failed release of a range we hold has no better answer.
    (void)Unlock(off, half);
  }
  return s;
}

}  // namespace ptdb
