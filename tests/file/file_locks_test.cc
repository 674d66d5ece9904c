// FileLocks in kFcntl mode keeps a free zone's byte locked from the zone's unlock to its
// group's unlock and lets both go with one F_UNLCK over the bytes between them
// (docs/locking.md, "System calls per operation"). These tests watch the bytes from a
// forked child (fcntl locks are not inherited, so the child sees this process's locks as
// another process would) and count the calls: the merged unlock must never release a
// byte another thread of this process holds, and must not be used with lock hooks.
#include "file/file_locks.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <thread>
#include <vector>

#include "common/locks.h"
#include "file/byte_range_locks.h"
#include "tests/conformance/test_util.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

constexpr LockId Group(unsigned g) { return {LockKind::kHashGroup, g}; }
constexpr LockId Zone(uint32_t z) { return {LockKind::kFreeZone, z}; }
constexpr uint64_t GroupByte(unsigned g) { return lock_bytes::GroupByte(g); }
constexpr uint64_t ZoneByte(uint32_t z) { return lock_bytes::kFreeStart + z; }

// What a kFcntl handle locks with: the file's bytes, FileLocks over them, the lock set.
struct LockStack {
  explicit LockStack(int fd, LockHooks hooks = LockHooks())
      : bytes(fd, hooks), prim(&bytes, nullptr), locks(&prim) {}
  ByteRangeLocks bytes;
  FileLocks prim;
  LockSet locks;
};

class FcntlKeepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override { close(fd_); }

  // For each byte, '1' if another process would find it locked, else '0' (fork with no
  // allocation in the child: other threads may hold the allocator's locks).
  std::string SeenByOthers(std::initializer_list<uint64_t> bytes) {
    int p[2];
    if (pipe(p) != 0) return "pipe failed";
    const pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      char out[16];
      size_t n = 0;
      const int fd = open(path_.c_str(), O_RDWR | O_CLOEXEC);
      for (uint64_t b : bytes) {
        struct flock fl = {};
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        fl.l_start = static_cast<off_t>(b);
        fl.l_len = 1;
        if (n < sizeof(out)) {
          out[n++] = fd < 0 || fcntl(fd, F_GETLK, &fl) != 0 ? 'e'
                     : fl.l_type == F_UNLCK                 ? '0'
                                                            : '1';
        }
      }
      _exit(write(p[1], out, n) == ssize_t(n) ? 0 : 1);
    }
    close(p[1]);
    std::string seen;
    char c;
    while (read(p[0], &c, 1) == 1) seen += c;
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return seen;
  }

  // What a store does before its group's unlock: the group for writing, then a zone taken
  // and let go (an allocation). The group stays held.
  void LockGroupAndAllocate(LockSet* locks, unsigned group, uint32_t zone) {
    PTDB_ASSERT_OK(locks->Lock(&owner_, Group(group), LockType::kWrite));
    PTDB_ASSERT_OK(locks->Lock(&owner_, Zone(zone), LockType::kWrite));
    PTDB_ASSERT_OK(locks->Unlock(&owner_, Zone(zone), LockType::kWrite));
  }

  TempDir dir_;
  const std::string path_ = dir_.File("locks");
  int fd_ = -1;
  const char owner_ = 0;
};

// What an insert does: its group, then (for a new hash table and the record) a zone
// twice; three calls in all, and nothing stays locked.
TEST_F(FcntlKeepTest, InsertTakesThreeCallsAndLeavesNothingLocked) {
  LockStack s(fd_);
  ASSERT_NO_FATAL_FAILURE(LockGroupAndAllocate(&s.locks, 5, 3));
  EXPECT_EQ(SeenByOthers({GroupByte(5), ZoneByte(3)}), "11") << "the zone is kept";
  PTDB_ASSERT_OK(s.locks.Lock(&owner_, Zone(3), LockType::kWrite));
  PTDB_ASSERT_OK(s.locks.Unlock(&owner_, Zone(3), LockType::kWrite));
  PTDB_ASSERT_OK(s.locks.Unlock(&owner_, Group(5), LockType::kWrite));
  EXPECT_EQ(s.bytes.calls(), 3u) << "lock group, lock zone, one unlock of both";
  EXPECT_EQ(SeenByOthers({GroupByte(5), ZoneByte(3)}), "00");
}

