// Repack and wipe_all give space back: every record survives a repack exactly, the file
// shrinks when no other process has it open (else at the last close), and a process that
// had the file open while another gave zones back keeps working on it.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "tests/conformance/fixture.h"
#include "tests/conformance/test_util.h"

namespace ptdb::test {
namespace {

class RepackTest : public DbModeTest {
 protected:
  uint64_t FileBytes() const {
    struct stat sb;
    return stat(Name().c_str(), &sb) == 0 ? uint64_t(sb.st_size) : 0;
  }

  // n records with 300-byte values, then every key not divisible by 3 deleted: most of
  // the space is free afterwards, spread over every zone.
  void FillThenThin(Db* db, int n, Dump* model) {
    for (int i = 0; i < n; i++) {
      const std::string key = "key" + std::to_string(i);
      const std::string value(300, char('a' + i % 26));
      PTDB_ASSERT_OK(db->Store(key, value, StoreMode::kInsert));
      (*model)[key] = value;
    }
    for (int i = 0; i < n; i++) {
      if (i % 3 == 0) continue;
      const std::string key = "key" + std::to_string(i);
      PTDB_ASSERT_OK(db->Delete(key));
      model->erase(key);
    }
  }
};

TEST_P(RepackTest, KeepsEveryRecordAndShrinksTheFile) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db));
  Dump model;
  FillThenThin(db.get(), 6000, &model);
  ASSERT_FALSE(HasFatalFailure());
  const uint64_t before = FileBytes();
  PTDB_ASSERT_OK(db->Repack());
  EXPECT_EQ(DumpDb(db.get()), model);
  PTDB_EXPECT_OK(db->Check());
  if (has_fd()) {
    // A third of the records are left: the file must lose at least half its size.
    EXPECT_LT(FileBytes(), before / 2) << "before " << before;
  }
  // Still a working database: it grows again, and survives a reopen.
  PTDB_ASSERT_OK(db->Store("after", "repack", StoreMode::kInsert));
  model["after"] = "repack";
  if (persistent()) {
    db.reset();
    PTDB_ASSERT_OK(Open(ReopenOptions(), &db));
  }
  EXPECT_EQ(DumpDb(db.get()), model);
  PTDB_EXPECT_OK(db->Check());
}

TEST_P(RepackTest, ReportsProgressReadingThenRewriting) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db));
  Dump model;
  FillThenThin(db.get(), 30000, &model);  // 10,000 records left
  ASSERT_FALSE(HasFatalFailure());
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  PTDB_ASSERT_OK(
      db->Repack([&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); }));
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.front(), std::make_pair(uint64_t(4096), uint64_t(0)));  // reading
  EXPECT_EQ(calls.back(), std::make_pair(uint64_t(10000), uint64_t(10000)));
  for (size_t i = 1; i < calls.size(); i++) {
    const bool same_phase = (calls[i].second == 0) == (calls[i - 1].second == 0);
    if (same_phase) {
      EXPECT_GT(calls[i].first, calls[i - 1].first) << i;
    }
  }
  EXPECT_EQ(DumpDb(db.get()), model);
}

TEST_P(RepackTest, WipeAllGivesTheSpaceBack) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db));
  const uint64_t empty = FileBytes();
  Dump model;
  FillThenThin(db.get(), 3000, &model);
  ASSERT_FALSE(HasFatalFailure());
  if (has_fd()) {
    ASSERT_GT(FileBytes(), empty);
  }
  PTDB_ASSERT_OK(db->WipeAll());
  EXPECT_TRUE(DumpDb(db.get()).empty());
  PTDB_EXPECT_OK(db->Check());
  if (has_fd()) {
    EXPECT_LE(FileBytes(), empty);
  }
  PTDB_ASSERT_OK(db->Store("k", "v", StoreMode::kInsert));
  EXPECT_EQ(DumpDb(db.get()), (Dump{{"k", "v"}}));
  PTDB_EXPECT_OK(db->Check());
}

