// LockHooks (TDB2's FLOCK attribute): every byte-range lock of a kFcntl database goes
// through the caller's functions, "not now" answers (EAGAIN, EINTR) make operations fail
// with Status::WouldBlock and no log message, other errors are kLock and logged, and a
// hook can turn a wait into a timeout. Hooks need a kFcntl database.
#include "file/file_locks.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/format.h"
#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/support/file_facts.h"
#include "tests/support/lock_agent.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

// Past this a lock call in this process never returned: the test fails instead of hanging.
constexpr unsigned kTestLifeSeconds = 120;

int Fcntl(int fd, int rw, uint64_t off, uint64_t len, bool wait) {
  struct flock fl = {};
  fl.l_type = static_cast<short>(rw);
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(off);
  fl.l_len = static_cast<off_t>(len);
  return fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl);
}

struct HookCall {
  bool lock;  // else an unlock
  int fd;
  int rw;
  uint64_t off;
  uint64_t len;
  bool wait;
};

std::ostream& operator<<(std::ostream& os, const HookCall& c) {
  return os << (c.lock ? "lock" : "unlock") << "(fd " << c.fd << ", "
            << (c.rw == F_RDLCK   ? "F_RDLCK"
                : c.rw == F_WRLCK ? "F_WRLCK"
                                  : "F_UNLCK")
            << ", " << c.off << ", " << c.len << (c.wait ? ", wait)" : ")");
}

// Hooks that record every call and then do what fcntl would, or fail as told.
class RecordingHooks {
 public:
  LockHooks Hooks() {
    LockHooks h;
    h.lock = [this](int fd, int rw, uint64_t off, uint64_t len, bool wait) {
      calls_.push_back({true, fd, rw, off, len, wait});
      if (fail_errno_ != 0) {
        errno = fail_errno_;
        return -1;
      }
      const int rc = Fcntl(fd, rw, off, len, wait);
      if (rc == 0) held_[{off, len}]++;
      return rc;
    };
    h.unlock = [this](int fd, int rw, uint64_t off, uint64_t len) {
      calls_.push_back({false, fd, rw, off, len, false});
      const int rc = Fcntl(fd, F_UNLCK, off, len, false);
      auto it = held_.find({off, len});
      if (it == held_.end()) {
        unmatched_unlocks_++;
      } else if (--it->second == 0) {
        held_.erase(it);
      }
      return rc;
    };
    return h;
  }

  // Every lock request from now on fails with err (0: they work again).
  void FailWith(int err) { fail_errno_ = err; }
  void Clear() { calls_.clear(); }
  const std::vector<HookCall>& calls() const { return calls_; }
  // Ranges locked through the hooks and not released (by an unlock of the same range).
  size_t held() const { return held_.size(); }
  int unmatched_unlocks() const { return unmatched_unlocks_; }

 private:
  std::vector<HookCall> calls_;
  std::map<std::pair<uint64_t, uint64_t>, int> held_;
  int unmatched_unlocks_ = 0;
  int fail_errno_ = 0;
};

class LockHooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetTestDeadline(kTestLifeSeconds);
    PTDB_ASSERT_OK(Db::Open(path_, HookedOptions(O_RDWR | O_CREAT), &db_));
    PTDB_ASSERT_OK(db_->Store("key", "value"));
    hooks_.Clear();
    logged_ = 0;
  }

  void TearDown() override { SetTestDeadline(0); }

  Options HookedOptions(int open_flags) {
    Options options;
    options.open_flags = open_flags;
    options.lock_hooks = hooks_.Hooks();
    options.log = [this](LogLevel, Error, std::string_view) { logged_++; };
    return options;
  }

  uint64_t GroupByte(std::string_view key) const {
    return lock_bytes::GroupByte(HashGroupOf(path_, key));
  }

  TempDir dir_;
  const std::string path_ = dir_.File("db.tdb");
  RecordingHooks hooks_;
  int logged_ = 0;
  std::unique_ptr<Db> db_;
};

TEST_F(LockHooksTest, CreatingWithHooksMakesAnFcntlDatabase) {
  EXPECT_EQ(FeaturesUsed(path_) & format::kFeatureMutexLocks, 0u);
  // The open lock of the creating open went through the hooks too.
  std::unique_ptr<Db> again;
  PTDB_ASSERT_OK(Db::Open(dir_.File("other.tdb"), HookedOptions(O_RDWR | O_CREAT), &again));
  ASSERT_FALSE(hooks_.calls().empty());
  EXPECT_EQ(hooks_.calls()[0].off, lock_bytes::kOpen);
  EXPECT_TRUE(hooks_.calls()[0].lock);
  EXPECT_EQ(hooks_.calls()[0].rw, F_WRLCK);
}

