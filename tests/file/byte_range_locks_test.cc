// ByteRangeLocks against real fcntl locks held by other processes, and through the lock
// hooks. POSIX locks belong to a process, so every "someone else holds it" case forks a
// child that talks to the parent over pipes; each side gives up at a deadline, so a bug
// fails the test instead of hanging it.
#include "file/byte_range_locks.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/support/child.h"
#include "tests/support/temp_dir.h"

namespace ptdb {
namespace {

// How long a blocked party is watched for a message it must not send yet.
constexpr int kQuietMs = 100;

// An int that parent and children share, to see which side of a release a lock came.
class SharedCounter {
 public:
  SharedCounter()
      : p_(static_cast<std::atomic<int>*>(mmap(nullptr, sizeof(std::atomic<int>),
                                               PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                                               -1, 0))) {
    new (p_) std::atomic<int>(0);
  }
  ~SharedCounter() { munmap(p_, sizeof(std::atomic<int>)); }
  std::atomic<int>& operator*() { return *p_; }

 private:
  std::atomic<int>* p_;
};

class ByteRangeLocksTest : public testing::Test {
 protected:
  void SetUp() override {
    fd_ = open(dir_.File("locks").c_str(), O_RDWR | O_CREAT, 0600);
    ASSERT_GE(fd_, 0) << strerror(errno);
  }
  void TearDown() override { close(fd_); }

  // Locks with fcntl, as another opener of the file would.
  ByteRangeLocks Fcntl() { return ByteRangeLocks(fd_, LockHooks()); }
  // For a child: a descriptor of its own, as another opener has. (With POSIX locks the
  // inherited one would do; with open-file-description locks it would share the
  // parent's locks.) Closed when the child exits.
  ByteRangeLocks Other() { return ByteRangeLocks(open(dir_.File("locks").c_str(), O_RDWR), {}); }

  // Whether any OTHER process holds a lock conflicting with a write lock on the range.
  bool OthersHoldAny(uint64_t off, uint64_t len) {
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = off_t(off);
    fl.l_len = off_t(len);
    EXPECT_EQ(fcntl(fd_, F_GETLK, &fl), 0) << strerror(errno);
    return fl.l_type != F_UNLCK;
  }

  // The parent holds `held` (bytes inside [off, off + len)); a child's LockGradual waits
  // until the parent released the last of them, then holds the whole range (`inside`).
  void ExpectGradualWaitsForEveryHeldByte(uint64_t off, uint64_t len,
                                          const std::vector<uint64_t>& held,
                                          const std::vector<uint64_t>& inside);

