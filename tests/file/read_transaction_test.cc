// Read-only transactions between threads and processes: a reader sees one state across
// many reads, other readers go on, writers (plain stores, a write chainlock, a commit's
// apply) wait for it to end, a dead reader holds no one up, and the reader's own thread
// may not write. Also the writer gate seen through a write chainlock, and a store under
// a chainlock refused while a transaction waits for that chainlock. Every wait that
// must happen is shown by a flag the waiting thread sets after it returns, checked while
// the reason to wait still holds; every test runs under an alarm.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/support/lock_agent.h"
#include "tests/support/temp_dir.h"

namespace ptdb {
namespace {

using std::chrono::milliseconds;

class ReadTransactionTest : public ::testing::TestWithParam<LockMode> {
 protected:
  void SetUp() override {
    alarm(60);
    path_ = dir_.File("db.tdb");
    Options options = OptionsFor(O_RDWR | O_CREAT | O_TRUNC);
    PTDB_ASSERT_OK(Db::Open(path_, options, &reader_));
    PTDB_ASSERT_OK(reader_->Store("k", "old"));
    PTDB_ASSERT_OK(Db::Open(path_, OptionsFor(O_RDWR), &writer_));
  }
  void TearDown() override { alarm(0); }

  Options OptionsFor(int open_flags) const {
    Options options;
    options.open_flags = open_flags;
    options.lock_mode = GetParam();
    return options;
  }

  std::string Get(Db* db, const std::string& key) {
    std::string v;
    const Status s = db->Fetch(key, &v);
    return s.ok() ? v : s.ToString();
  }