TEST_F(LockHooksTest, MutexDatabasesRefuseHooks) {
  Options options = HookedOptions(O_RDWR | O_CREAT);
  options.lock_mode = LockMode::kMutex;
  std::unique_ptr<Db> db;
  EXPECT_EQ(Db::Open(dir_.File("new.tdb"), options, &db).code(), Error::kEinval);

  Options plain;
  plain.open_flags = O_RDWR | O_CREAT;
  plain.lock_mode = LockMode::kMutex;
  PTDB_ASSERT_OK(Db::Open(dir_.File("mutex.tdb"), plain, &db));
  db.reset();
  EXPECT_EQ(Db::Open(dir_.File("mutex.tdb"), HookedOptions(O_RDWR), &db).code(), Error::kEinval);
  EXPECT_EQ(db, nullptr);
}

TEST_F(LockHooksTest, HooksNeedBothFunctions) {
  Options options = HookedOptions(O_RDWR);
  options.lock_hooks.unlock = nullptr;
  std::unique_ptr<Db> db;
  EXPECT_EQ(Db::Open(path_, options, &db).code(), Error::kEinval);
}

TEST_F(LockHooksTest, StoreLocksItsGroupForWritingThroughTheHooks) {
  PTDB_ASSERT_OK(db_->Store("key", "new value"));
  const auto& calls = hooks_.calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_TRUE(calls[0].lock);
  EXPECT_EQ(calls[0].rw, F_WRLCK);
  EXPECT_EQ(calls[0].off, GroupByte("key"));
  EXPECT_EQ(calls[0].len, 1u);
  for (const HookCall& c : calls) {
    EXPECT_EQ(c.fd, db_->Fd()) << c;
    if (c.lock) {
      EXPECT_TRUE(c.rw == F_RDLCK || c.rw == F_WRLCK) << c;
    } else {
      EXPECT_EQ(c.rw, F_UNLCK) << c;
    }
  }
  int locks = 0, unlocks = 0;
  for (const HookCall& c : calls) (c.lock ? locks : unlocks)++;
  EXPECT_EQ(locks, unlocks);
  EXPECT_EQ(hooks_.held(), 0u) << "a store left locks behind";
  EXPECT_EQ(hooks_.unmatched_unlocks(), 0);
}

TEST_F(LockHooksTest, FetchTakesOnlyItsGroupsReadLock) {
  std::string value;
  PTDB_ASSERT_OK(db_->Fetch("key", &value));
  const auto& calls = hooks_.calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_TRUE(calls[0].lock);
  EXPECT_EQ(calls[0].rw, F_RDLCK);
  EXPECT_EQ(calls[0].off, GroupByte("key"));
  // The group's read lock and its release: nothing else costs a fetch a system call.
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_FALSE(calls[1].lock);
  EXPECT_EQ(calls[1].off, GroupByte("key"));
  for (const HookCall& c : calls) EXPECT_EQ(c.fd, db_->Fd()) << c;
  EXPECT_EQ(hooks_.held(), 0u);
}

TEST_F(LockHooksTest, TraverseHoldsOneGroupReadLockAtATimeAndNoneInTheCallback) {
  for (int i = 0; i < 500; i++) PTDB_ASSERT_OK(db_->Store("k" + std::to_string(i), "v"));
  hooks_.Clear();
  size_t held_in_callback = 0;
  uint64_t count = 0;
  PTDB_ASSERT_OK(db_->Traverse(
      [&](std::string_view, std::string_view) {
        held_in_callback += hooks_.held();
        return true;
      },
      &count));
  EXPECT_EQ(count, 501u);
  EXPECT_EQ(held_in_callback, 0u) << "locks were held while the callback ran";
  std::set<uint64_t> groups;
  size_t held = 0;
  for (const HookCall& c : hooks_.calls()) {
    EXPECT_EQ(c.fd, db_->Fd()) << c;
    if (c.lock) {
      EXPECT_EQ(c.rw, F_RDLCK) << c;
      EXPECT_EQ(held, 0u) << "a second lock while holding one: " << c;
      held++;
      if (c.off >= lock_bytes::kHashStart && c.len == 1) groups.insert(c.off);
    } else {
      held--;
    }
  }
  EXPECT_EQ(held, 0u);
  EXPECT_EQ(groups.size(), format::kTopGroups) << "every hash group is visited under its lock";
}

