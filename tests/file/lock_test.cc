// Several processes on one database file, in both lock modes: the allrecord lock and
// chain locks keep other processes out (and only as far as they should), a holder killed
// with a lock held does not wedge the others, and readers follow another process's growth.
// The other processes are LockAgents (tests/support/lock_agent.h): an agent whose answer
// has not come is waiting for a lock.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
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

// An agent that has not answered in this long is taken to be waiting for a lock. Too short
// a time only hides a missing wait; a correct run never answers early.
constexpr int kWaitingMs = 300;
// Past this a lock wait in this process never ended: the test fails instead of hanging.
constexpr unsigned kTestLifeSeconds = 120;

#define EXPECT_AGENT_OK(expr)                                                   \
  do {                                                                          \
    const ::ptdb::test::AgentReply agent_reply_ = (expr);                       \
    EXPECT_TRUE(agent_reply_.ok()) << #expr << ": " << agent_reply_.ToString(); \
  } while (0)

// Sends a command that must wait for a lock this process holds: no answer may come within
// kWaitingMs. An early answer (already reported as a failure) is returned, so that
// AnswerAfterRelease does not wait for it again.
std::optional<AgentReply> SendExpectingWait(LockAgent* agent, AgentOp op, std::string_view key,
                                            std::string_view data = {}) {
  EXPECT_TRUE(agent->Send(op, key, data));
  std::optional<AgentReply> early = agent->Poll(kWaitingMs);
  EXPECT_FALSE(early.has_value()) << "the agent answered (" << early->ToString()
                                  << ") while the lock was held";
  return early;
}

// The answer to a command SendExpectingWait sent, once the lock is free.
AgentReply AnswerAfterRelease(LockAgent* agent, const std::optional<AgentReply>& early) {
  if (early) return *early;
  std::optional<AgentReply> reply = agent->Poll(LockAgent::kAnswerMs);
  if (reply) return *reply;
  AgentReply none;
  none.died = true;
  return none;
}

std::string ModeName(const ::testing::TestParamInfo<LockMode>& info) {
  return info.param == LockMode::kMutex ? "Mutex" : "Fcntl";
}

class LockTest : public ::testing::TestWithParam<LockMode> {
 protected:
  // The database exists, with "key" in it, and this process has no handle on it: agents
  // may fork (tests/support/lock_agent.h).
  void SetUp() override {
    SetTestDeadline(kTestLifeSeconds);
    Options options;
    options.open_flags = O_RDWR | O_CREAT;
    options.lock_mode = GetParam();
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(Db::Open(path_, options, &db));
    PTDB_ASSERT_OK(db->Store("key", "v0"));
    db.reset();
    const bool mutex = (FeaturesUsed(path_) & format::kFeatureMutexLocks) != 0;
    ASSERT_EQ(mutex, GetParam() == LockMode::kMutex) << "the file records the wrong lock mode";
  }

  void TearDown() override { SetTestDeadline(0); }

  void OpenAgent(LockAgent* agent) {
    const AgentReply r = agent->Open(path_, AgentOpenOptions());
    ASSERT_TRUE(r.ok()) << "agent open: " << r.ToString();
  }

  void OpenHere(std::unique_ptr<Db>* db) {
    Options options;
    options.open_flags = O_RDWR;
    PTDB_ASSERT_OK(Db::Open(path_, options, db));
  }

  TempDir dir_;
  const std::string path_ = dir_.File("db.tdb");
};

TEST_P(LockTest, LockAllBlocksAnotherProcessesStoreUntilUnlockAll) {
  LockAgent agent;
  ASSERT_NO_FATAL_FAILURE(OpenAgent(&agent));
  std::unique_ptr<Db> db;
  ASSERT_NO_FATAL_FAILURE(OpenHere(&db));

  PTDB_ASSERT_OK(db->LockAll());
  const auto early = SendExpectingWait(&agent, AgentOp::kStore, "key", "v1");
  PTDB_ASSERT_OK(db->UnlockAll());
  EXPECT_AGENT_OK(AnswerAfterRelease(&agent, early));

  std::string value;
  PTDB_ASSERT_OK(db->Fetch("key", &value));
  EXPECT_EQ(value, "v1");
  EXPECT_AGENT_OK(agent.Do(AgentOp::kCheck));
}

