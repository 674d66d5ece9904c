// The lock API's rules as one process sees them, in both lock modes: nesting, many locks
// at once, read versus write, lock order, read-only and kNoLock handles, two handles of one file in
// one thread (an error at once, never a hang), closing a handle that holds a lock, and fork.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/support/lock_agent.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

constexpr unsigned kChildLifeSeconds = 30;
// Past this a lock call in this process never returned: the test fails instead of hanging.
constexpr unsigned kTestLifeSeconds = 120;

// Runs body in a forked child (under an alarm) and returns what it reports: empty when all
// went as expected, else a description. The child ends with _exit, never returning into
// the test framework.
std::string RunInChild(const std::function<std::string()>& body) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return "fork failed";
  }
  if (pid == 0) {
    close(fds[0]);
    alarm(kChildLifeSeconds);
    const std::string report = body();
    const bool sent = write(fds[1], report.data(), report.size()) == ssize_t(report.size());
    _exit(sent ? 0 : 1);
  }
  close(fds[1]);
  std::string report;
  char buf[256];
  for (;;) {
    struct pollfd p = {fds[0], POLLIN, 0};
    if (poll(&p, 1, int(kChildLifeSeconds) * 1000 * 2) <= 0) {
      report += "[no answer from the child]";
      kill(pid, SIGKILL);
      break;
    }
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;
    report.append(buf, size_t(n));
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) report += "[the child did not exit cleanly]";
  return report;
}

// For a child's report: "what: got X, wanted Y; " when the codes differ.
std::string Expect(const char* what, const Status& got, Error wanted) {
  if (got.code() == wanted) return "";
  return std::string(what) + ": got " + got.ToString() + ", wanted " + ErrorString(wanted) + "; ";
}

std::string ModeName(const ::testing::TestParamInfo<LockMode>& info) {
  return info.param == LockMode::kMutex ? "Mutex" : "Fcntl";
}

class LockSemanticsTest : public ::testing::TestWithParam<LockMode> {
 protected:
  void SetUp() override {
    SetTestDeadline(kTestLifeSeconds);
    Options options;
    options.open_flags = O_RDWR | O_CREAT;
    options.lock_mode = GetParam();
    options.log = [this](LogLevel, Error, std::string_view) { logged_++; };
    PTDB_ASSERT_OK(Db::Open(path_, options, &db_));
    PTDB_ASSERT_OK(db_->Store("key", "value"));
    same_ = KeyInGroupOf(path_, "key");
    other_ = KeyOutsideGroupOf(path_, "key");
  }

  void TearDown() override { SetTestDeadline(0); }

  void Open(std::unique_ptr<Db>* db, int open_flags = O_RDWR, unsigned flags = 0) {
    Options options;
    options.open_flags = open_flags;
    options.flags = flags;
    PTDB_ASSERT_OK(Db::Open(path_, options, db));
  }

  TempDir dir_;
  const std::string path_ = dir_.File("db.tdb");
  int logged_ = 0;
  std::unique_ptr<Db> db_;
  std::string same_, other_;  // a key in the group of "key", and one outside it
};

TEST_P(LockSemanticsTest, ChainLockNests) {
  std::unique_ptr<Db> second;
  ASSERT_NO_FATAL_FAILURE(Open(&second));
  std::string value;
  PTDB_ASSERT_OK(db_->ChainLock("key"));
  PTDB_ASSERT_OK(db_->ChainLock("key"));
  PTDB_ASSERT_OK(db_->ChainUnlock("key"));
  // Still held once: the second handle (which fails at once on a held group) is kept out.
  EXPECT_EQ(second->Fetch("key", &value).code(), Error::kLock);
  PTDB_ASSERT_OK(db_->ChainUnlock("key"));
  PTDB_EXPECT_OK(second->Fetch("key", &value));
  EXPECT_EQ(db_->ChainUnlock("key").code(), Error::kLock) << "a third unlock of two locks";
}