// EAGAIN and EINTR: the lock was not available now (a non-blocking hook, or a timeout).
class WouldBlockHookTest : public LockHooksTest, public ::testing::WithParamInterface<int> {};

TEST_P(WouldBlockHookTest, EveryOperationFailsWithWouldBlockAndIsNotLogged) {
  hooks_.FailWith(GetParam());
  std::string value;
  bool exists;
  auto would_block = [&](const char* what, const Status& st) {
    EXPECT_EQ(st.code(), Error::kLock) << what << ": " << st.ToString();
    EXPECT_TRUE(st.IsWouldBlock()) << what << ": " << st.ToString();
  };
  would_block("Store", db_->Store("key", "new"));
  would_block("Store of a new key", db_->Store("fresh", "new"));
  would_block("Fetch", db_->Fetch("key", &value));
  would_block("Delete", db_->Delete("key"));
  would_block("Append", db_->Append("key", "more"));
  would_block("Exists", db_->Exists("key", &exists));
  would_block("Traverse", db_->Traverse(nullptr));
  would_block("FirstKey", db_->FirstKey(&value));
  would_block("ChainLock", db_->ChainLock("key"));
  would_block("ChainLockRead", db_->ChainLockRead("key"));
  would_block("LockAll", db_->LockAll());
  would_block("LockAllRead", db_->LockAllRead());
  would_block("WipeAll", db_->WipeAll());
  std::unique_ptr<Db> second;
  would_block("Open", Db::Open(dir_.File("other.tdb"), HookedOptions(O_RDWR | O_CREAT), &second));
  EXPECT_EQ(logged_, 0) << "a would-block was logged";

  // Nothing was left half-taken: with the hooks working again, all is as before.
  hooks_.FailWith(0);
  EXPECT_EQ(hooks_.held(), 0u);
  PTDB_EXPECT_OK(db_->Fetch("key", &value));
  EXPECT_EQ(value, "value");
  PTDB_EXPECT_OK(db_->ChainLock("key"));
  PTDB_EXPECT_OK(db_->ChainUnlock("key"));
  PTDB_EXPECT_OK(db_->LockAll());
  PTDB_EXPECT_OK(db_->UnlockAll());
  PTDB_EXPECT_OK(db_->Check());
  EXPECT_EQ(hooks_.held(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Errnos, WouldBlockHookTest, ::testing::Values(EAGAIN, EINTR),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == EAGAIN ? "EAGAIN" : "EINTR");
                         });

TEST_F(LockHooksTest, OtherHookErrorsAreLockErrorsAndLogged) {
  hooks_.FailWith(EIO);
  std::string value;
  auto lock_error = [&](const char* what, const std::function<Status()>& op) {
    const int before = logged_;
    const Status st = op();
    EXPECT_EQ(st.code(), Error::kLock) << what << ": " << st.ToString();
    EXPECT_FALSE(st.IsWouldBlock()) << what << ": " << st.ToString();
    EXPECT_EQ(logged_, before + 1) << what << " should be logged once";
  };
  lock_error("Store", [&] { return db_->Store("key", "new"); });
  lock_error("Fetch", [&] { return db_->Fetch("key", &value); });
  lock_error("Delete", [&] { return db_->Delete("key"); });
  lock_error("Traverse", [&] { return db_->Traverse(nullptr); });
  lock_error("ChainLock", [&] { return db_->ChainLock("key"); });
  lock_error("LockAll", [&] { return db_->LockAll(); });

  hooks_.FailWith(0);
  EXPECT_EQ(hooks_.held(), 0u);
  PTDB_EXPECT_OK(db_->Fetch("key", &value));
  EXPECT_EQ(value, "value");
}

