// Fetch and exists read without the key's group lock, and check the group's change count
// afterwards (docs/locking.md, "Reads without a lock"): kMutex files keep the counts in
// the mutex slots, kFcntl files in header pairs. These tests show when that path is taken
// and when not, and race it against writers in another thread and in another process: a
// reader must only ever see a value some writer stored whole, or no record.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "common/errors.h"
#include "common/format.h"
#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/support/lock_agent.h"
#include "tests/support/named_hash.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tsan_options.h"

namespace ptdb::test {
namespace {

constexpr unsigned kTestLifeSeconds = 120;

// The i-th key of top-level group 0 (the top 7 hash bits zero, the rest spread).
std::string GroupZeroKey(uint64_t i) {
  return KeyFor((i + 1) * 0x9E3779B97F4A7C15ULL >> format::kTopGroupBits);
}

Stats StatsOf(Db* db) {
  Stats s;
  EXPECT_TRUE(db->GetStats(&s).ok());
  return s;
}

class UnlockedReadTest : public ::testing::TestWithParam<LockMode> {
 protected:
  void SetUp() override { SetTestDeadline(kTestLifeSeconds); }
  void TearDown() override { SetTestDeadline(0); }

  void Create(LockMode mode, std::unique_ptr<Db>* db) {
    Options options;
    options.hash = NamedHash;
    options.open_flags = O_RDWR | O_CREAT;
    options.lock_mode = mode;
    PTDB_ASSERT_OK(Db::Open(path_, options, db));
  }
  void Reopen(std::unique_ptr<Db>* db, unsigned flags = kDefault) {
    Options options;
    options.hash = NamedHash;
    options.open_flags = O_RDWR;
    options.flags = flags;
    PTDB_ASSERT_OK(Db::Open(path_, options, db));
  }

  TempDir dir_;
  const std::string path_ = dir_.File("db.tdb");
};

class UnlockedReadFcntlTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_P(UnlockedReadTest, PointReadsTakeNoLock) {
  std::unique_ptr<Db> db;
  ASSERT_NO_FATAL_FAILURE(Create(GetParam(), &db));
  for (int i = 0; i < 100; i++) {
    PTDB_ASSERT_OK(db->Store("key-" + std::to_string(i), "value-" + std::to_string(i)));
  }
  const Stats before = StatsOf(db.get());
  for (int i = 0; i < 100; i++) {
    std::string value;
    PTDB_ASSERT_OK(db->Fetch("key-" + std::to_string(i), &value));
    EXPECT_EQ(value, "value-" + std::to_string(i));
    bool exists = false;
    PTDB_ASSERT_OK(db->Exists("key-" + std::to_string(i), &exists));
    EXPECT_TRUE(exists);
  }
  std::string value;
  EXPECT_EQ(db->Fetch("missing", &value).code(), Error::kNoExist);
  const Stats after = StatsOf(db.get());
  EXPECT_EQ(after.unlocked_reads - before.unlocked_reads, 201u);
  EXPECT_EQ(after.unlocked_read_retries, before.unlocked_read_retries);
}

// Where the handle must see what only its locks or its transaction show, reads lock as
// before; and without a mapping, or with lock hooks (every lock goes through the caller),
// reads always lock.
TEST_P(UnlockedReadTest, LocksHeldTransactionsAndNoMmapReadLocked) {
  std::unique_ptr<Db> db;
  ASSERT_NO_FATAL_FAILURE(Create(GetParam(), &db));
  PTDB_ASSERT_OK(db->Store("key", "v"));
  const uint64_t before = StatsOf(db.get()).unlocked_reads;
  std::string value;

  PTDB_ASSERT_OK(db->ChainLock("key"));
  PTDB_ASSERT_OK(db->Fetch("key", &value));
  PTDB_ASSERT_OK(db->ChainUnlock("key"));

  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->Store("key", "in the transaction"));
  PTDB_ASSERT_OK(db->Fetch("key", &value));
  EXPECT_EQ(value, "in the transaction");
  PTDB_ASSERT_OK(db->TransactionCommit());

