// MutexArea between processes: exclusion, waiting, takeover from a holder that died, and
// misuse that must be an error rather than a deadlock. Each test runs under an alarm, and
// every child under its own, so a bug fails the test instead of hanging it.
#include "file/mutex_area.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <future>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "common/format.h"
#include "common/locks.h"
#include "common/sanitizers.h"
#include "file/change_counts.h"
#include "file/file_locks.h"
#include "tests/support/child.h"
#include "tests/support/temp_dir.h"

namespace ptdb {
namespace {

constexpr unsigned kTestLifeSeconds = 120;
// How long the holder keeps a mutex after the waiter said it is about to wait, so that
// the waiter is most likely really waiting. Order is checked through shared memory.
constexpr useconds_t kHoldUs = 100 * 1000;

class MutexAreaTest : public testing::Test {
 protected:
  void SetUp() override {
    // SIGALRM's default action ends the test binary: a hang becomes a failure.
    alarm(kTestLifeSeconds);
    mem_ = mmap(nullptr, MutexArea::kSize + sizeof(std::atomic<int>), PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(mem_, MAP_FAILED) << strerror(errno);
    area_ = std::make_unique<MutexArea>(mem_);
    ASSERT_TRUE(area_->Initialize().ok());
    flag_ = new (static_cast<char*>(mem_) + MutexArea::kSize) std::atomic<int>(0);
  }
  void TearDown() override {
    area_.reset();
    munmap(mem_, MutexArea::kSize + sizeof(std::atomic<int>));
    alarm(0);
  }

  void* mem_ = nullptr;
  std::unique_ptr<MutexArea> area_;
  // Shared with children, to see on which side of an unlock a lock was granted.
  std::atomic<int>* flag_ = nullptr;
};

TEST_F(MutexAreaTest, ChildHolderBlocksTheParentUntilItUnlocks) {
  Child child([&](Child& c) {
    if (!area_->Lock(3, true).ok()) return 1;
    c.Send('L');
    if (c.Receive(-1) != 'g') return 2;
    usleep(kHoldUs);
    *flag_ = 1;
    return area_->Unlock(3).ok() ? 0 : 3;
  });
  ASSERT_EQ(child.Receive(), 'L');
  Status s = area_->Lock(3, false);
  EXPECT_TRUE(s.IsWouldBlock()) << s.ToString();
  EXPECT_EQ(s.code(), Error::kLock);
  // Other slots are independent.
  ASSERT_TRUE(area_->Lock(4, false).ok());
  ASSERT_TRUE(area_->Unlock(4).ok());

  child.Send('g');
  bool died = true;
  ASSERT_TRUE(area_->Lock(3, true, &died).ok());
  EXPECT_FALSE(died);
  EXPECT_EQ(*flag_, 1) << "granted before the holder unlocked";
  EXPECT_TRUE(area_->Unlock(3).ok());
  EXPECT_EQ(child.Wait(), 0);
}

// The real layout: every process maps the file itself, at an address of its own.
TEST_F(MutexAreaTest, WorksAcrossSeparateMappingsOfAFile) {
  test::TempDir dir;
  const std::string path = dir.File("area");
  const int fd = open(path.c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, MutexArea::kSize), 0);
  void* base = mmap(nullptr, MutexArea::kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  ASSERT_NE(base, MAP_FAILED);
  MutexArea mine(base);
  ASSERT_TRUE(mine.Initialize().ok());
  ASSERT_TRUE(mine.Lock(7, true).ok());

  Child child([&](Child& c) {
    const int cfd = open(path.c_str(), O_RDWR);
    void* other = mmap(nullptr, MutexArea::kSize, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
    if (other == MAP_FAILED || other == base) return 1;
    MutexArea theirs(other);
    if (!theirs.Lock(7, false).IsWouldBlock()) return 2;
    c.Send('R');
    if (!theirs.Lock(7, true).ok()) return 3;
    c.Send(*flag_ == 1 ? 'G' : 'B');
    return theirs.Unlock(7).ok() ? 0 : 4;
  });
  ASSERT_EQ(child.Receive(), 'R');
  usleep(kHoldUs);
  *flag_ = 1;
  ASSERT_TRUE(mine.Unlock(7).ok());
  EXPECT_EQ(child.Receive(), 'G');
  EXPECT_EQ(child.Wait(), 0);
  munmap(base, MutexArea::kSize);
}

// After a takeover the mutex excludes as before, between any processes.
void ExpectWorksNormally(MutexArea* area, unsigned slot) {
  bool died = true;
  ASSERT_TRUE(area->Lock(slot, true, &died).ok());
  EXPECT_FALSE(died);
  Child contender([&](Child& c) {
    c.Send(area->Lock(slot, false).IsWouldBlock() ? 'W' : 'E');
    return 0;
  });
  EXPECT_EQ(contender.Receive(), 'W');
  EXPECT_EQ(contender.Wait(), 0);
  ASSERT_TRUE(area->Unlock(slot).ok());
  Child taker([&](Child& c) {
    const bool ok = area->Lock(slot, false).ok() && area->Unlock(slot).ok();
    c.Send(ok ? 'T' : 'E');
    return 0;
  });
  EXPECT_EQ(taker.Receive(), 'T');
  EXPECT_EQ(taker.Wait(), 0);
}

TEST_F(MutexAreaTest, HolderKilledWhileHoldingIsTakenOver) {
  Child child([&](Child& c) {
    if (!area_->Lock(5, true).ok()) return 1;
    c.Send('L');
    c.Receive(-1);
    return 0;
  });
  ASSERT_EQ(child.Receive(), 'L');
  ASSERT_EQ(kill(child.pid(), SIGKILL), 0);
  ASSERT_EQ(child.Wait(), -SIGKILL);

  bool died = false;
  const Status s = area_->Lock(5, false, &died);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(died);
  ASSERT_TRUE(area_->Unlock(5).ok());
  ExpectWorksNormally(area_.get(), 5);
}

TEST_F(MutexAreaTest, HolderExitingWhileHoldingIsTakenOverByAWaiter) {
  Child child([&](Child& c) {
    if (!area_->Lock(6, true).ok()) return 1;
    c.Send('L');
    if (c.Receive(-1) != 'x') return 2;
    usleep(kHoldUs);
    return 0;  // exits still holding the mutex
  });
  ASSERT_EQ(child.Receive(), 'L');
  child.Send('x');
  bool died = false;
  const Status s = area_->Lock(6, true, &died);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(died);
  EXPECT_EQ(child.Wait(), 0);
  ASSERT_TRUE(area_->Unlock(6).ok());
  ExpectWorksNormally(area_.get(), 6);
}

// The state a lost wake-up leaves (MutexArea::Wait): a waiter asleep, and the futex word
// cleared without anyone woken, as when glibc's unlock is killed between the two steps;
// then a third process takes and releases the mutex without ever waiting, so no unlock
// sees a waiter. The sleeper must still get the mutex, and soon.
TEST_F(MutexAreaTest, WaiterWhoseWakeUpWasLostStillGetsTheMutex) {
  constexpr unsigned kSlot = 9;
  constexpr int kFutexWaiters = int(0x80000000u);
  auto* word =
      reinterpret_cast<std::atomic<int>*>(static_cast<char*>(mem_) + kSlot * MutexArea::kSlotSize);
  Child holder([&](Child& c) {
    if (!area_->Lock(kSlot, true).ok()) return 1;
    c.Send('L');
    if (c.Receive(-1) != 'x') return 2;
    word->store(0);  // the unlock's release of the word, and a death before its wake-up
    return 0;
  });
  ASSERT_EQ(holder.Receive(), 'L');
  Child waiter([&](Child& c) {
    c.Send('W');
    if (!area_->Lock(kSlot, true).ok()) return 1;
    c.Send('G');
    return area_->Unlock(kSlot).ok() ? 0 : 2;
  });
  ASSERT_EQ(waiter.Receive(), 'W');
  // Asleep in the kernel once it has announced itself in the word.
  for (int i = 0; i < 2000 && (word->load() & kFutexWaiters) == 0; i++) usleep(1000);
  ASSERT_NE(word->load() & kFutexWaiters, 0) << "the waiter never waited";
  holder.Send('x');
  ASSERT_EQ(holder.Wait(), 0);
  bool died = true;
  ASSERT_TRUE(area_->Lock(kSlot, false, &died).ok()) << "the word was cleared: free to take";
  EXPECT_FALSE(died);
  ASSERT_TRUE(area_->Unlock(kSlot).ok());

  ASSERT_EQ(waiter.Receive(), 'G') << "the waiter sleeps on with the mutex free";
  EXPECT_EQ(waiter.Wait(), 0);
}

TEST_F(MutexAreaTest, RelockByTheHoldingThreadIsAnErrorNotAHang) {
  ASSERT_TRUE(area_->Lock(1, true).ok());
  Status s = area_->Lock(1, true);
  EXPECT_EQ(s.code(), Error::kLock);
  EXPECT_FALSE(s.IsWouldBlock());
  EXPECT_NE(s.message().find("already held"), std::string_view::npos) << s.ToString();
  // Without waiting the answer is "busy", still a lock error.
  s = area_->Lock(1, false);
  EXPECT_EQ(s.code(), Error::kLock);
  ASSERT_TRUE(area_->Unlock(1).ok());
  EXPECT_TRUE(area_->Lock(1, false).ok());
  EXPECT_TRUE(area_->Unlock(1).ok());
}

TEST_F(MutexAreaTest, UnlockOfAMutexNotHeldIsAnError) {
  if (PTDB_TSAN) GTEST_SKIP() << "TSan reports the misuse this test makes on purpose";
  Status s = area_->Unlock(2);
  EXPECT_EQ(s.code(), Error::kLock);
  EXPECT_NE(s.message().find("not held"), std::string_view::npos) << s.ToString();

  // Held by another thread of this process: still not ours to release.
  std::promise<void> locked, done;
  std::thread holder([&] {
    EXPECT_TRUE(area_->Lock(2, true).ok());
    locked.set_value();
    done.get_future().wait();
    EXPECT_TRUE(area_->Unlock(2).ok());
  });
  locked.get_future().wait();
  s = area_->Unlock(2);
  EXPECT_EQ(s.code(), Error::kLock);
  EXPECT_TRUE(area_->Lock(2, false).IsWouldBlock());
  done.set_value();
  holder.join();
  EXPECT_TRUE(area_->Lock(2, false).ok());
  EXPECT_TRUE(area_->Unlock(2).ok());
}

TEST_F(MutexAreaTest, SlotOutOfRangeIsInvalid) {
  bool died = true;
  EXPECT_EQ(area_->Lock(MutexArea::kSlots, true, &died).code(), Error::kEinval);
  EXPECT_FALSE(died);
  EXPECT_EQ(area_->Unlock(MutexArea::kSlots).code(), Error::kEinval);
  ASSERT_TRUE(area_->Lock(MutexArea::kSlots - 1, true).ok());
  EXPECT_TRUE(area_->Unlock(MutexArea::kSlots - 1).ok());
}

// A transaction's start sweeps the groups with NextMaybeHeld: it must find every held
// mutex, wherever it falls among the slots it tests together, and no free one.
TEST_F(MutexAreaTest, NextMaybeHeldFindsEveryHeldSlotAndNoFreeOne) {
  const std::vector<unsigned> held = {0, 5, 6, 11, 12, 13, 14, 15, 31, MutexArea::kSlots - 1};
  for (unsigned slot : held) ASSERT_TRUE(area_->Lock(slot, true).ok());
  for (unsigned first = 0; first < 20; first++) {
    for (unsigned end = first; end <= MutexArea::kSlots; end += 7) {
      std::vector<unsigned> found, expected;
      for (unsigned s = area_->NextMaybeHeld(first, end); s < end;
           s = area_->NextMaybeHeld(s + 1, end)) {
        found.push_back(s);
      }
      for (unsigned slot : held) {
        if (slot >= first && slot < end) expected.push_back(slot);
      }
      EXPECT_EQ(found, expected) << "slots [" << first << ", " << end << ")";
    }
  }
  for (unsigned slot : held) EXPECT_TRUE(area_->Unlock(slot).ok());
  EXPECT_EQ(area_->NextMaybeHeld(0, MutexArea::kSlots), MutexArea::kSlots);
}

// A commit takes the groups it changed in one LockSet::LockGroups: until UnlockGroups,
// each one's mutex is held and its change count says a writer is inside; afterwards all
// are free, and readers of exactly those groups see that they changed.
TEST_F(MutexAreaTest, LockGroupsHoldsEachMutexAndMarksEachChange) {
  ChangeCounts counts = ChangeCounts::InMutexArea(static_cast<uint8_t*>(mem_));
  FileLocks primitive(area_.get(), &counts);
  LockSet locks(&primitive);
  const unsigned groups[] = {0, 3, 64, 127};
  auto in = [&](unsigned g) {
    return std::find(std::begin(groups), std::end(groups), g) != std::end(groups);
  };
  auto held = [&](unsigned g) {
    const unsigned slot = FileLocks::GroupSlot(g);
    return area_->NextMaybeHeld(slot, slot + 1) == slot;
  };
  uint64_t before[format::kTopGroups];
  for (unsigned g = 0; g < format::kTopGroups; g++) ASSERT_TRUE(counts.BeginRead(g, &before[g]));
  const int owner = 0;
  ASSERT_TRUE(locks.LockGroups(&owner, groups, std::size(groups), LockType::kWrite).ok());
  EXPECT_TRUE(locks.HoldsRecordLocks(&owner));
  for (unsigned g = 0; g < format::kTopGroups; g++) {
    uint64_t token;
    EXPECT_EQ(held(g), in(g)) << "group " << g;
    EXPECT_EQ(counts.BeginRead(g, &token), !in(g)) << "group " << g;
  }
  ASSERT_TRUE(locks.UnlockGroups(&owner, groups, std::size(groups), LockType::kWrite).ok());
  EXPECT_FALSE(locks.HoldsAny(&owner));
  for (unsigned g = 0; g < format::kTopGroups; g++) {
    uint64_t token;
    EXPECT_FALSE(held(g)) << "group " << g;
    EXPECT_TRUE(counts.BeginRead(g, &token)) << "group " << g;
    EXPECT_EQ(counts.ReadValid(g, before[g]), !in(g)) << "group " << g;
  }
}

TEST_F(MutexAreaTest, ThreadsOfOneProcessExcludeEachOther) {
  constexpr int kThreads = 4, kRounds = 20000;
  long counter = 0;  // deliberately not atomic: the mutex is what protects it
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRounds; i++) {
        if (!area_->Lock(0, true).ok()) return;
        counter++;
        if (!area_->Unlock(0).ok()) return;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counter, long(kThreads) * kRounds);
}

}  // namespace
}  // namespace ptdb