TEST_P(LockSemanticsTest, ManyChainLocksAtOnceAreHeldAndReleasedEachOnItsOwn) {
  // One key in each of 40 groups, in ascending group order (the order in which waiting
  // is safe): more locks than a thread's list of held locks keeps inline.
  std::map<unsigned, std::string> by_group;
  for (int i = 0; by_group.size() < 40; i++) {
    const std::string key = "many" + std::to_string(i);
    by_group.emplace(HashGroupOf(path_, key), key);
  }
  std::vector<std::string> keys;
  for (const auto& [group, key] : by_group) keys.push_back(key);
  std::unique_ptr<Db> second;
  ASSERT_NO_FATAL_FAILURE(Open(&second));
  std::string value;
  for (const std::string& key : keys) PTDB_ASSERT_OK(db_->ChainLock(key));
  for (const std::string& key : keys) {
    PTDB_EXPECT_OK(db_->Store(key, "under " + key));
    EXPECT_EQ(second->Fetch(key, &value).code(), Error::kLock) << key << " is not held";
  }
  // Every other one first, then the rest newest first: each unlock releases its own.
  for (size_t i = 0; i < keys.size(); i += 2) PTDB_ASSERT_OK(db_->ChainUnlock(keys[i]));
  for (size_t i = 0; i < keys.size(); i++) {
    const Status st = second->Fetch(keys[i], &value);
    if (i % 2 == 0) {
      PTDB_EXPECT_OK(st);
      EXPECT_EQ(value, "under " + keys[i]);
    } else {
      EXPECT_EQ(st.code(), Error::kLock) << keys[i] << " was released with another";
    }
  }
  for (size_t i = keys.size(); i-- > 0;) {
    if (i % 2 == 1) PTDB_ASSERT_OK(db_->ChainUnlock(keys[i]));
  }
  for (const std::string& key : keys) PTDB_EXPECT_OK(second->Fetch(key, &value));
  EXPECT_EQ(db_->ChainUnlock(keys[0]).code(), Error::kLock) << "an unlock of a lock not held";
  PTDB_EXPECT_OK(db_->Check());
}

TEST_P(LockSemanticsTest, ChainLockReadNests) {
  PTDB_ASSERT_OK(db_->ChainLockRead("key"));
  PTDB_ASSERT_OK(db_->ChainLockRead(same_));
  PTDB_ASSERT_OK(db_->ChainUnlockRead(same_));
  PTDB_ASSERT_OK(db_->ChainUnlockRead("key"));
  EXPECT_EQ(db_->ChainUnlockRead("key").code(), Error::kLock);
}

TEST_P(LockSemanticsTest, ChainLockWhileHoldingItsReadLockIsAnError) {
  PTDB_ASSERT_OK(db_->ChainLockRead("key"));
  EXPECT_EQ(db_->ChainLock("key").code(), Error::kLock);
  EXPECT_EQ(db_->ChainLock(same_).code(), Error::kLock) << "same group, other key";
  PTDB_ASSERT_OK(db_->ChainUnlockRead("key"));
  PTDB_EXPECT_OK(db_->ChainLock("key"));
  PTDB_EXPECT_OK(db_->ChainUnlock("key"));
}

TEST_P(LockSemanticsTest, StoreUnderAReadLockIsAnError) {
  std::string value;
  PTDB_ASSERT_OK(db_->ChainLockRead("key"));
  EXPECT_EQ(db_->Store("key", "new").code(), Error::kLock);
  EXPECT_EQ(db_->Store(same_, "new").code(), Error::kLock);
  EXPECT_EQ(db_->Delete("key").code(), Error::kLock);
  PTDB_EXPECT_OK(db_->Fetch("key", &value));
  PTDB_ASSERT_OK(db_->ChainUnlockRead("key"));

  PTDB_ASSERT_OK(db_->LockAllRead());
  EXPECT_EQ(db_->Store("key", "new").code(), Error::kLock);
  EXPECT_EQ(db_->Store(other_, "new").code(), Error::kLock);
  EXPECT_EQ(db_->WipeAll().code(), Error::kLock);
  PTDB_EXPECT_OK(db_->Fetch("key", &value));
  EXPECT_EQ(value, "value");
  PTDB_ASSERT_OK(db_->UnlockAllRead());
  PTDB_EXPECT_OK(db_->Store("key", "new"));
}

// A transaction stages without group or zone locks, except where the caller holds the
// lock itself (a chainlock or lockall taken inside the transaction): there the engine's
// lock nests in the caller's, with its rules.
TEST_P(LockSemanticsTest, CallersLocksInsideATransactionStillRule) {
  PTDB_ASSERT_OK(db_->TransactionStart());
  PTDB_ASSERT_OK(db_->ChainLockRead("key"));
  EXPECT_EQ(db_->Store("key", "read-locked").code(), Error::kLock);
  EXPECT_EQ(db_->Store(same_, "read-locked").code(), Error::kLock);
  PTDB_EXPECT_OK(db_->Store(other_, "other"));
  PTDB_ASSERT_OK(db_->ChainUnlockRead("key"));
  PTDB_ASSERT_OK(db_->LockAllRead());
  EXPECT_EQ(db_->Store(other_, "read-locked").code(), Error::kLock);
  PTDB_ASSERT_OK(db_->UnlockAllRead());
  PTDB_ASSERT_OK(db_->ChainLock("key"));
  PTDB_EXPECT_OK(db_->Store("key", "new"));
  PTDB_ASSERT_OK(db_->ChainUnlock("key"));
  EXPECT_EQ(db_->ChainUnlock("key").code(), Error::kLock) << "the store's lock nested, and went";
  PTDB_ASSERT_OK(db_->TransactionCommit());
  std::string value;
  PTDB_EXPECT_OK(db_->Fetch("key", &value));
  EXPECT_EQ(value, "new");
  PTDB_EXPECT_OK(db_->Fetch(other_, &value));
  EXPECT_EQ(value, "other");
  PTDB_EXPECT_OK(db_->Check());
}