// Another thread's group after ours, or zone before ours, lies inside the span: it must
// still be locked after our unlock, which then takes two calls.
TEST_F(FcntlKeepTest, OtherThreadsLocksInsideTheSpanStayLocked) {
  LockStack s(fd_);
  struct Case {
    LockId other;
    LockType type;
  };
  for (const Case& c : {Case{Group(100), LockType::kWrite}, Case{Group(6), LockType::kRead},
                        Case{Zone(1), LockType::kWrite}, Case{Zone(0), LockType::kWrite}}) {
    SCOPED_TRACE(std::string(c.other.kind == LockKind::kHashGroup ? "group " : "zone ") +
                 std::to_string(c.other.index));
    const uint64_t other_byte =
        c.other.kind == LockKind::kHashGroup ? GroupByte(c.other.index) : ZoneByte(c.other.index);
    const char other_owner = 0;
    std::thread([&] { PTDB_ASSERT_OK(s.locks.Lock(&other_owner, c.other, c.type)); }).join();
    // The other thread's entries live in its (finished) thread: its lock stays held by
    // this process, as if the thread were still running and holding it.
    ASSERT_NO_FATAL_FAILURE(LockGroupAndAllocate(&s.locks, 5, 3));
    PTDB_ASSERT_OK(s.locks.Unlock(&owner_, Group(5), LockType::kWrite));
    EXPECT_EQ(SeenByOthers({GroupByte(5), ZoneByte(3), other_byte}), "001");
    PTDB_ASSERT_OK(s.prim.Unlock(c.other, c.type));
    EXPECT_EQ(SeenByOthers({other_byte}), "0");
  }
}

// The same at the edge of the held-groups bitmap's words: group 64 lies after group 63.
TEST_F(FcntlKeepTest, NextGroupAcrossAWordEdgeStaysLocked) {
  LockStack s(fd_);
  const char other_owner = 0;
  std::thread([&] {
    PTDB_ASSERT_OK(s.locks.Lock(&other_owner, Group(64), LockType::kWrite));
  }).join();
  ASSERT_NO_FATAL_FAILURE(LockGroupAndAllocate(&s.locks, 63, 0));
  PTDB_ASSERT_OK(s.locks.Unlock(&owner_, Group(63), LockType::kWrite));
  EXPECT_EQ(SeenByOthers({GroupByte(63), ZoneByte(0), GroupByte(64)}), "001");
  PTDB_ASSERT_OK(s.prim.Unlock(Group(64), LockType::kWrite));
  const uint64_t before = s.bytes.calls();
  ASSERT_NO_FATAL_FAILURE(LockGroupAndAllocate(&s.locks, 127, 0));
  PTDB_ASSERT_OK(s.locks.Unlock(&owner_, Group(127), LockType::kWrite));
  EXPECT_EQ(s.bytes.calls() - before, 3u);
  EXPECT_EQ(SeenByOthers({GroupByte(127), ZoneByte(0), GroupByte(64)}), "000");
}

// A thread that wants the zone while it is kept takes the byte over without a call; the
// group's unlock then lets only the group go.
TEST_F(FcntlKeepTest, AnotherThreadTakesTheKeptZoneOver) {
  LockStack s(fd_);
  const char other_owner = 0;
  ASSERT_NO_FATAL_FAILURE(LockGroupAndAllocate(&s.locks, 5, 3));
  const uint64_t before = s.bytes.calls();
  std::thread([&] {
    PTDB_ASSERT_OK(s.locks.Lock(&other_owner, Zone(3), LockType::kWrite));
  }).join();
  EXPECT_EQ(s.bytes.calls(), before) << "the byte was this process's already";
  PTDB_ASSERT_OK(s.locks.Unlock(&owner_, Group(5), LockType::kWrite));
  EXPECT_EQ(SeenByOthers({GroupByte(5), ZoneByte(3)}), "01");
  PTDB_ASSERT_OK(s.prim.Unlock(Zone(3), LockType::kWrite));
  EXPECT_EQ(SeenByOthers({ZoneByte(3)}), "0");
}

