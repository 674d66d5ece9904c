// Writes into space that was free when the transaction began go unlogged
// (pmem/pmem_fresh_space.h); space freed inside the transaction must still be logged
// before it is reused. These transactions delete records (or wipe the database) and then
// store new ones, which take the freed space; cancelled, or killed before the commit,
// they must give back exactly the records from before, and committed, the new ones.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/pmem/pmem_test_util.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

constexpr int kRecords = 200;

std::string Key(const char* prefix, int i) { return prefix + std::to_string(1000 + i); }
// Every record the same size, so a new one fits exactly into a deleted one's space; and
// larger than the blocks the undo log takes (64 bytes), so most of a deleted record's
// bytes are logged only if its reuse logs them.
std::string Value(char tag, int i) { return std::string(1000, tag) + std::to_string(1000 + i); }

enum class End { kCancel, kKill, kCommit };

class PmemFreshSpaceTest : public ::testing::TestWithParam<End> {
 protected:
  std::string Path() const { return dir_.File("db.pool"); }

  // The records every transaction starts from: old0000... with values of 'o'.
  Dump Populate() {
    std::unique_ptr<Db> db;
    PTDB_EXPECT_OK(Db::Open(Path(), PmemCreateOptions(), &db));
    Dump d;
    for (int i = 0; i < kRecords; i++) {
      PTDB_EXPECT_OK(db->Store(Key("old", i), Value('o', i)));
      d[Key("old", i)] = Value('o', i);
    }
    return d;
  }

  // Runs `body` inside a user transaction and ends it as the test says: commit, cancel,
  // or SIGKILL of the process (a child) while the transaction is open. `first` runs on
  // the same handle before the transaction starts.
  template <class Body>
  void RunTransaction(Body body) {
    RunTransaction([](Db*) {}, body);
  }
  template <class First, class Body>
  void RunTransaction(First first, Body body) {
    if (GetParam() != End::kKill) {
      std::unique_ptr<Db> db;
      PTDB_ASSERT_OK(Db::Open(Path(), ReopenRw(), &db));
      first(db.get());
      PTDB_ASSERT_OK(db->TransactionStart());
      body(db.get());
      PTDB_ASSERT_OK(GetParam() == End::kCommit ? db->TransactionCommit()
                                                : db->TransactionCancel());
      return;
    }
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(ready[0]);
      std::unique_ptr<Db> db;
      if (!Db::Open(Path(), ReopenRw(), &db).ok()) _exit(2);
      first(db.get());
      if (!db->TransactionStart().ok()) _exit(2);
      body(db.get());
      const char done = ::testing::Test::HasFailure() ? 'f' : 'k';
      if (write(ready[1], &done, 1) != 1) _exit(3);
      for (;;) pause();
    }
    close(ready[1]);
    char done = 0;
    ASSERT_EQ(read(ready[0], &done, 1), 1) << "the child died before its transaction was done";
    close(ready[0]);
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(done, 'k') << "the child's transaction failed";
  }

  // Reopens the pool (a kill's undo log is replayed here) and requires `want`.
  void Expect(const Dump& want) {
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(Db::Open(Path(), ReopenRw(), &db));
    PTDB_EXPECT_OK(db->Check());
    EXPECT_EQ(DumpDb(db.get()), want);
  }

  TempDir dir_;
};

TEST_P(PmemFreshSpaceTest, DeletedRecordsReusedInTheSameTransaction) {
  const Dump before = Populate();
  RunTransaction([](Db* db) {
    // Every other record goes, then as many new ones of the same size take its space.
    for (int i = 0; i < kRecords; i += 2) PTDB_EXPECT_OK(db->Delete(Key("old", i)));
    for (int i = 0; i < kRecords; i += 2) PTDB_EXPECT_OK(db->Store(Key("new", i), Value('n', i)));
    PTDB_EXPECT_OK(db->Check());
  });
  Dump after = before;
  for (int i = 0; i < kRecords; i += 2) {
    after.erase(Key("old", i));
    after[Key("new", i)] = Value('n', i);
  }
  Expect(GetParam() == End::kCommit ? after : before);
}

TEST_P(PmemFreshSpaceTest, ReplacedByLargerValuesAndReused) {
  const Dump before = Populate();
  RunTransaction([](Db* db) {
    // A larger value moves its record: the old one is freed, and the new keys (as large
    // as the old records) are stored into those holes.
    for (int i = 0; i < kRecords; i += 3) {
      PTDB_EXPECT_OK(db->Store(Key("old", i), Value('L', i) + std::string(300, 'L')));
    }
    for (int i = 0; i < kRecords; i += 3) PTDB_EXPECT_OK(db->Store(Key("new", i), Value('n', i)));
  });
  Dump after = before;
  for (int i = 0; i < kRecords; i += 3) {
    after[Key("old", i)] = Value('L', i) + std::string(300, 'L');
    after[Key("new", i)] = Value('n', i);
  }
  Expect(GetParam() == End::kCommit ? after : before);
}

TEST_P(PmemFreshSpaceTest, WipeThenStore) {
  const Dump before = Populate();
  RunTransaction([](Db* db) {
    PTDB_EXPECT_OK(db->WipeAll());
    for (int i = 0; i < kRecords; i++) PTDB_EXPECT_OK(db->Store(Key("new", i), Value('n', i)));
  });
  Dump after;
  for (int i = 0; i < kRecords; i++) after[Key("new", i)] = Value('n', i);
  Expect(GetParam() == End::kCommit ? after : before);
}

TEST_P(PmemFreshSpaceTest, FreeRecordsMergedAndReused) {
  // Records of 16,000 bytes: 15 fill a 256 KiB zone, leaving less than one free.
  Dump before;
  {
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(Db::Open(Path(), PmemCreateOptions(), &db));
    for (int i = 0; i < 60; i++) {
      PTDB_ASSERT_OK(db->Store(Key("blk", i), std::string(16000, char('a' + i % 26))));
      if (i < 16 || i >= 30) before[Key("blk", i)] = std::string(16000, char('a' + i % 26));
    }
  }
  const std::string big(100000, 'B');
  RunTransaction(
      // Neighbours deleted by plain stores, each committed: the transaction begins with
      // them free, their headers on the free lists.
      [](Db* db) {
        for (int i = 16; i < 30; i++) PTDB_EXPECT_OK(db->Delete(Key("blk", i)));
      },
      // A value larger than any free record: the store merges the neighbours and
      // writes over their old headers, which an abort must put back.
      [&](Db* db) {
        Stats was, now;
        PTDB_EXPECT_OK(db->GetStats(&was));
        PTDB_EXPECT_OK(db->Store("big", big));
        PTDB_EXPECT_OK(db->GetStats(&now));
        EXPECT_GT(now.alloc_coalesce_succeeded, was.alloc_coalesce_succeeded)
            << "the store merged nothing: the test proves nothing";
        EXPECT_EQ(now.expands, was.expands) << "the store grew the pool instead";
      });
  Dump after = before;
  after["big"] = big;
  Expect(GetParam() == End::kCommit ? after : before);
}

INSTANTIATE_TEST_SUITE_P(Ends, PmemFreshSpaceTest,
                         ::testing::Values(End::kCancel, End::kKill, End::kCommit),
                         [](const ::testing::TestParamInfo<End>& info) {
                           return info.param == End::kCancel ? "Cancel"
                                  : info.param == End::kKill ? "Kill"
                                                             : "Commit";
                         });

}  // namespace
}  // namespace ptdb::test