TEST_P(LockSemanticsTest, OperationsUnderChainLockWork) {
  std::string value;
  PTDB_ASSERT_OK(db_->ChainLock("key"));
  PTDB_EXPECT_OK(db_->Fetch("key", &value));
  EXPECT_EQ(value, "value");
  PTDB_EXPECT_OK(db_->Store("key", value + "+1"));
  PTDB_EXPECT_OK(db_->Store(same_, "same"));
  PTDB_EXPECT_OK(db_->Store(other_, "other"));
  PTDB_EXPECT_OK(db_->Fetch("key", &value));
  EXPECT_EQ(value, "value+1");
  PTDB_ASSERT_OK(db_->ChainUnlock("key"));
  PTDB_EXPECT_OK(db_->Check());
}

TEST_P(LockSemanticsTest, LockAllWhileHoldingAChainLockIsAnError) {
  PTDB_ASSERT_OK(db_->ChainLock("key"));
  EXPECT_EQ(db_->LockAll().code(), Error::kLock);
  EXPECT_EQ(db_->LockAllRead().code(), Error::kLock);
  PTDB_ASSERT_OK(db_->ChainUnlock("key"));
  PTDB_EXPECT_OK(db_->LockAll());
  PTDB_EXPECT_OK(db_->UnlockAll());
}

TEST_P(LockSemanticsTest, UnlockWithoutALockIsAnError) {
  logged_ = 0;
  EXPECT_EQ(db_->ChainUnlock("key").code(), Error::kLock);
  EXPECT_EQ(db_->ChainUnlockRead("key").code(), Error::kLock);
  EXPECT_EQ(db_->UnlockAll().code(), Error::kLock);
  EXPECT_EQ(db_->UnlockAllRead().code(), Error::kLock);
  EXPECT_EQ(logged_, 4) << "misuse is logged";
  // Nothing was disturbed.
  PTDB_EXPECT_OK(db_->ChainLock("key"));
  PTDB_EXPECT_OK(db_->ChainUnlock("key"));
}

TEST_P(LockSemanticsTest, ReadOnlyHandleTakesOnlyReadLocks) {
  std::unique_ptr<Db> reader;
  ASSERT_NO_FATAL_FAILURE(Open(&reader, O_RDONLY));
  EXPECT_EQ(reader->ChainLock("key").code(), Error::kRdonly);
  EXPECT_EQ(reader->LockAll().code(), Error::kRdonly);
  PTDB_EXPECT_OK(reader->ChainLockRead("key"));
  std::string value;
  PTDB_EXPECT_OK(reader->Fetch("key", &value));
  PTDB_EXPECT_OK(reader->ChainUnlockRead("key"));
  PTDB_EXPECT_OK(reader->LockAllRead());
  PTDB_EXPECT_OK(reader->UnlockAllRead());

  // The same for a read-write handle made read-only.
  PTDB_ASSERT_OK(db_->AddFlag(kRdonly));
  EXPECT_EQ(db_->ChainLock("key").code(), Error::kRdonly);
  EXPECT_EQ(db_->LockAll().code(), Error::kRdonly);
  PTDB_EXPECT_OK(db_->ChainLockRead("key"));
  PTDB_EXPECT_OK(db_->ChainUnlockRead("key"));
}

