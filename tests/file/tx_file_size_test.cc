// A transaction starts from the file size this process last saw, without asking the
// kernel (a system call per transaction). Another process's commit may meanwhile have
// extended the file past the space for its recovery bundle. These tests make that
// happen, then commit transactions in the process that did not see it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <string>

#include "common/format.h"
#include "ptdb/db.h"
#include "tests/support/temp_dir.h"

namespace ptdb {
namespace {

constexpr int kRecords = 256;
constexpr size_t kValueSize = 8 << 10;  // 256 of them: a 2 MiB bundle when all change

std::string Key(int i) { return "key-" + std::to_string(i); }
std::string Value(int i, char fill) {
  return std::string(kValueSize - 1, fill) + char('a' + i % 26);
}

class TxFileSizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("size.ptdb");
    std::unique_ptr<Db> db;
    ASSERT_TRUE(Open(O_RDWR | O_CREAT | O_TRUNC, &db).ok());
    for (int i = 0; i < kRecords; i++) ASSERT_TRUE(db->Store(Key(i), Value(i, 'x')).ok());
  }

  // The header's two recovery slots, as the file has them.
  void ReadAreas(uint64_t (&areas)[2]) {
    const int fd = open(path_.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(pread(fd, areas, sizeof(areas), offsetof(format::Header, recovery)),
              ssize_t(sizeof(areas)));
    close(fd);
  }

  Status Open(int open_flags, std::unique_ptr<Db>* db) {
    Options o;
    o.open_flags = open_flags;
    o.flags = kNoSync;
    return Db::Open(path_, o, db);
  }

  // Forks a process that, once told to, opens the database and rewrites every record in
  // place in one transaction: its bundle goes past the space, and the file grows by it.
  void StartRewriter() {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    child_ = fork();
    ASSERT_GE(child_, 0);
    if (child_ == 0) {
      close(fds[1]);
      char go;
      if (read(fds[0], &go, 1) != 1) _exit(2);
      std::unique_ptr<Db> db;
      if (!Open(O_RDWR, &db).ok()) _exit(3);
      if (!db->TransactionStart().ok()) _exit(4);
      for (int i = 0; i < kRecords; i++) {
        if (!db->Store(Key(i), Value(i, 'y')).ok()) _exit(5);
      }
      if (!db->TransactionCommit().ok()) _exit(6);
      _exit(0);
    }
    close(fds[0]);
    go_ = fds[1];
  }

  // Lets the rewriter run, and waits until it has committed and gone.
  void RunRewriter() {
    ASSERT_EQ(write(go_, "g", 1), 1);
    close(go_);
    int status = 0;
    ASSERT_EQ(waitpid(child_, &status, 0), child_);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "rewriter status " << status;
  }

  // Opens *db and reads through it, so this process knows the file's size; then the
  // rewriter commits, past that size.
  void OpenThenRewriteElsewhere(std::unique_ptr<Db>* db) {
    ASSERT_NO_FATAL_FAILURE(StartRewriter());
    ASSERT_TRUE(Open(O_RDWR, db).ok());
    std::string v;
    ASSERT_TRUE((*db)->Fetch(Key(0), &v).ok());
    ASSERT_NO_FATAL_FAILURE(RunRewriter());
  }

  void ExpectRecords(Db* db, int inserted) {
    std::string v;
    for (int i = 0; i < kRecords; i++) {
      ASSERT_TRUE(db->Fetch(Key(i), &v).ok()) << i;
      EXPECT_EQ(v, Value(i, 'y')) << i;
    }
    for (int i = kRecords; i < kRecords + inserted; i++) {
      ASSERT_TRUE(db->Fetch(Key(i), &v).ok()) << i;
      EXPECT_EQ(v, Value(i, 'z')) << i;
    }
    const Status st = db->Check();
    EXPECT_TRUE(st.ok()) << st.ToString();
  }

  test::TempDir dir_;
  std::string path_;
  pid_t child_ = -1;
  int go_ = -1;
};

// The new space lies where the rewriter's bundle is: the transaction's zone headers and
// free lists are mostly zero words, which a commit that took the bundle's bytes for
// zeros would leave as the bundle's.
TEST_F(TxFileSizeTest, SpaceTakenOverAnotherProcesssBundleIsWrittenWhole) {
  std::unique_ptr<Db> db;
  ASSERT_NO_FATAL_FAILURE(OpenThenRewriteElsewhere(&db));
  constexpr int kInserted = 512;  // 4 MiB: the space grows over the 2 MiB bundle
  ASSERT_TRUE(db->TransactionStart().ok());
  for (int i = kRecords; i < kRecords + kInserted; i++) {
    ASSERT_TRUE(db->Store(Key(i), Value(i, 'z')).ok()) << i;
  }
  ASSERT_TRUE(db->TransactionCommit().ok());
  ASSERT_NO_FATAL_FAILURE(ExpectRecords(db.get(), kInserted));
  db.reset();
  ASSERT_TRUE(Open(O_RDWR, &db).ok());
  ASSERT_NO_FATAL_FAILURE(ExpectRecords(db.get(), kInserted));
}

// A small transaction after the rewriter's: its bundle must go clear of the rewriter's,
// which lies past the size this process knows (recovery needs the rewriter's until the
// next sync), and both commit cleanly.
TEST_F(TxFileSizeTest, CommitAfterAnotherProcesssBigBundleKeepsItsBundle) {
  std::unique_ptr<Db> db;
  ASSERT_NO_FATAL_FAILURE(OpenThenRewriteElsewhere(&db));
  uint64_t before[2];
  ASSERT_NO_FATAL_FAILURE(ReadAreas(before));
  ASSERT_TRUE(db->TransactionStart().ok());
  ASSERT_TRUE(db->Store(Key(kRecords), Value(kRecords, 'z')).ok());
  ASSERT_TRUE(db->TransactionCommit().ok());
  // The two alternating recovery areas: the rewriter's (commit 1, slot 1), then ours
  // (commit 2, slot 0), which must start past the end of the rewriter's 2 MiB one. Once
  // ours is durable and applying, the rewriter's slot is cleared (recovery.h).
  uint64_t after[2];
  ASSERT_NO_FATAL_FAILURE(ReadAreas(after));
  ASSERT_NE(before[1], 0u);
  ASSERT_NE(after[0], 0u);
  EXPECT_EQ(after[1], 0u);
  const uint64_t gap = after[0] > before[1] ? after[0] - before[1] : before[1] - after[0];
  EXPECT_GE(gap, uint64_t(kRecords) * kValueSize) << before[1] << " " << after[0];
  for (int round = 1; round < 3; round++) {
    ASSERT_TRUE(db->TransactionStart().ok());
    ASSERT_TRUE(db->Store(Key(kRecords + round), Value(kRecords + round, 'z')).ok());
    ASSERT_TRUE(db->TransactionCommit().ok());
  }
  ASSERT_NO_FATAL_FAILURE(ExpectRecords(db.get(), 3));
}

}  // namespace
}  // namespace ptdb