  test::TempDir dir_;
  int fd_ = -1;
};

TEST_F(ByteRangeLocksTest, LockHeldByAnotherProcessWouldBlock) {
  Child child([&](Child& c) {
    ByteRangeLocks locks = Other();
    if (!locks.Lock(F_WRLCK, 100, 10, false).ok()) return 1;
    c.Send('L');
    if (c.Receive(-1) != 'U') return 2;
    if (!locks.Unlock(100, 10).ok()) return 3;
    c.Send('u');
    return c.Receive(-1) == 'x' ? 0 : 4;
  });
  ASSERT_EQ(child.Receive(), 'L');
  ByteRangeLocks locks = Fcntl();

  Status s = locks.Lock(F_WRLCK, 100, 1, false);
  EXPECT_TRUE(s.IsWouldBlock()) << s.ToString();
  EXPECT_EQ(s.code(), Error::kLock);
  s = locks.Lock(F_RDLCK, 109, 1, false);
  EXPECT_TRUE(s.IsWouldBlock()) << s.ToString();
  // Bytes next to the child's range are free.
  ASSERT_TRUE(locks.Lock(F_WRLCK, 110, 1, false).ok());
  ASSERT_TRUE(locks.Lock(F_WRLCK, 99, 1, false).ok());
  ASSERT_TRUE(locks.Unlock(99, 1).ok());
  ASSERT_TRUE(locks.Unlock(110, 1).ok());

  child.Send('U');
  ASSERT_EQ(child.Receive(), 'u');
  EXPECT_TRUE(locks.Lock(F_WRLCK, 100, 10, false).ok());
  child.Send('x');
  EXPECT_EQ(child.Wait(), 0);
}

TEST_F(ByteRangeLocksTest, WaitingLockBlocksUntilTheHolderReleases) {
  ByteRangeLocks locks = Fcntl();
  ASSERT_TRUE(locks.Lock(F_WRLCK, 200, 1, false).ok());
  SharedCounter released;
  Child child([&](Child& c) {
    c.Send('R');
    const Status s = Other().Lock(F_WRLCK, 200, 1, true);
    // Granted only after the parent marked the release, never before.
    c.Send(!s.ok() ? 'E' : *released == 1 ? 'G' : 'B');
    return 0;
  });
  ASSERT_EQ(child.Receive(), 'R');
  EXPECT_EQ(child.Receive(kQuietMs), 0) << "the child did not wait";
  *released = 1;
  ASSERT_TRUE(locks.Unlock(200, 1).ok());
  EXPECT_EQ(child.Receive(), 'G');
  EXPECT_EQ(child.Wait(), 0);
}

TEST_F(ByteRangeLocksTest, ReadLocksAreSharedAndWriteExcludesRead) {
  Child reader([&](Child& c) {
    if (!Other().Lock(F_RDLCK, 300, 10, false).ok()) return 1;
    c.Send('L');
    return c.Receive(-1) == 'x' ? 0 : 2;
  });
  ASSERT_EQ(reader.Receive(), 'L');
  ByteRangeLocks locks = Fcntl();
  ASSERT_TRUE(locks.Lock(F_RDLCK, 300, 10, false).ok());
  ASSERT_TRUE(locks.Unlock(300, 10).ok());
  Status s = locks.Lock(F_WRLCK, 305, 1, false);
  EXPECT_TRUE(s.IsWouldBlock()) << s.ToString();
  reader.Send('x');
  EXPECT_EQ(reader.Wait(), 0);

  ASSERT_TRUE(locks.Lock(F_WRLCK, 400, 1, false).ok());
  Child other([&](Child& c) {
    const Status r = Other().Lock(F_RDLCK, 400, 1, false);
    c.Send(r.IsWouldBlock() ? 'W' : 'E');
    return 0;
  });
  EXPECT_EQ(other.Receive(), 'W');
  EXPECT_EQ(other.Wait(), 0);
}

TEST_F(ByteRangeLocksTest, ZeroLengthReachesToInfinity) {
  Child child([&](Child& c) {
    if (!Other().Lock(F_WRLCK, 1000, 0, false).ok()) return 1;
    c.Send('L');
    return c.Receive(-1) == 'x' ? 0 : 2;
  });
  ASSERT_EQ(child.Receive(), 'L');
  ByteRangeLocks locks = Fcntl();
  Status s = locks.Lock(F_RDLCK, uint64_t(1) << 40, 1, false);
  EXPECT_TRUE(s.IsWouldBlock()) << s.ToString();
  EXPECT_TRUE(locks.Lock(F_RDLCK, 999, 1, false).ok());
  child.Send('x');
  EXPECT_EQ(child.Wait(), 0);
}

void ByteRangeLocksTest::ExpectGradualWaitsForEveryHeldByte(uint64_t off, uint64_t len,
                                                            const std::vector<uint64_t>& held,
                                                            const std::vector<uint64_t>& inside) {
  ByteRangeLocks locks = Fcntl();
  for (uint64_t b : held) ASSERT_TRUE(locks.Lock(F_WRLCK, b, 1, false).ok());
  SharedCounter released;
  Child child([&](Child& c) {
    c.Send('R');
    const Status s = Other().LockGradual(F_WRLCK, off, len);
    c.Send(!s.ok() ? 'E' : *released == int(held.size()) ? 'G' : 'B');
    return c.Receive(-1) == 'x' ? 0 : 2;
  });
  ASSERT_EQ(child.Receive(), 'R');
  for (uint64_t b : held) {
    EXPECT_EQ(child.Receive(kQuietMs), 0) << "granted while byte " << b << " was held";
    ++*released;
    ASSERT_TRUE(locks.Unlock(b, 1).ok());
  }
  ASSERT_EQ(child.Receive(), 'G');
  for (uint64_t b : inside) {
    Status s = locks.Lock(F_RDLCK, b, 1, false);
    EXPECT_TRUE(s.IsWouldBlock()) << "byte " << b << ": " << s.ToString();
  }
  EXPECT_TRUE(locks.Lock(F_RDLCK, off - 1, 1, false).ok());
  if (len != 0) {
    EXPECT_TRUE(locks.Lock(F_RDLCK, off + len, 1, false).ok());
  }
  child.Send('x');
  EXPECT_EQ(child.Wait(), 0);
}

TEST_F(ByteRangeLocksTest, GradualGetsTheWholeRangeAsHeldBytesAreReleased) {
  ExpectGradualWaitsForEveryHeldByte(64, 1024, {70, 555, 1000}, {64, 70, 300, 555, 1087});
}

// The allrecord lock's form: from the first hash-group byte to infinity.
TEST_F(ByteRangeLocksTest, GradualToInfinityGetsEverythingPastTheStart) {
  const uint64_t kFreeByte = (uint64_t(1) << 30) + 64 + 9;
  ExpectGradualWaitsForEveryHeldByte(64, 0, {70, kFreeByte},
                                     {64, 70, kFreeByte, uint64_t(1) << 40, uint64_t(1) << 62});
}

void OnAlarm(int) {}

// A signal is how a caller puts a timeout on a waiting fcntl lock (TDB2's locktimeout).
TEST_F(ByteRangeLocksTest, GradualCutShortBySignalLeavesNothingLocked) {
  ByteRangeLocks locks = Fcntl();
  ASSERT_TRUE(locks.Lock(F_WRLCK, 555, 1, false).ok());
  Child child([&](Child& c) {
    struct sigaction sa = {};
    sa.sa_handler = OnAlarm;  // no SA_RESTART: the wait ends with EINTR
    sigaction(SIGALRM, &sa, nullptr);
    // Repeating, so the wait is cut short however late the child reaches it.
    itimerval every = {{0, 100 * 1000}, {0, 100 * 1000}};
    setitimer(ITIMER_REAL, &every, nullptr);
    const Status s = Other().LockGradual(F_WRLCK, 64, 1024);
    const itimerval off = {};
    setitimer(ITIMER_REAL, &off, nullptr);
    alarm(Child::kLifeSeconds);
    c.Send(s.IsWouldBlock() ? 'W' : 'E');
    return c.Receive(-1) == 'x' ? 0 : 2;
  });
  ASSERT_EQ(child.Receive(), 'W');
  // The child is still alive (its locks would survive), yet holds nothing in the range
  // around the parent's byte (skipped: an open-file-description lock would report it).
  EXPECT_FALSE(OthersHoldAny(64, 555 - 64));
  EXPECT_FALSE(OthersHoldAny(556, 64 + 1024 - 556));
  child.Send('x');
  EXPECT_EQ(child.Wait(), 0);
}

TEST_F(ByteRangeLocksTest, FcntlFailuresAreLockErrorsNotWouldBlock) {
  const int ro = open(dir_.File("locks").c_str(), O_RDONLY);
  ASSERT_GE(ro, 0);
  // A write lock needs a descriptor open for writing: EBADF.
  Status s = ByteRangeLocks(ro, LockHooks()).Lock(F_WRLCK, 0, 1, false);
  close(ro);
  EXPECT_EQ(s.code(), Error::kLock);
  EXPECT_FALSE(s.IsWouldBlock());
  EXPECT_NE(s.message().find(strerror(EBADF)), std::string_view::npos) << s.ToString();

  s = Fcntl().Lock(F_RDLCK, UINT64_MAX - 1, 1, false);
  EXPECT_EQ(s.code(), Error::kLock);
  EXPECT_FALSE(s.IsWouldBlock());
}

int Fail(int err) {
  errno = err;
  return -1;
}

// Lock hooks that keep their own table of held ranges, standing in for a lock manager.
struct FakeLockManager {
  static constexpr uint64_t kInfinity = UINT64_MAX;
  struct Call {
    int fd;
    int rw;
    uint64_t off;
    uint64_t len;
    bool wait;
    bool unlock;
  };
  std::vector<Call> calls;
  std::map<uint64_t, uint64_t> held;  // start -> end of ranges the hooks' user holds
  std::set<uint64_t> busy;            // bytes other "processes" hold
  bool double_lock = false;
  // A waiting request for a busy byte: 0 waits until the holder releases it (it is then
  // granted), else the hook fails with this errno (a timeout, or a hard error).
  int wait_errno = 0;
  // Every request fails with this errno when set.
  int lock_errno = 0;
  int unlock_errno = 0;