TEST_P(LockSemanticsTest, NoLockHandleSucceedsAtEveryLockCall) {
  std::unique_ptr<Db> unlocked;
  db_.reset();
  ASSERT_NO_FATAL_FAILURE(Open(&unlocked, O_RDWR, kNoLock));
  // Nothing is taken, so nothing can conflict or be missing, even out of order.
  PTDB_EXPECT_OK(unlocked->ChainUnlock("key"));
  PTDB_EXPECT_OK(unlocked->ChainLockRead("key"));
  PTDB_EXPECT_OK(unlocked->ChainLock("key"));
  PTDB_EXPECT_OK(unlocked->LockAll());
  PTDB_EXPECT_OK(unlocked->LockAllRead());
  PTDB_EXPECT_OK(unlocked->Store("key", "new"));
  PTDB_EXPECT_OK(unlocked->UnlockAll());
  PTDB_EXPECT_OK(unlocked->UnlockAllRead());
  PTDB_EXPECT_OK(unlocked->UnlockAllRead());
  PTDB_EXPECT_OK(unlocked->ChainUnlock("key"));
  PTDB_EXPECT_OK(unlocked->ChainUnlockRead("key"));
  PTDB_EXPECT_OK(unlocked->ChainUnlockRead("key"));
}

TEST_P(LockSemanticsTest, SecondHandleInTheSameThreadFailsInsteadOfHanging) {
  std::unique_ptr<Db> second;
  ASSERT_NO_FATAL_FAILURE(Open(&second));
  std::string value;
  PTDB_ASSERT_OK(db_->ChainLock("key"));
  EXPECT_EQ(second->Fetch("key", &value).code(), Error::kLock);
  EXPECT_EQ(second->Fetch(same_, &value).code(), Error::kLock);
  EXPECT_EQ(second->Store("key", "second").code(), Error::kLock);
  EXPECT_EQ(second->ChainLock("key").code(), Error::kLock);
  EXPECT_EQ(second->ChainLockRead("key").code(), Error::kLock);
  PTDB_EXPECT_OK(second->Store(other_, "second"));
  PTDB_ASSERT_OK(db_->ChainUnlock("key"));

  PTDB_EXPECT_OK(second->Fetch("key", &value));
  EXPECT_EQ(value, "value");
  PTDB_EXPECT_OK(second->ChainLock("key"));
  EXPECT_EQ(db_->Fetch("key", &value).code(), Error::kLock) << "the other way round";
  PTDB_EXPECT_OK(second->ChainUnlock("key"));

  PTDB_ASSERT_OK(db_->LockAll());
  EXPECT_EQ(second->Fetch(other_, &value).code(), Error::kLock);
  EXPECT_EQ(second->LockAllRead().code(), Error::kLock);
  PTDB_ASSERT_OK(db_->UnlockAll());
  PTDB_EXPECT_OK(second->Fetch(other_, &value));
  EXPECT_EQ(value, "second");
}

// A commit applies holding the groups it changed (kMutex; kFcntl takes allrecord), taken
// all at once when this thread holds nothing that ranks with them. Here another handle
// of this thread holds one: the commit must get the same answer a single lock call gives
// (kLock, never a wait on ourselves), and must not have happened.
TEST_P(LockSemanticsTest, CommitWhileAnotherHandleInThisThreadHoldsItsGroupIsRefused) {
  std::unique_ptr<Db> second;
  ASSERT_NO_FATAL_FAILURE(Open(&second));
  PTDB_ASSERT_OK(second->TransactionStart());
  PTDB_ASSERT_OK(second->Store("key", "second"));
  PTDB_ASSERT_OK(second->Store(other_, "second"));
  PTDB_ASSERT_OK(db_->ChainLockRead(same_));
  const Status st = second->TransactionCommit();
  EXPECT_EQ(st.code(), Error::kLock) << st.ToString();
  if (GetParam() == LockMode::kMutex) {
    EXPECT_NE(st.ToString().find("another handle"), std::string::npos) << st.ToString();
  }
  PTDB_ASSERT_OK(db_->ChainUnlockRead(same_));
  std::string value;
  PTDB_EXPECT_OK(second->Fetch("key", &value));
  EXPECT_EQ(value, "value");
  EXPECT_EQ(second->Fetch(other_, &value).code(), Error::kNoExist);
  // Nothing stays held: the same transaction commits now.
  PTDB_ASSERT_OK(second->TransactionStart());
  PTDB_ASSERT_OK(second->Store("key", "second"));
  PTDB_ASSERT_OK(second->Store(other_, "second"));
  PTDB_ASSERT_OK(second->TransactionCommit());
  PTDB_EXPECT_OK(db_->Fetch("key", &value));
  EXPECT_EQ(value, "second");
}