  PTDB_ASSERT_OK(db->AddFlag(kNoLock));
  PTDB_ASSERT_OK(db->Fetch("key", &value));
  PTDB_ASSERT_OK(db->RemoveFlag(kNoLock));
  PTDB_ASSERT_OK(db->AddFlag(kNoMmap));
  PTDB_ASSERT_OK(db->Fetch("key", &value));
  PTDB_ASSERT_OK(db->RemoveFlag(kNoMmap));
  EXPECT_EQ(StatsOf(db.get()).unlocked_reads, before);

  PTDB_ASSERT_OK(db->Fetch("key", &value));
  EXPECT_EQ(value, "in the transaction");
  EXPECT_EQ(StatsOf(db.get()).unlocked_reads, before + 1);
}

TEST_F(UnlockedReadFcntlTest, LockHooksReadLocked) {
  int locks = 0;
  Options options;
  options.hash = NamedHash;
  options.open_flags = O_RDWR | O_CREAT;
  options.lock_hooks.lock = [&](int fd, int rw, uint64_t off, uint64_t len, bool wait) {
    locks++;
    struct flock fl = {};
    fl.l_type = short(rw);
    fl.l_whence = SEEK_SET;
    fl.l_start = off_t(off);
    fl.l_len = off_t(len);
    return fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl) == 0 ? 0 : errno;
  };
  options.lock_hooks.unlock = [](int fd, int, uint64_t off, uint64_t len) {
    struct flock fl = {};
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = off_t(off);
    fl.l_len = off_t(len);
    return fcntl(fd, F_SETLK, &fl) == 0 ? 0 : errno;
  };
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(dir_.File("hooked.tdb"), options, &db));
  PTDB_ASSERT_OK(db->Store("key", "v"));
  const int before = locks;
  std::string value;
  PTDB_ASSERT_OK(db->Fetch("key", &value));
  EXPECT_EQ(value, "v");
  EXPECT_GT(locks, before) << "a fetch must go through the lock hook";
  EXPECT_EQ(StatsOf(db.get()).unlocked_reads, 0u);
}