// A commit whose bundle is durable but that cannot take the locks to apply it fails with
// the lock error, and the transaction did not happen: not now, and not when a later
// opener runs recovery (which would replay a bundle left behind). The handle goes on.
TEST_F(LockHooksTest, ACommitThatCannotLockToApplyDidNotHappen) {
  PTDB_ASSERT_OK(db_->TransactionStart());
  PTDB_ASSERT_OK(db_->Store("key", "new"));
  PTDB_ASSERT_OK(db_->Store("second", "record"));
  PTDB_ASSERT_OK(db_->TransactionPrepareCommit());
  hooks_.FailWith(ENOLCK);
  const Status commit = db_->TransactionCommit();
  EXPECT_EQ(commit.code(), Error::kLock) << commit.ToString();
  hooks_.FailWith(0);
  EXPECT_EQ(hooks_.held(), 0u);
  std::string value;
  PTDB_ASSERT_OK(db_->Fetch("key", &value));
  EXPECT_EQ(value, "value");
  EXPECT_TRUE(db_->Fetch("second", &value).IsNoExist());
  PTDB_ASSERT_OK(db_->Check());
  PTDB_ASSERT_OK(db_->Store("after", "the failed commit"));

  db_.reset();
  PTDB_ASSERT_OK(Db::Open(path_, HookedOptions(O_RDWR), &db_));
  PTDB_ASSERT_OK(db_->Fetch("key", &value));
  EXPECT_EQ(value, "value");
  EXPECT_TRUE(db_->Fetch("second", &value).IsNoExist());
  PTDB_ASSERT_OK(db_->Fetch("after", &value));
  EXPECT_EQ(value, "the failed commit");
  PTDB_ASSERT_OK(db_->Check());
}

// TDB2's lock timeout (api-locktimeout): a hook that lets a waiting lock be cut short by
// SIGALRM. With another process holding the lock, the operation gives up with WouldBlock.
void OnAlarm(int) {}

int LockWithTimeout(int fd, int rw, uint64_t off, uint64_t len, bool wait, int* timeouts) {
  if (!wait) return Fcntl(fd, rw, off, len, false);
  struct sigaction on_alarm = {}, old;
  on_alarm.sa_handler = OnAlarm;  // no SA_RESTART: the signal interrupts fcntl
  sigemptyset(&on_alarm.sa_mask);
  sigaction(SIGALRM, &on_alarm, &old);
  const unsigned deadline = alarm(1);  // the test's own, put back below
  const int rc = Fcntl(fd, rw, off, len, true);
  const int err = errno;
  alarm(0);
  sigaction(SIGALRM, &old, nullptr);
  if (deadline > 1) alarm(deadline - 1);
  if (rc != 0 && err == EINTR) ++*timeouts;
  errno = err;
  return rc;
}

TEST(LockHookTimeoutTest, AWaitCutShortByAnAlarmGivesWouldBlock) {
  SetTestDeadline(kTestLifeSeconds);
  TempDir dir;
  const std::string path = dir.File("db.tdb");
  {
    Options options;
    options.open_flags = O_RDWR | O_CREAT;
    options.lock_mode = LockMode::kFcntl;
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(Db::Open(path, options, &db));
    PTDB_ASSERT_OK(db->Store("key", "value"));
  }
  LockAgent holder;
  const AgentReply opened = holder.Open(path, AgentOpenOptions());
  ASSERT_TRUE(opened.ok()) << opened.ToString();
  const AgentReply locked = holder.Do(AgentOp::kChainLock, "key");
  ASSERT_TRUE(locked.ok()) << locked.ToString();

  int timeouts = 0, logged = 0;
  Options options;
  options.open_flags = O_RDWR;
  options.log = [&](LogLevel, Error, std::string_view) { logged++; };
  options.lock_hooks.lock = [&](int fd, int rw, uint64_t off, uint64_t len, bool wait) {
    return LockWithTimeout(fd, rw, off, len, wait, &timeouts);
  };
  options.lock_hooks.unlock = [](int fd, int, uint64_t off, uint64_t len) {
    return Fcntl(fd, F_UNLCK, off, len, false);
  };
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(path, options, &db));

  const Status st = db->Store("key", "mine");
  EXPECT_EQ(st.code(), Error::kLock) << st.ToString();
  EXPECT_TRUE(st.IsWouldBlock()) << st.ToString();
  EXPECT_EQ(timeouts, 1);
  EXPECT_EQ(logged, 0);
  // Another group is not held, so no wait and no timeout.
  PTDB_EXPECT_OK(db->Store(KeyOutsideGroupOf(path, "key"), "elsewhere"));
  EXPECT_EQ(timeouts, 1);

  const AgentReply unlocked = holder.Do(AgentOp::kChainUnlock, "key");
  ASSERT_TRUE(unlocked.ok()) << unlocked.ToString();
  PTDB_EXPECT_OK(db->Store("key", "mine"));
  std::string value;
  PTDB_EXPECT_OK(db->Fetch("key", &value));
  EXPECT_EQ(value, "mine");
  EXPECT_EQ(timeouts, 1);
  SetTestDeadline(0);
}

}  // namespace
}  // namespace ptdb::test