TEST_P(LockTest, LockAllNestsAcrossProcesses) {
  LockAgent agent;
  ASSERT_NO_FATAL_FAILURE(OpenAgent(&agent));
  std::unique_ptr<Db> db;
  ASSERT_NO_FATAL_FAILURE(OpenHere(&db));

  PTDB_ASSERT_OK(db->LockAll());
  PTDB_ASSERT_OK(db->LockAll());
  const auto early = SendExpectingWait(&agent, AgentOp::kStore, "key", "v1");
  PTDB_ASSERT_OK(db->UnlockAll());
  // One level is still held.
  std::optional<AgentReply> still = early ? early : agent.Poll(kWaitingMs);
  EXPECT_FALSE(still.has_value()) << "answered after one of two UnlockAll: " << still->ToString();
  PTDB_ASSERT_OK(db->UnlockAll());
  EXPECT_AGENT_OK(AnswerAfterRelease(&agent, still));
  EXPECT_EQ(db->UnlockAll().code(), Error::kLock) << "an UnlockAll with nothing held";
}

TEST_P(LockTest, LockAllReadLetsAnotherProcessFetchButNotStore) {
  LockAgent agent;
  ASSERT_NO_FATAL_FAILURE(OpenAgent(&agent));
  std::unique_ptr<Db> db;
  ASSERT_NO_FATAL_FAILURE(OpenHere(&db));

  PTDB_ASSERT_OK(db->LockAllRead());
  // Under kMutex the fetch takes no lock at all (a read lock changes no group's count);
  // under kFcntl it shares the byte range.
  const AgentReply fetched = agent.Do(AgentOp::kFetch, "key");
  EXPECT_TRUE(fetched.ok()) << fetched.ToString();
  EXPECT_EQ(fetched.data, "v0");
  const auto early = SendExpectingWait(&agent, AgentOp::kStore, "key", "v1");
  PTDB_ASSERT_OK(db->UnlockAllRead());
  EXPECT_AGENT_OK(AnswerAfterRelease(&agent, early));
  std::string value;
  PTDB_ASSERT_OK(db->Fetch("key", &value));
  EXPECT_EQ(value, "v1");
}

TEST_P(LockTest, ChainLockBlocksItsGroupOnly) {
  const std::string same = KeyInGroupOf(path_, "key");
  const std::string other = KeyOutsideGroupOf(path_, "key");
  LockAgent agent;
  ASSERT_NO_FATAL_FAILURE(OpenAgent(&agent));
  std::unique_ptr<Db> db, second;
  ASSERT_NO_FATAL_FAILURE(OpenHere(&db));
  ASSERT_NO_FATAL_FAILURE(OpenHere(&second));

  PTDB_ASSERT_OK(db->ChainLock("key"));
  // The keys were chosen by hash; a second handle in this thread, which fails at once on a
  // group the first one holds, confirms the choice.
  EXPECT_EQ(second->ChainLock(same).code(), Error::kLock) << same << " should share the group";
  PTDB_EXPECT_OK(second->ChainLock(other));
  PTDB_EXPECT_OK(second->ChainUnlock(other));

  EXPECT_AGENT_OK(agent.Do(AgentOp::kStore, other, "other"));
  const auto early = SendExpectingWait(&agent, AgentOp::kStore, same, "same");
  PTDB_ASSERT_OK(db->ChainUnlock("key"));
  EXPECT_AGENT_OK(AnswerAfterRelease(&agent, early));

  std::string value;
  PTDB_ASSERT_OK(db->Fetch(same, &value));
  EXPECT_EQ(value, "same");
  PTDB_ASSERT_OK(db->Fetch(other, &value));
  EXPECT_EQ(value, "other");
}