  test::TempDir dir_;
  std::string path_;
  std::unique_ptr<Db> reader_, writer_;
};

TEST_P(ReadTransactionTest, APlainWriterWaitsAndTheReaderKeepsItsState) {
  PTDB_ASSERT_OK(reader_->ReadTransactionStart());
  EXPECT_EQ(Get(reader_.get(), "k"), "old");
  std::atomic<bool> stored{false};
  std::thread writer([&] {
    EXPECT_TRUE(writer_->Store("k", "new").ok());
    stored = true;
  });
  std::this_thread::sleep_for(milliseconds(150));
  EXPECT_FALSE(stored) << "a store went through during a read-only transaction";
  EXPECT_EQ(Get(reader_.get(), "k"), "old");
  PTDB_ASSERT_OK(reader_->ReadTransactionEnd());
  writer.join();
  EXPECT_TRUE(stored);
  EXPECT_EQ(Get(reader_.get(), "k"), "new");
  PTDB_EXPECT_OK(reader_->Check());
}

TEST_P(ReadTransactionTest, OtherReadersGoOn) {
  PTDB_ASSERT_OK(reader_->ReadTransactionStart());
  std::string seen;
  std::thread other([&] { seen = Get(writer_.get(), "k"); });
  other.join();  // under the alarm: a reader that waited would never get here
  EXPECT_EQ(seen, "old");
  PTDB_ASSERT_OK(reader_->ReadTransactionEnd());
}

TEST_P(ReadTransactionTest, AWriteTransactionStartsButCommitsAfterTheReader) {
  PTDB_ASSERT_OK(reader_->ReadTransactionStart());
  std::atomic<bool> staged{false}, committed{false};
  std::thread writer([&] {
    EXPECT_TRUE(writer_->TransactionStart().ok());
    EXPECT_TRUE(writer_->Store("k", "committed").ok());
    EXPECT_TRUE(writer_->Store("k2", "also").ok());
    staged = true;
    EXPECT_TRUE(writer_->TransactionCommit().ok());
    committed = true;
  });
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!staged && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  ASSERT_TRUE(staged) << "the write transaction could not start and write";
  std::this_thread::sleep_for(milliseconds(150));
  EXPECT_FALSE(committed) << "a commit was applied during a read-only transaction";
  EXPECT_EQ(Get(reader_.get(), "k"), "old");
  EXPECT_EQ(reader_->Fetch("k2", nullptr).code(), Error::kNoExist);
  PTDB_ASSERT_OK(reader_->ReadTransactionEnd());
  writer.join();
  EXPECT_EQ(Get(reader_.get(), "k"), "committed");
  EXPECT_EQ(Get(reader_.get(), "k2"), "also");
}

TEST_P(ReadTransactionTest, TheReadersThreadMayNotWrite) {
  PTDB_ASSERT_OK(reader_->ReadTransactionStart());
  EXPECT_EQ(reader_->Store("k", "x").code(), Error::kEinval);
  EXPECT_EQ(reader_->Delete("k").code(), Error::kEinval);
  EXPECT_EQ(reader_->TransactionStart().code(), Error::kEinval);
  EXPECT_EQ(reader_->ReadTransactionStart().code(), Error::kEinval);
  // Through another handle it would wait for itself: refused instead.
  EXPECT_EQ(writer_->Store("k", "x").code(), Error::kLock);
  PTDB_ASSERT_OK(reader_->ReadTransactionEnd());
  EXPECT_EQ(reader_->ReadTransactionEnd().code(), Error::kEinval);
  PTDB_EXPECT_OK(reader_->Store("k", "x"));
  PTDB_ASSERT_OK(reader_->TransactionStart());
  EXPECT_EQ(reader_->ReadTransactionStart().code(), Error::kEinval);
  PTDB_ASSERT_OK(reader_->TransactionCancel());
}

TEST_P(ReadTransactionTest, AReaderInAnotherProcessHoldsWritersAndItsDeathFreesThem) {
  for (bool dies : {false, true}) {
    int ready[2], go[2];
    ASSERT_EQ(pipe(ready), 0);
    ASSERT_EQ(pipe(go), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      alarm(30);
      reader_.release();  // the parent's handles; this process opens its own
      writer_.release();
      std::unique_ptr<Db> mine;
      char c;
      // A read-only handle can hold one in a kMutex file (it writes the mutex area);
      // in a kFcntl file it cannot write at all.
      const int flags = GetParam() == LockMode::kMutex ? O_RDONLY : O_RDWR;
      if (!Db::Open(path_, OptionsFor(flags), &mine).ok()) _exit(10);
      if (!mine->ReadTransactionStart().ok()) _exit(11);
      if (write(ready[1], "r", 1) != 1) _exit(12);
      if (read(go[0], &c, 1) != 1) _exit(13);
      if (!mine->ReadTransactionEnd().ok()) _exit(14);
      _exit(0);
    }
    close(ready[1]);  // so a child that fails early gives end of file, not a hang
    char c;
    ASSERT_EQ(read(ready[0], &c, 1), 1) << "the child could not start its transaction";
    std::atomic<bool> stored{false};
    std::thread writer([&] {
      EXPECT_TRUE(writer_->Store("k", dies ? "after death" : "after end").ok());
      stored = true;
    });
    std::this_thread::sleep_for(milliseconds(150));
    EXPECT_FALSE(stored) << "a store went through during another process's read transaction";
    if (dies) {
      kill(child, SIGKILL);
    } else {
      ASSERT_EQ(write(go[1], "g", 1), 1);
    }
    writer.join();
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    if (!dies) {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    }
    EXPECT_EQ(Get(reader_.get(), "k"), dies ? "after death" : "after end");
    for (int fd : {ready[0], go[0], go[1]}) close(fd);
  }
}

// In a process that has the file open read-only and nothing else (in-process, handles
// share one descriptor and a read-write one lends its writability).
TEST_P(ReadTransactionTest, AReadOnlyProcessOfAFcntlFileCannotHoldOne) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(30);
    reader_.release();
    writer_.release();
    std::unique_ptr<Db> ro;
    if (!Db::Open(path_, OptionsFor(O_RDONLY), &ro).ok()) _exit(10);
    const Status s = ro->ReadTransactionStart();
    if (GetParam() == LockMode::kFcntl) _exit(s.code() == Error::kRdonly ? 0 : 11);
    if (!s.ok() || Get(ro.get(), "k") != "old" || !ro->ReadTransactionEnd().ok()) _exit(12);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
}

// The writer gate: a write chainlock taken while another handle's transaction is open
// must wait for it, or the stores made under it would change the file under the
// transaction.
TEST_P(ReadTransactionTest, AWriteChainlockWaitsForAnOpenTransaction) {
  PTDB_ASSERT_OK(reader_->TransactionStart());
  PTDB_ASSERT_OK(reader_->Store("t", "in the transaction"));
  std::atomic<bool> locked{false};
  std::thread other([&] {
    EXPECT_TRUE(writer_->ChainLock("k").ok());
    locked = true;
    EXPECT_TRUE(writer_->Store("k", "under the chainlock").ok());
    EXPECT_TRUE(writer_->ChainUnlock("k").ok());
  });
  std::this_thread::sleep_for(milliseconds(150));
  EXPECT_FALSE(locked) << "a write chainlock was granted inside another's transaction";
  PTDB_ASSERT_OK(reader_->TransactionCommit());
  other.join();
  EXPECT_EQ(Get(reader_.get(), "k"), "under the chainlock");
  EXPECT_EQ(Get(reader_.get(), "t"), "in the transaction");
  PTDB_EXPECT_OK(reader_->Check());
}

TEST_P(ReadTransactionTest, AStoreUnderAChainlockWhileATransactionWaitsToStartIsRefused) {
  // A transaction closes the writer gate, then waits for every group, the chainlock's
  // too. A store under the chainlock into a later group must fail at once: waiting for
  // the transaction, which waits for the chainlock, would never end.
  std::string held, later;
  for (int i = 0; held.empty() || later.empty(); i++) {
    const std::string key = "key" + std::to_string(i);
    const unsigned group = test::HashGroupOf(path_, key);
    if (held.empty() && group < 64) {
      held = key;
    } else if (!held.empty() && group > test::HashGroupOf(path_, held)) {
      later = key;
    }
  }
  PTDB_ASSERT_OK(writer_->ChainLock(held));
  std::atomic<bool> started{false};
  std::thread tx([&] {
    EXPECT_TRUE(reader_->TransactionStart().ok());
    started = true;
    EXPECT_TRUE(reader_->TransactionCommit().ok());
  });
  std::this_thread::sleep_for(milliseconds(150));
  EXPECT_FALSE(started) << "a transaction started while another handle held a group";
  const Status st = writer_->Store(later, "refused");
  EXPECT_EQ(st.code(), Error::kLock) << st.ToString();
  EXPECT_NE(st.message().find("transaction is in progress"), std::string_view::npos)
      << st.ToString();
  PTDB_ASSERT_OK(writer_->ChainUnlock(held));
  tx.join();
  EXPECT_TRUE(started);
  EXPECT_TRUE(reader_->Fetch(later, nullptr).IsNoExist());
  PTDB_EXPECT_OK(reader_->Check());
}

INSTANTIATE_TEST_SUITE_P(LockModes, ReadTransactionTest,
                         ::testing::Values(LockMode::kMutex, LockMode::kFcntl),
                         [](const ::testing::TestParamInfo<LockMode>& info) {
                           return info.param == LockMode::kMutex ? "Mutex" : "Fcntl";
                         });

}  // namespace
}  // namespace ptdb