  static uint64_t End(uint64_t off, uint64_t len) { return len == 0 ? kInfinity : off + len; }

  bool AnyBusy(uint64_t off, uint64_t end) const {
    auto it = busy.lower_bound(off);
    return it != busy.end() && *it < end;
  }
  bool AnyHeld(uint64_t off, uint64_t end) const {
    for (const auto& [s, e] : held) {
      if (s < end && off < e) return true;
    }
    return false;
  }
  // As fcntl does: the parts of held ranges outside [off, end) stay held.
  void Release(uint64_t off, uint64_t end) {
    std::map<uint64_t, uint64_t> kept;
    for (const auto& [s, e] : held) {
      if (e <= off || end <= s) {
        kept[s] = e;
        continue;
      }
      if (s < off) kept[s] = off;
      if (end < e) kept[end] = e;
    }
    held.swap(kept);
  }
  // The held ranges with neighbours joined: what another process would see.
  std::vector<std::pair<uint64_t, uint64_t>> Merged() const {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    for (const auto& [s, e] : held) {
      if (!out.empty() && out.back().second >= s) {
        out.back().second = std::max(out.back().second, e);
      } else {
        out.emplace_back(s, e);
      }
    }
    return out;
  }

  LockHooks Hooks() {
    LockHooks h;
    h.lock = [this](int fd, int rw, uint64_t off, uint64_t len, bool wait) {
      calls.push_back({fd, rw, off, len, wait, false});
      if (lock_errno != 0) return Fail(lock_errno);
      const uint64_t end = End(off, len);
      if (AnyBusy(off, end)) {
        if (!wait) return Fail(EAGAIN);
        if (wait_errno != 0) return Fail(wait_errno);
        busy.erase(busy.lower_bound(off), busy.lower_bound(end));
      }
      if (AnyHeld(off, end)) double_lock = true;
      held[off] = end;
      return 0;
    };
    h.unlock = [this](int fd, int rw, uint64_t off, uint64_t len) {
      calls.push_back({fd, rw, off, len, false, true});
      if (unlock_errno != 0) return Fail(unlock_errno);
      Release(off, End(off, len));
      return 0;
    };
    return h;
  }
};

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

TEST_F(ByteRangeLocksTest, EveryCallGoesThroughTheHooks) {
  FakeLockManager fake;
  ByteRangeLocks locks(fd_, fake.Hooks());
  EXPECT_TRUE(locks.has_hooks());
  EXPECT_FALSE(Fcntl().has_hooks());
  ASSERT_TRUE(locks.Lock(F_RDLCK, 10, 5, false).ok());
  ASSERT_TRUE(locks.Lock(F_WRLCK, 20, 0, true).ok());

  // The hooks took the place of fcntl: another process finds the file unlocked.
  Child child([&](Child& c) {
    const Status s = Other().Lock(F_WRLCK, 0, 0, false);
    c.Send(s.ok() ? 'F' : 'E');
    return 0;
  });
  EXPECT_EQ(child.Receive(), 'F');
  EXPECT_EQ(child.Wait(), 0);

  ASSERT_TRUE(locks.Unlock(10, 5).ok());
  ASSERT_TRUE(locks.Unlock(20, 0).ok());
  ASSERT_EQ(fake.calls.size(), 4u);
  const FakeLockManager::Call& a = fake.calls[0];
  EXPECT_EQ(a.fd, fd_);
  EXPECT_EQ(a.rw, F_RDLCK);
  EXPECT_EQ(a.off, 10u);
  EXPECT_EQ(a.len, 5u);
  EXPECT_FALSE(a.wait);
  EXPECT_FALSE(a.unlock);
  const FakeLockManager::Call& b = fake.calls[1];
  EXPECT_EQ(b.rw, F_WRLCK);
  EXPECT_EQ(b.off, 20u);
  EXPECT_EQ(b.len, 0u);
  EXPECT_TRUE(b.wait);
  for (size_t i : {2, 3}) {
    EXPECT_TRUE(fake.calls[i].unlock);
    EXPECT_EQ(fake.calls[i].fd, fd_);
    EXPECT_EQ(fake.calls[i].rw, F_UNLCK);
  }
  EXPECT_EQ(fake.calls[2].off, 10u);
  EXPECT_EQ(fake.calls[2].len, 5u);
  EXPECT_EQ(fake.calls[3].off, 20u);
  EXPECT_EQ(fake.calls[3].len, 0u);
}

TEST_F(ByteRangeLocksTest, HookErrnoDecidesBetweenWouldBlockAndError) {
  FakeLockManager fake;
  ByteRangeLocks locks(fd_, fake.Hooks());
  for (int err : {EAGAIN, EINTR, EACCES}) {
    fake.lock_errno = err;
    const Status s = locks.Lock(F_WRLCK, 8, 1, true);
    EXPECT_TRUE(s.IsWouldBlock()) << strerror(err) << ": " << s.ToString();
    EXPECT_EQ(s.code(), Error::kLock);
  }
  for (int err : {EIO, EDEADLK, ENOLCK}) {
    fake.lock_errno = err;
    const Status s = locks.Lock(F_RDLCK, 8, 1, false);
    EXPECT_EQ(s.code(), Error::kLock) << strerror(err);
    EXPECT_FALSE(s.IsWouldBlock()) << strerror(err);
    EXPECT_NE(s.message().find(strerror(err)), std::string_view::npos) << s.ToString();
  }
  fake.lock_errno = 0;
  ASSERT_TRUE(locks.Lock(F_RDLCK, 8, 1, false).ok());
  fake.unlock_errno = EIO;
  const Status s = locks.Unlock(8, 1);
  EXPECT_EQ(s.code(), Error::kLock);
  EXPECT_FALSE(s.IsWouldBlock());
}

TEST_F(ByteRangeLocksTest, GradualTriesWholeRangeThenWaitsOnlyOnSingleBytes) {
  FakeLockManager fake;
  fake.busy = {100, 101, 700};
  ByteRangeLocks locks(fd_, fake.Hooks());
  ASSERT_TRUE(locks.LockGradual(F_WRLCK, 64, 1024).ok());

  ASSERT_FALSE(fake.calls.empty());
  EXPECT_EQ(fake.calls[0].off, 64u);
  EXPECT_EQ(fake.calls[0].len, 1024u);
  EXPECT_FALSE(fake.calls[0].wait);
  std::vector<uint64_t> waited;
  for (const FakeLockManager::Call& c : fake.calls) {
    EXPECT_FALSE(c.unlock);
    EXPECT_EQ(c.rw, F_WRLCK);
    if (c.wait) {
      EXPECT_EQ(c.len, 1u) << "waited on a range at " << c.off;
      waited.push_back(c.off);
    }
  }
  EXPECT_EQ(waited, (std::vector<uint64_t>{100, 101, 700}));
  EXPECT_FALSE(fake.double_lock);
  EXPECT_EQ(fake.Merged(), (Ranges{{64, 1088}}));
}

TEST_F(ByteRangeLocksTest, GradualToInfinityWaitsOnlyOnSingleBytes) {
  FakeLockManager fake;
  const uint64_t kFreeByte = (uint64_t(1) << 30) + 64 + 9;
  fake.busy = {100, kFreeByte};
  ByteRangeLocks locks(fd_, fake.Hooks());
  ASSERT_TRUE(locks.LockGradual(F_RDLCK, 64, 0).ok());
  std::vector<uint64_t> waited;
  for (const FakeLockManager::Call& c : fake.calls) {
    if (c.wait) {
      EXPECT_EQ(c.len, 1u) << "waited on a range at " << c.off;
      waited.push_back(c.off);
    }
  }
  EXPECT_EQ(waited, (std::vector<uint64_t>{100, kFreeByte}));
  EXPECT_FALSE(fake.double_lock);
  // Everything from 64 to the largest offset a lock can name.
  const Ranges merged = fake.Merged();
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].first, 64u);
  EXPECT_GE(merged[0].second, uint64_t(INT64_MAX));
  // The descent to each held byte is a few dozen calls, not a walk of the range.
  EXPECT_LT(fake.calls.size(), 400u);
  ASSERT_TRUE(locks.Unlock(64, 0).ok());
  EXPECT_TRUE(fake.held.empty());
}