// In kFcntl mode a store may release its group's byte and its free zone's byte with one
// unlock over every byte between them (the groups after its own among them): a chain lock
// another thread of this process holds on such a group must survive the stores, so
// another process's store to it still waits.
TEST_P(LockTest, StoresLeaveAnotherThreadsChainLockHeld) {
  std::string high;
  for (int i = 0; high.empty(); i++) {
    const std::string k = "high" + std::to_string(i);
    if (HashGroupOf(path_, k) >= format::kTopGroups - 8) high = k;
  }
  const unsigned high_group = HashGroupOf(path_, high);
  // Chosen now: HashGroupOf reads the file through a descriptor of its own, and closing
  // it would drop every POSIX lock this process holds on the file.
  std::vector<std::string> low;
  for (int i = 0; low.size() < 300; i++) {
    std::string k = "low" + std::to_string(i);
    if (HashGroupOf(path_, k) < high_group) low.push_back(std::move(k));
  }
  LockAgent agent;
  ASSERT_NO_FATAL_FAILURE(OpenAgent(&agent));
  std::unique_ptr<Db> db;
  ASSERT_NO_FATAL_FAILURE(OpenHere(&db));

  std::mutex mu;
  std::condition_variable cv;
  int step = 0;  // 1: the chain lock is held; 2: it may go
  auto advance = [&](int to) {
    std::lock_guard<std::mutex> g(mu);
    step = to;
    cv.notify_all();
  };
  auto await = [&](int at) {
    std::unique_lock<std::mutex> g(mu);
    cv.wait(g, [&] { return step >= at; });
  };
  std::thread holder([&] {
    PTDB_EXPECT_OK(db->ChainLock(high));
    advance(1);
    await(2);
    PTDB_EXPECT_OK(db->ChainUnlock(high));
  });
  await(1);
  for (const std::string& k : low) PTDB_EXPECT_OK(db->Store(k, std::string(100, 'x')));
  const auto early = SendExpectingWait(&agent, AgentOp::kStore, high, "agent");
  advance(2);
  holder.join();
  EXPECT_AGENT_OK(AnswerAfterRelease(&agent, early));
  EXPECT_AGENT_OK(agent.Do(AgentOp::kCheck));
}

// A chain lock is TDB's read-modify-write: another process must not read the record
// halfway. Under kMutex its fetch, which usually takes no lock, finds the group's change
// count odd and waits for the lock like any reader.
TEST_P(LockTest, ChainLockMakesAnotherProcessesFetchWait) {
  LockAgent agent;
  ASSERT_NO_FATAL_FAILURE(OpenAgent(&agent));
  std::unique_ptr<Db> db;
  ASSERT_NO_FATAL_FAILURE(OpenHere(&db));

  PTDB_ASSERT_OK(db->ChainLock("key"));
  const auto early = SendExpectingWait(&agent, AgentOp::kFetch, "key");
  PTDB_ASSERT_OK(db->Store("key", "v1"));
  PTDB_ASSERT_OK(db->ChainUnlock("key"));
  const AgentReply fetched = AnswerAfterRelease(&agent, early);
  EXPECT_TRUE(fetched.ok()) << fetched.ToString();
  EXPECT_EQ(fetched.data, "v1");
}

TEST_P(LockTest, ChainLockReadBlocksAnotherProcessesStoreToItsGroup) {
  const std::string same = KeyInGroupOf(path_, "key");
  LockAgent agent;
  ASSERT_NO_FATAL_FAILURE(OpenAgent(&agent));
  std::unique_ptr<Db> db;
  ASSERT_NO_FATAL_FAILURE(OpenHere(&db));

  PTDB_ASSERT_OK(db->ChainLockRead("key"));
  const auto early = SendExpectingWait(&agent, AgentOp::kStore, same, "same");
  PTDB_ASSERT_OK(db->ChainUnlockRead("key"));
  EXPECT_AGENT_OK(AnswerAfterRelease(&agent, early));
}

TEST_P(LockTest, KilledChainLockHolderDoesNotWedgeItsWaiter) {
  LockAgent holder, waiter;
  ASSERT_NO_FATAL_FAILURE(OpenAgent(&holder));
  ASSERT_NO_FATAL_FAILURE(OpenAgent(&waiter));

  EXPECT_AGENT_OK(holder.Do(AgentOp::kChainLock, "key"));
  const auto early = SendExpectingWait(&waiter, AgentOp::kStore, "key", "after");
  holder.Kill();
  // kMutex: the waiter inherits the dead holder's mutex; kFcntl: the kernel dropped its lock.
  EXPECT_AGENT_OK(AnswerAfterRelease(&waiter, early));
  EXPECT_AGENT_OK(waiter.Do(AgentOp::kChainLock, "key"));
  EXPECT_AGENT_OK(waiter.Do(AgentOp::kChainUnlock, "key"));
  EXPECT_AGENT_OK(waiter.Do(AgentOp::kClose));

  std::unique_ptr<Db> db;
  ASSERT_NO_FATAL_FAILURE(OpenHere(&db));
  std::string value;
  PTDB_ASSERT_OK(db->Fetch("key", &value));
  EXPECT_EQ(value, "after");
  PTDB_EXPECT_OK(db->Check());
}