// Zones 3 and 3 + 64 share an in-process Local: a thread wanting the other zone lets the
// kept byte go first (so does the keeper itself, before it takes any other lock).
TEST_F(FcntlKeepTest, AnotherZoneReleasesTheKeptByteFirst) {
  LockStack s(fd_);
  const char other_owner = 0;
  ASSERT_NO_FATAL_FAILURE(LockGroupAndAllocate(&s.locks, 5, 3));
  std::thread([&] {
    PTDB_ASSERT_OK(s.locks.Lock(&other_owner, Zone(67), LockType::kWrite));
  }).join();
  EXPECT_EQ(SeenByOthers({ZoneByte(3), ZoneByte(67)}), "01");
  PTDB_ASSERT_OK(s.locks.Unlock(&owner_, Group(5), LockType::kWrite));
  EXPECT_EQ(SeenByOthers({GroupByte(5), ZoneByte(3), ZoneByte(67)}), "001");
  PTDB_ASSERT_OK(s.prim.Unlock(Zone(67), LockType::kWrite));

  ASSERT_NO_FATAL_FAILURE(LockGroupAndAllocate(&s.locks, 5, 3));
  PTDB_ASSERT_OK(s.locks.Lock(&owner_, Zone(9), LockType::kWrite));
  EXPECT_EQ(SeenByOthers({ZoneByte(3), ZoneByte(9)}), "01");
  PTDB_ASSERT_OK(s.locks.Unlock(&owner_, Zone(9), LockType::kWrite));
  PTDB_ASSERT_OK(s.locks.Unlock(&owner_, Group(5), LockType::kWrite));
  EXPECT_EQ(SeenByOthers({GroupByte(5), ZoneByte(3), ZoneByte(9)}), "000");
}

// Under a caller's chain lock (the group nested, or a second group held) the zone goes at
// once: the caller may keep the group for long, and other processes allocate there.
TEST_F(FcntlKeepTest, ZoneIsNotKeptUnderAChainLock) {
  LockStack s(fd_);
  PTDB_ASSERT_OK(s.locks.Lock(&owner_, Group(5), LockType::kWrite));
  ASSERT_NO_FATAL_FAILURE(LockGroupAndAllocate(&s.locks, 5, 3));
  EXPECT_EQ(SeenByOthers({ZoneByte(3)}), "0");
  PTDB_ASSERT_OK(s.locks.Unlock(&owner_, Group(5), LockType::kWrite));

  ASSERT_NO_FATAL_FAILURE(LockGroupAndAllocate(&s.locks, 7, 3));
  EXPECT_EQ(SeenByOthers({ZoneByte(3)}), "0");
  PTDB_ASSERT_OK(s.locks.Unlock(&owner_, Group(7), LockType::kWrite));
  PTDB_ASSERT_OK(s.locks.Unlock(&owner_, Group(5), LockType::kWrite));
  EXPECT_EQ(SeenByOthers({GroupByte(5), GroupByte(7)}), "00");
}

// Lock hooks see every lock and unlock on its own, in order.
TEST_F(FcntlKeepTest, LockHooksSeeEachUnlock) {
  std::vector<std::string> calls;
  LockHooks hooks;
  hooks.lock = [&](int, int rw, uint64_t off, uint64_t len, bool) {
    calls.push_back((rw == F_WRLCK ? "W " : "R ") + std::to_string(off) + "+" +
                    std::to_string(len));
    return 0;
  };
  hooks.unlock = [&](int, int, uint64_t off, uint64_t len) {
    calls.push_back("U " + std::to_string(off) + "+" + std::to_string(len));
    return 0;
  };
  LockStack s(fd_, hooks);
  ASSERT_NO_FATAL_FAILURE(LockGroupAndAllocate(&s.locks, 5, 3));
  PTDB_ASSERT_OK(s.locks.Unlock(&owner_, Group(5), LockType::kWrite));
  const std::string g = std::to_string(GroupByte(5)), z = std::to_string(ZoneByte(3));
  EXPECT_EQ(calls, (std::vector<std::string>{"W " + g + "+1", "W " + z + "+1", "U " + z + "+1",
                                             "U " + g + "+1"}));
}

}  // namespace
}  // namespace ptdb::test