TEST_F(ByteRangeLocksTest, GradualOnAFreeRangeIsOneCall) {
  FakeLockManager fake;
  ByteRangeLocks locks(fd_, fake.Hooks());
  ASSERT_TRUE(locks.LockGradual(F_RDLCK, 64, 1024).ok());
  EXPECT_EQ(fake.calls.size(), 1u);
  EXPECT_EQ(fake.Merged(), (Ranges{{64, 1088}}));
}

TEST_F(ByteRangeLocksTest, GradualFailureReleasesEverythingItTook) {
  for (int err : {EAGAIN, EINTR, EIO}) {
    SCOPED_TRACE(strerror(err));
    FakeLockManager fake;
    // The wait for byte 700 fails after [64, 576) and parts of [576, 700) were granted.
    fake.busy = {700};
    ByteRangeLocks locks(fd_, fake.Hooks());
    fake.wait_errno = err;
    const Status s = locks.LockGradual(F_WRLCK, 64, 1024);
    EXPECT_EQ(s.code(), Error::kLock);
    EXPECT_EQ(s.IsWouldBlock(), err != EIO);
    EXPECT_TRUE(fake.held.empty()) << fake.held.size() << " ranges left locked";
    bool released_some = false;
    for (const FakeLockManager::Call& c : fake.calls) released_some |= c.unlock;
    EXPECT_TRUE(released_some) << "nothing was taken before the failure: the test proved nothing";
  }
}

TEST_F(ByteRangeLocksTest, GradualStopsAtAHardError) {
  FakeLockManager fake;
  fake.lock_errno = EIO;
  ByteRangeLocks locks(fd_, fake.Hooks());
  const Status s = locks.LockGradual(F_WRLCK, 64, 1024);
  EXPECT_EQ(s.code(), Error::kLock);
  EXPECT_FALSE(s.IsWouldBlock());
  EXPECT_EQ(fake.calls.size(), 1u);
}

}  // namespace
}  // namespace ptdb