TEST_P(LockTest, KilledHoldersDoNotWedgeTheNextLocker) {
  LockAgent chain_holder, all_holder;
  ASSERT_NO_FATAL_FAILURE(OpenAgent(&chain_holder));
  ASSERT_NO_FATAL_FAILURE(OpenAgent(&all_holder));
  // Open throughout, so the file always has a user and nothing is reset behind the kills.
  std::unique_ptr<Db> db;
  ASSERT_NO_FATAL_FAILURE(OpenHere(&db));

  EXPECT_AGENT_OK(chain_holder.Do(AgentOp::kChainLock, "key"));
  chain_holder.Kill();
  PTDB_EXPECT_OK(db->ChainLock("key"));
  PTDB_EXPECT_OK(db->Store("key", "mine"));
  PTDB_EXPECT_OK(db->ChainUnlock("key"));

  EXPECT_AGENT_OK(all_holder.Do(AgentOp::kLockAll));
  all_holder.Kill();
  PTDB_EXPECT_OK(db->Store("key", "after lockall"));
  PTDB_EXPECT_OK(db->Store(KeyOutsideGroupOf(path_, "key"), "elsewhere"));
  PTDB_EXPECT_OK(db->LockAll());
  PTDB_EXPECT_OK(db->UnlockAll());
  std::string value;
  PTDB_EXPECT_OK(db->Fetch("key", &value));
  EXPECT_EQ(value, "after lockall");
  PTDB_EXPECT_OK(db->Check());
}

TEST_P(LockTest, ReadersFollowGrowthByAnotherProcess) {
  constexpr uint64_t kGrowth = 32 << 20;
  auto value_of = [](unsigned i) {
    return std::string(16384, char('a' + i % 26)) + "#" + std::to_string(i);
  };
  LockAgent writer, reader;
  ASSERT_NO_FATAL_FAILURE(OpenAgent(&writer));
  ASSERT_NO_FATAL_FAILURE(OpenAgent(&reader));
  std::unique_ptr<Db> db;
  ASSERT_NO_FATAL_FAILURE(OpenHere(&db));
  // Both readers have looked at the small file before it grows.
  const AgentReply before = reader.Do(AgentOp::kFetch, "key");
  ASSERT_TRUE(before.ok()) << before.ToString();
  std::string value;
  PTDB_ASSERT_OK(db->Fetch("key", &value));

  const uint64_t start = FileSize(path_);
  unsigned n = 0;
  while (FileSize(path_) < start + kGrowth) {
    const AgentReply r = writer.Do(AgentOp::kStore, "grown-" + std::to_string(n), value_of(n));
    ASSERT_TRUE(r.ok()) << "store " << n << ": " << r.ToString();
    n++;
  }

  for (unsigned i = 0; i < n; i++) {
    const std::string key = "grown-" + std::to_string(i);
    const AgentReply r = reader.Do(AgentOp::kFetch, key);
    ASSERT_TRUE(r.ok()) << "agent fetch " << key << ": " << r.ToString();
    ASSERT_EQ(r.data, value_of(i)) << key;
    PTDB_ASSERT_OK(db->Fetch(key, &value));
    ASSERT_EQ(value, value_of(i)) << key;
  }
  const AgentReply count = reader.Do(AgentOp::kTraverse);
  ASSERT_TRUE(count.ok()) << count.ToString();
  EXPECT_EQ(count.data, std::to_string(n + 1));
  EXPECT_AGENT_OK(reader.Do(AgentOp::kCheck));
  PTDB_EXPECT_OK(db->Check());
}

// POSIX locks belong to the process and go when it closes ANY descriptor of the file, so
// a second open of a file this process has open must not cost it the locks it holds
// (design: "TDB Files Cannot Be Opened Multiple Times").
TEST_P(LockTest, SecondOpenInThisProcessKeepsItsLocks) {
  LockAgent agent;
  std::unique_ptr<Db> db, second;
  ASSERT_NO_FATAL_FAILURE(OpenHere(&db));
  PTDB_ASSERT_OK(db->ChainLock("key"));
  ASSERT_NO_FATAL_FAILURE(OpenHere(&second));
  // The agent forked before this process opened the file, and opens it now: a newcomer.
  ASSERT_NO_FATAL_FAILURE(OpenAgent(&agent));
  const auto early = SendExpectingWait(&agent, AgentOp::kStore, "key", "agent");
  PTDB_ASSERT_OK(db->ChainUnlock("key"));
  EXPECT_AGENT_OK(AnswerAfterRelease(&agent, early));
}