TEST_P(LockSemanticsTest, ClosingAHandleReleasesItsChainLock) {
  // The agent forks before this test opens anything more; SetUp's handle goes first.
  db_.reset();
  LockAgent agent;
  std::unique_ptr<Db> stays, closes;
  ASSERT_NO_FATAL_FAILURE(Open(&stays));  // keeps the file open in this process
  ASSERT_NO_FATAL_FAILURE(Open(&closes));
  const AgentReply opened = agent.Open(path_, AgentOpenOptions());
  ASSERT_TRUE(opened.ok()) << opened.ToString();

  PTDB_ASSERT_OK(closes->ChainLock("key"));
  ASSERT_TRUE(agent.Send(AgentOp::kChainLock, "key"));
  std::optional<AgentReply> early = agent.Poll(300);
  EXPECT_FALSE(early.has_value()) << "the agent locked a held group: " << early->ToString();
  closes.reset();
  const std::optional<AgentReply> locked = early ? early : agent.Poll(LockAgent::kAnswerMs);
  ASSERT_TRUE(locked.has_value()) << "the agent still waits after the holder closed";
  EXPECT_TRUE(locked->ok()) << locked->ToString();
  const AgentReply unlocked = agent.Do(AgentOp::kChainUnlock, "key");
  EXPECT_TRUE(unlocked.ok()) << unlocked.ToString();
  PTDB_EXPECT_OK(stays->ChainLock("key"));
  PTDB_EXPECT_OK(stays->ChainUnlock("key"));
}

TEST_P(LockSemanticsTest, ChildOfForkCannotUseInheritedLocks) {
  PTDB_ASSERT_OK(db_->ChainLock("key"));
  const std::string report = RunInChild([&] {
    std::string value, problems;
    problems += Expect("ChainUnlock", db_->ChainUnlock("key"), Error::kLock);
    problems += Expect("Fetch", db_->Fetch("key", &value), Error::kLock);
    problems += Expect("Store", db_->Store("key", "child"), Error::kLock);
    return problems;
  });
  EXPECT_EQ(report, "");
  // The parent's lock is still its own and intact.
  std::string value;
  PTDB_EXPECT_OK(db_->Store("key", "parent"));
  PTDB_EXPECT_OK(db_->ChainUnlock("key"));
  PTDB_EXPECT_OK(db_->Fetch("key", &value));
  EXPECT_EQ(value, "parent");
  PTDB_EXPECT_OK(db_->Check());
}

TEST_P(LockSemanticsTest, ChildOfForkCannotUseInheritedLockAll) {
  PTDB_ASSERT_OK(db_->LockAll());
  const std::string report = RunInChild([&] {
    std::string value, problems;
    problems += Expect("Fetch", db_->Fetch("key", &value), Error::kLock);
    problems += Expect("Store", db_->Store(other_, "child"), Error::kLock);
    problems += Expect("UnlockAll", db_->UnlockAll(), Error::kLock);
    return problems;
  });
  EXPECT_EQ(report, "");
  PTDB_EXPECT_OK(db_->UnlockAll());
  PTDB_EXPECT_OK(db_->Check());
}

TEST_P(LockSemanticsTest, ChildOfForkWithoutLocksUsesItsOwnHandle) {
  const std::string report = RunInChild([&] {
    std::unique_ptr<Db> mine;
    Options options;
    options.open_flags = O_RDWR;
    Status st = Db::Open(path_, options, &mine);
    if (!st.ok()) return "Open: " + st.ToString();
    std::string value, problems;
    problems += Expect("ChainLock", mine->ChainLock("key"), Error::kSuccess);
    problems += Expect("Fetch", mine->Fetch("key", &value), Error::kSuccess);
    problems += Expect("Store", mine->Store("key", value + "+child"), Error::kSuccess);
    problems += Expect("ChainUnlock", mine->ChainUnlock("key"), Error::kSuccess);
    problems += Expect("Store", mine->Store("child", "was here"), Error::kSuccess);
    problems += Expect("LockAll", mine->LockAll(), Error::kSuccess);
    problems += Expect("UnlockAll", mine->UnlockAll(), Error::kSuccess);
    problems += Expect("Check", mine->Check(), Error::kSuccess);
    return problems;
  });
  EXPECT_EQ(report, "");
  std::string value;
  PTDB_EXPECT_OK(db_->Fetch("key", &value));
  EXPECT_EQ(value, "value+child");
  PTDB_EXPECT_OK(db_->Fetch("child", &value));
  PTDB_EXPECT_OK(db_->ChainLock("key"));
  PTDB_EXPECT_OK(db_->ChainUnlock("key"));
  PTDB_EXPECT_OK(db_->Check());
}

INSTANTIATE_TEST_SUITE_P(Modes, LockSemanticsTest,
                         ::testing::Values(LockMode::kMutex, LockMode::kFcntl), ModeName);

}  // namespace
}  // namespace ptdb::test