// A writer that does not know the change counts clears their feature bit when it opens
// the file (design: "Extending The Header"); readers must then lock.
TEST_P(UnlockedReadTest, WriterWithoutChangeCountsTurnsThemOff) {
  std::unique_ptr<Db> db;
  ASSERT_NO_FATAL_FAILURE(Create(GetParam(), &db));
  PTDB_ASSERT_OK(db->Store("key", "v"));
  db.reset();
  const int fd = open(path_.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  uint64_t features = 0;
  const off_t at = offsetof(format::Header, features_used);
  ASSERT_EQ(pread(fd, &features, sizeof(features), at), ssize_t(sizeof(features)));
  ASSERT_TRUE(features & format::kFeatureChangeCounts) << "a new file keeps the counts";
  features &= ~format::kFeatureChangeCounts;
  ASSERT_EQ(pwrite(fd, &features, sizeof(features), at), ssize_t(sizeof(features)));
  close(fd);

  ASSERT_NO_FATAL_FAILURE(Reopen(&db));
  std::string value;
  PTDB_ASSERT_OK(db->Fetch("key", &value));
  EXPECT_EQ(value, "v");
  EXPECT_EQ(StatsOf(db.get()).unlocked_reads, 0u);
  PTDB_EXPECT_OK(db->Check());
}

// The values a writer cycles through: two of one length, each overwriting the other in
// place (a reader copying one while the other is written would get a mix of both), a
// short one that also fits in place, and none (deleted; the next store allocates anew).
// Neighbours in the same group make its sub-groups expand and double under the reader.
const std::string kA(32000, 'a');
const std::string kB(32000, 'b');
const std::string kShort(40, 's');
const std::string kRaced = GroupZeroKey(0);

Status WriteCycle(Db* db, int round) {
  for (int i = 0; i < 16; i++) PTDB_RETURN_IF_ERROR(db->Store(kRaced, i % 2 ? kB : kA));
  PTDB_RETURN_IF_ERROR(db->Store(kRaced, kShort));
  const uint64_t first = 1 + uint64_t(round % 8) * 40;
  for (uint64_t n = first; n < first + 40; n++) {
    PTDB_RETURN_IF_ERROR(db->Store(GroupZeroKey(n), std::string(16 + n % 200, 'n')));
  }
  PTDB_RETURN_IF_ERROR(db->Delete(kRaced));
  const uint64_t old = 1 + uint64_t((round + 4) % 8) * 40;
  for (uint64_t n = old; n < old + 40; n++) {
    Status st = db->Delete(GroupZeroKey(n));
    if (!st.ok() && st.code() != Error::kNoExist) return st;
  }
  return Status::OK();
}

// One read of the raced key: a whole value or none, never a mix.
void ExpectWhole(Db* db) {
  std::string value;
  const Status st = db->Fetch(kRaced, &value);
  if (st.code() == Error::kNoExist) return;
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE(value == kA || value == kB || value == kShort)
      << "torn read: " << value.size() << " bytes starting " << value.substr(0, 8);
  bool exists = false;
  ASSERT_TRUE(db->Exists(kRaced, &exists).ok());
}

// A writer thread and a reader thread share one handle (the TSan stage runs this).
TEST_P(UnlockedReadTest, ThreadsUnlockedReadRaceTest) {
  std::unique_ptr<Db> db;
  ASSERT_NO_FATAL_FAILURE(Create(GetParam(), &db));
  std::atomic<bool> done{false};
  Status writer_status;
  std::thread writer([&] {
    for (int round = 0; round < 500 && writer_status.ok(); round++) {
      writer_status = WriteCycle(db.get(), round);
    }
    done.store(true);
  });
  uint64_t reads = 0;
  while (!done.load() && !HasFatalFailure()) {
    ExpectWhole(db.get());
    reads++;
  }
  writer.join();
  PTDB_ASSERT_OK(writer_status);
  const Stats stats = StatsOf(db.get());
  EXPECT_GT(stats.unlocked_reads, 0u);
  std::cout << reads << " reads beside the writer, " << stats.unlocked_read_retries
            << " found the group changed and read again locked\n";
  PTDB_EXPECT_OK(db->Check());
}

// The writer is another process: the change counts live in memory both map shared.
TEST_P(UnlockedReadTest, ReaderBesideAWriterProcessNeverSeesATornRecord) {
  {
    std::unique_ptr<Db> db;
    ASSERT_NO_FATAL_FAILURE(Create(GetParam(), &db));
  }
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Options options;
    options.hash = NamedHash;
    options.open_flags = O_RDWR;
    std::unique_ptr<Db> db;
    if (!Db::Open(path_, options, &db).ok()) _exit(2);
    for (int round = 0; round < 1000; round++) {
      if (!WriteCycle(db.get(), round).ok()) _exit(3);
    }
    _exit(0);
  }
  std::unique_ptr<Db> db;
  ASSERT_NO_FATAL_FAILURE(Reopen(&db));
  int status = 0;
  uint64_t reads = 0;
  while (waitpid(child, &status, WNOHANG) == 0) {
    ExpectWhole(db.get());
    if (HasFatalFailure()) {
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      return;
    }
    reads++;
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "writer status " << status;
  const Stats stats = StatsOf(db.get());
  EXPECT_GT(stats.unlocked_reads, 0u);
  std::cout << reads << " reads beside the writer process, " << stats.unlocked_read_retries
            << " read again locked\n";
  PTDB_EXPECT_OK(db->Check());
}

std::string ModeName(const ::testing::TestParamInfo<LockMode>& info) {
  return info.param == LockMode::kMutex ? "Mutex" : "Fcntl";
}

INSTANTIATE_TEST_SUITE_P(LockModes, UnlockedReadTest,
                         ::testing::Values(LockMode::kMutex, LockMode::kFcntl), ModeName);

}  // namespace
}  // namespace ptdb::test