INSTANTIATE_TEST_SUITE_P(Modes, LockTest, ::testing::Values(LockMode::kMutex, LockMode::kFcntl),
                         ModeName);

// An agent whose lock hooks never wait (kFcntl only): contention shows as "would block".
class NonBlockingAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetTestDeadline(kTestLifeSeconds);
    Options options;
    options.open_flags = O_RDWR | O_CREAT;
    options.lock_mode = LockMode::kFcntl;
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(Db::Open(path_, options, &db));
    PTDB_ASSERT_OK(db->Store("key", "v0"));
    db.reset();
    AgentOpenOptions agent_options;
    agent_options.nonblocking = true;
    const AgentReply r = agent_.Open(path_, agent_options);
    ASSERT_TRUE(r.ok()) << r.ToString();
    options.open_flags = O_RDWR;
    PTDB_ASSERT_OK(Db::Open(path_, options, &db_));
  }

  void TearDown() override { SetTestDeadline(0); }

  void ExpectWouldBlock(AgentOp op, std::string_view key, std::string_view data = {}) {
    const AgentReply r = agent_.Do(op, key, data);
    EXPECT_FALSE(r.died);
    EXPECT_EQ(r.code, Error::kLock) << r.ToString();
    EXPECT_TRUE(r.would_block) << r.ToString();
  }

  TempDir dir_;
  const std::string path_ = dir_.File("db.tdb");
  LockAgent agent_;  // forks before db_ opens
  std::unique_ptr<Db> db_;
};

TEST_F(NonBlockingAgentTest, LockAllMakesEveryAccessWouldBlock) {
  PTDB_ASSERT_OK(db_->LockAll());
  ExpectWouldBlock(AgentOp::kStore, "key", "v1");
  ExpectWouldBlock(AgentOp::kFetch, "key");
  ExpectWouldBlock(AgentOp::kDelete, "key");
  ExpectWouldBlock(AgentOp::kChainLock, "key");
  ExpectWouldBlock(AgentOp::kLockAll, "");
  PTDB_ASSERT_OK(db_->UnlockAll());
  EXPECT_AGENT_OK(agent_.Do(AgentOp::kStore, "key", "v1"));
}

TEST_F(NonBlockingAgentTest, LockAllReadLetsFetchesThrough) {
  PTDB_ASSERT_OK(db_->LockAllRead());
  const AgentReply fetched = agent_.Do(AgentOp::kFetch, "key");
  EXPECT_TRUE(fetched.ok()) << fetched.ToString();
  EXPECT_EQ(fetched.data, "v0");
  EXPECT_AGENT_OK(agent_.Do(AgentOp::kLockAllRead));
  EXPECT_AGENT_OK(agent_.Do(AgentOp::kUnlockAllRead));
  ExpectWouldBlock(AgentOp::kStore, "key", "v1");
  ExpectWouldBlock(AgentOp::kLockAll, "");
  PTDB_ASSERT_OK(db_->UnlockAllRead());
  EXPECT_AGENT_OK(agent_.Do(AgentOp::kStore, "key", "v1"));
}

TEST_F(NonBlockingAgentTest, ChainLockMakesItsGroupWouldBlock) {
  const std::string same = KeyInGroupOf(path_, "key");
  const std::string other = KeyOutsideGroupOf(path_, "key");
  PTDB_ASSERT_OK(db_->ChainLock("key"));
  ExpectWouldBlock(AgentOp::kStore, same, "same");
  ExpectWouldBlock(AgentOp::kFetch, "key");
  ExpectWouldBlock(AgentOp::kChainLockRead, same);
  ExpectWouldBlock(AgentOp::kLockAll, "");
  EXPECT_AGENT_OK(agent_.Do(AgentOp::kStore, other, "other"));
  EXPECT_AGENT_OK(agent_.Do(AgentOp::kChainLock, other));
  EXPECT_AGENT_OK(agent_.Do(AgentOp::kChainUnlock, other));
  PTDB_ASSERT_OK(db_->ChainUnlock("key"));
  EXPECT_AGENT_OK(agent_.Do(AgentOp::kStore, same, "same"));
  // What the agent stored while refused elsewhere is whole.
  EXPECT_AGENT_OK(agent_.Do(AgentOp::kCheck));
}

}  // namespace
}  // namespace ptdb::test
