// The open hook runs under the open lock, before the header is read: another process
// opening the file waits for it, and a hook may empty the file to have it created afresh,
// which is how TDB1's CLEAR_IF_FIRST is emulated (ClearIfFirstHook, as ccan tdb2's tests).
#include <fcntl.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/support/lock_agent.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

// An agent that has not answered in this long is taken to be waiting for the open lock.
constexpr int kWaitingMs = 300;
// Past this an open in this process never returned: the test fails instead of hanging.
constexpr unsigned kTestLifeSeconds = 120;

std::string ModeName(const ::testing::TestParamInfo<LockMode>& info) {
  return info.param == LockMode::kMutex ? "Mutex" : "Fcntl";
}

class OpenHookTest : public ::testing::TestWithParam<LockMode> {
 protected:
  // The database exists, with "old" in it, and is closed; the agent has forked.
  void SetUp() override {
    SetTestDeadline(kTestLifeSeconds);
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(Db::Open(path_, OptionsFor(O_RDWR | O_CREAT), &db));
    PTDB_ASSERT_OK(db->Store("old", "data"));
  }

  void TearDown() override { SetTestDeadline(0); }

  Options OptionsFor(int open_flags) const {
    Options options;
    options.open_flags = open_flags;
    options.lock_mode = GetParam();
    return options;
  }

  AgentOpenOptions ClearIfFirst() const {
    AgentOpenOptions o;
    o.clear_if_first = true;
    o.lock_mode = GetParam();
    return o;
  }

  TempDir dir_;
  const std::string path_ = dir_.File("db.tdb");
  LockAgent agent_;
};

TEST_P(OpenHookTest, AnotherProcessesOpenWaitsForTheHook) {
  int calls = 0, hook_fd = -1;
  std::optional<AgentReply> during;
  Options options = OptionsFor(O_RDWR);
  options.open_hook = [&](int fd) {
    calls++;
    hook_fd = fd;
    EXPECT_TRUE(agent_.SendOpen(path_, AgentOpenOptions()));
    during = agent_.Poll(kWaitingMs);
    return Status::OK();
  };
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(path_, options, &db));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(hook_fd, db->Fd());
  EXPECT_FALSE(during.has_value()) << "the agent opened while the hook ran: " << during->ToString();
  const std::optional<AgentReply> after = during ? during : agent_.Poll(LockAgent::kAnswerMs);
  ASSERT_TRUE(after.has_value()) << "the agent's open never finished";
  EXPECT_TRUE(after->ok()) << after->ToString();
  const AgentReply fetched = agent_.Do(AgentOp::kFetch, "old");
  EXPECT_TRUE(fetched.ok()) << fetched.ToString();
  EXPECT_EQ(fetched.data, "data");
}

TEST_P(OpenHookTest, AFailingHookFailsTheOpenAndReleasesTheOpenLock) {
  Options options = OptionsFor(O_RDWR);
  options.open_hook = [](int) { return Status(Error::kIo, "the hook says no"); };
  std::unique_ptr<Db> db;
  EXPECT_EQ(Db::Open(path_, options, &db).code(), Error::kIo);
  EXPECT_EQ(db, nullptr);
  const AgentReply opened = agent_.Open(path_, AgentOpenOptions());
  EXPECT_TRUE(opened.ok()) << opened.ToString();
}

TEST_P(OpenHookTest, ClearIfFirstClearsForTheFirstOpenerOnly) {
  Options options = OptionsFor(O_RDWR);
  options.open_hook = ClearIfFirstHook;
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(path_, options, &db));
  std::string value;
  EXPECT_TRUE(db->Fetch("old", &value).IsNoExist()) << "the first opener did not clear";
  PTDB_ASSERT_OK(db->Store("new", "first"));

  // Not first: the agent sees what the first opener wrote.
  const AgentReply opened = agent_.Open(path_, ClearIfFirst());
  ASSERT_TRUE(opened.ok()) << opened.ToString();
  const AgentReply fetched = agent_.Do(AgentOp::kFetch, "new");
  EXPECT_TRUE(fetched.ok()) << fetched.ToString();
  EXPECT_EQ(fetched.data, "first");
  const AgentReply stored = agent_.Do(AgentOp::kStore, "agent", "second");
  EXPECT_TRUE(stored.ok()) << stored.ToString();
  PTDB_EXPECT_OK(db->Fetch("agent", &value));

  // The agent keeps the file open, so reopening here is not first either.
  db.reset();
  PTDB_ASSERT_OK(Db::Open(path_, options, &db));
  PTDB_EXPECT_OK(db->Fetch("new", &value));
  EXPECT_EQ(value, "first");
  PTDB_EXPECT_OK(db->Check());

  // Everyone gone: the next opener is first again.
  const AgentReply closed = agent_.Do(AgentOp::kClose);
  EXPECT_TRUE(closed.ok()) << closed.ToString();
  db.reset();
  PTDB_ASSERT_OK(Db::Open(path_, options, &db));
  EXPECT_TRUE(db->Fetch("new", &value).IsNoExist()) << "the database survived its last close";
  EXPECT_TRUE(db->Fetch("agent", &value).IsNoExist());
  PTDB_EXPECT_OK(db->Check());
}

// The hook's read lock on byte 4 is a POSIX lock of this process: opening the file a
// second time here must not lose it (as closing any descriptor of the file would), or the
// next process to open believes it is first and empties a database in use.
TEST_P(OpenHookTest, ClearIfFirstSurvivesASecondOpenInThisProcess) {
  Options options = OptionsFor(O_RDWR);
  options.open_hook = ClearIfFirstHook;
  std::unique_ptr<Db> db, second;
  PTDB_ASSERT_OK(Db::Open(path_, options, &db));
  PTDB_ASSERT_OK(db->Store("new", "first"));
  PTDB_ASSERT_OK(Db::Open(path_, OptionsFor(O_RDWR), &second));

  const AgentReply opened = agent_.Open(path_, ClearIfFirst());
  ASSERT_TRUE(opened.ok()) << opened.ToString();
  const AgentReply fetched = agent_.Do(AgentOp::kFetch, "new");
  EXPECT_TRUE(fetched.ok()) << "the agent cleared a database in use: " << fetched.ToString();
  std::string value;
  PTDB_EXPECT_OK(db->Fetch("new", &value));
}

INSTANTIATE_TEST_SUITE_P(Modes, OpenHookTest, ::testing::Values(LockMode::kMutex, LockMode::kFcntl),
                         ModeName);

}  // namespace
}  // namespace ptdb::test