TEST_P(RepackTest, InsideACancelledTransactionChangesNothing) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db));
  Dump model;
  FillThenThin(db.get(), 1500, &model);
  ASSERT_FALSE(HasFatalFailure());
  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->Store("new", "in the transaction", StoreMode::kInsert));
  PTDB_ASSERT_OK(db->Repack());
  PTDB_ASSERT_OK(db->TransactionCancel());
  EXPECT_EQ(DumpDb(db.get()), model);
  PTDB_EXPECT_OK(db->Check());
  // And committed, the transaction's own changes are repacked with the rest.
  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->Store("new", "in the transaction", StoreMode::kInsert));
  PTDB_ASSERT_OK(db->Repack());
  PTDB_ASSERT_OK(db->TransactionCommit());
  model["new"] = "in the transaction";
  EXPECT_EQ(DumpDb(db.get()), model);
  PTDB_EXPECT_OK(db->Check());
}

// A second process has the file open and its zone list cached while this one repacks:
// the file keeps its size until the last close, and the other process's next stores
// (which need new space) must not use the zones that were given back.
TEST(RepackProcessesTest, AnotherProcessKeepsWorkingAcrossARepack) {
  TempDir dir;
  const std::string path = dir.path() + "/db.tdb";
  Options create;
  create.open_flags = O_RDWR | O_CREAT | O_TRUNC;
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(path, create, &db));
  Dump model;
  for (int i = 0; i < 3000; i++) {
    const std::string key = "key" + std::to_string(i);
    PTDB_ASSERT_OK(db->Store(key, std::string(300, 'x'), StoreMode::kInsert));
    if (i % 3 == 0) {
      model[key] = std::string(300, 'x');
    }
  }
  for (int i = 0; i < 3000; i++) {
    if (i % 3 != 0) PTDB_ASSERT_OK(db->Delete("key" + std::to_string(i)));
  }
  int go[2], ready[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(60);
    db.release();  // the parent's handle; this process opens its own
    Options reopen;
    reopen.open_flags = O_RDWR;
    std::unique_ptr<Db> mine;
    char c = 0;
    if (!Db::Open(path, reopen, &mine).ok()) _exit(10);
    if (!mine->Store("child-before", "x", StoreMode::kInsert).ok()) _exit(11);
    if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1) _exit(12);
    for (int i = 0; i < 2000; i++) {
      if (!mine->Store("child" + std::to_string(i), std::string(300, 'c'), StoreMode::kInsert)
               .ok()) {
        _exit(13);
      }
    }
    _exit(mine->Check().ok() ? 0 : 14);
  }
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  model["child-before"] = "x";
  struct stat sb;
  ASSERT_EQ(stat(path.c_str(), &sb), 0);
  const off_t before = sb.st_size;
  PTDB_ASSERT_OK(db->Repack());
  ASSERT_EQ(stat(path.c_str(), &sb), 0);
  EXPECT_GE(sb.st_size, before) << "cut while another process had the file open";
  ASSERT_EQ(write(go[1], "g", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  for (int i = 0; i < 2000; i++) model["child" + std::to_string(i)] = std::string(300, 'c');
  EXPECT_EQ(DumpDb(db.get()), model);
  PTDB_EXPECT_OK(db->Check());
  for (int fd : {go[0], go[1], ready[0], ready[1]}) close(fd);
}

TEST(RepackFileTest, ARepackOnAReadOnlyHandleIsRefused) {
  TempDir dir;
  const std::string path = dir.File("db.tdb");
  Options options;
  options.open_flags = O_RDWR | O_CREAT | O_TRUNC;
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(path, options, &db));
  PTDB_ASSERT_OK(db->Store("k", "v", StoreMode::kInsert));
  db.reset();
  options.open_flags = O_RDONLY;
  PTDB_ASSERT_OK(Db::Open(path, options, &db));
  EXPECT_EQ(db->Repack().code(), Error::kRdonly);
  EXPECT_EQ(DumpDb(db.get()), (Dump{{"k", "v"}}));
}

INSTANTIATE_TEST_SUITE_P(Modes, RepackTest, ::testing::ValuesIn(AllModes()), ParamName);

}  // namespace
}  // namespace ptdb::test
