// Where a commit puts its recovery bundle, and how long the header names it: past the
// zones, clear of the previous commit's bundle only while recovery may still need that
// one, and named only until it is known applied (docs/transactions.md). After that its
// area may hold records, and nothing there may pass for a bundle.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>

#include "common/format.h"
#include "file/recovery.h"
#include "ptdb/db.h"
#include "tests/support/child.h"
#include "tests/support/temp_dir.h"

namespace ptdb {
namespace {

// Plain writes after a commit retire its bundle, and growing the zones may then put
// records over its area. Values made of the bundle magic, over and over, make what
// lies there look like a bundle with an absurd length: the next commit must not take
// it for the previous bundle and try to go past it (it failed with "database would
// exceed 2^56 bytes"; the model test's transactions found it).
TEST(TxAreaTest, ARetiredBundleOverwrittenByRecordsIsNotKeptClear) {
  test::TempDir dir;
  Options o;
  o.open_flags = O_RDWR | O_CREAT | O_TRUNC;
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(dir.File("area.ptdb"), o, &db).ok());
  ASSERT_TRUE(db->TransactionStart().ok());
  ASSERT_TRUE(db->Store("first", "1").ok());
  ASSERT_TRUE(db->TransactionCommit().ok());

  std::string magic(4000, '\0');
  for (size_t i = 0; i + 8 <= magic.size(); i += 8) {
    std::memcpy(&magic[i], &kBundleMagic, 8);
  }
  // 8-byte keys keep the values 8-byte aligned, like the bundle's header words.
  for (int i = 0; i < 400; i++) {
    char key[9];
    std::snprintf(key, sizeof(key), "k%07d", i);
    ASSERT_TRUE(db->Store(std::string(key, 8), magic).ok());
  }
  ASSERT_TRUE(db->TransactionStart().ok());
  ASSERT_TRUE(db->Store("second", "2").ok());
  const Status commit = db->TransactionCommit();
  ASSERT_TRUE(commit.ok()) << commit.ToString();
  std::string value;
  ASSERT_TRUE(db->Fetch("second", &value).ok());
  EXPECT_EQ(value, "2");
  const Status check = db->Check();
  EXPECT_TRUE(check.ok()) << check.ToString();
}

// Commits `victim` = `value` in a transaction on `db`; returns the area its bundle went
// to (slot 1 for the first commit, slot 0 for the second).
uint64_t CommitVictim(Db* db, const char* value, int slot) {
  if (!db->TransactionStart().ok() || !db->Store("victim", value).ok() ||
      !db->TransactionCommit().ok()) {
    _exit(2);
  }
  uint64_t area = 0;
  if (pread(db->Fd(), &area, sizeof(area), offsetof(format::Header, recovery) + 8 * slot) !=
      ssize_t(sizeof(area))) {
    _exit(3);
  }
  return area;
}

// A child process runs `work` on a new database and dies without closing it (no last
// close to retire or cut anything). `work` returns an area, which comes back in *area
// (through a side file); *slots gets the header's recovery slots as the child left them.
void RunAndDie(const std::string& path, uint64_t (*work)(Db*), uint64_t* area,
               uint64_t (&slots)[2]) {
  const std::string side = path + ".area";
  Child child([&](Child&) {
    Options o;
    o.open_flags = O_RDWR | O_CREAT | O_TRUNC;
    std::unique_ptr<Db> db;
    if (!Db::Open(path, o, &db).ok()) return 1;
    const uint64_t a = work(db.get());
    // Never closed: the child exits (_exit) with the handle open, as if it had died.
    (void)db.release();
    const int fd = open(side.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    return fd >= 0 && write(fd, &a, sizeof(a)) == ssize_t(sizeof(a)) ? 0 : 4;
  });
  ASSERT_EQ(child.Wait(), 0);
  const int side_fd = open(side.c_str(), O_RDONLY);
  ASSERT_GE(side_fd, 0);
  ASSERT_EQ(read(side_fd, area, sizeof(*area)), ssize_t(sizeof(*area)));
  close(side_fd);
  const int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pread(fd, slots, sizeof(slots), offsetof(format::Header, recovery)),
            ssize_t(sizeof(slots)));
  close(fd);
}

// What a record's bytes at an old area might hold: a well-formed bundle, numbered as if
// pending and for slot 1, that sets the seqnum to kEvil.
constexpr uint64_t kEvil = 0x4141414141414141ULL;
void PlantBundle(const std::string& path, uint64_t at) {
  struct stat sb;
  ASSERT_EQ(stat(path.c_str(), &sb), 0);
  BundleWriter writer(99);
  writer.Add(format::kSeqnumOffset, &kEvil, sizeof(kEvil));
  const BundleBytes bundle = writer.Finish(uint64_t(sb.st_size));
  ASSERT_LE(at + bundle.size(), uint64_t(sb.st_size));
  const int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, bundle.data(), bundle.size(), off_t(at)), ssize_t(bundle.size()));
  close(fd);
}

// Opens alone, so recovery runs if anything is pending, and requires that the planted
// bundle was not replayed.
void ExpectNotReplayed(const std::string& path, const char* victim) {
  Options o;
  o.open_flags = O_RDWR;
  std::unique_ptr<Db> db;
  const Status open = Db::Open(path, o, &db);
  ASSERT_TRUE(open.ok()) << open.ToString();
  uint64_t seqnum = 0;
  ASSERT_TRUE(db->GetSeqnum(&seqnum).ok());
  EXPECT_NE(seqnum, kEvil) << "bytes at a forgotten area were replayed";
  std::string got;
  ASSERT_TRUE(db->Fetch("victim", &got).ok());
  EXPECT_EQ(got, victim);
  const Status check = db->Check();
  EXPECT_TRUE(check.ok()) << check.ToString();
}

// The first plain write after a commit retires its bundle and forgets its area.
TEST(TxAreaTest, APlainWriteForgetsTheAreaOfTheBundleItRetires) {
  test::TempDir dir;
  const std::string path = dir.File("retired.ptdb");
  uint64_t area = 0, slots[2];
  RunAndDie(
      path,
      [](Db* db) {
        const uint64_t a = CommitVictim(db, "committed", 1);
        if (!db->Store("plain", "write").ok()) _exit(5);
        return a;
      },
      &area, slots);
  ASSERT_NE(area, 0u);
  EXPECT_EQ(slots[0], 0u);
  EXPECT_EQ(slots[1], 0u);
  PlantBundle(path, area);
  ExpectNotReplayed(path, "committed");
}

// A commit forgets the previous commit's area once its own bundle is durable: its runs
// may put records there.
TEST(TxAreaTest, TheNextCommitForgetsThePreviousArea) {
  test::TempDir dir;
  const std::string path = dir.File("next.ptdb");
  uint64_t area = 0, slots[2];
  RunAndDie(
      path,
      [](Db* db) {
        const uint64_t a = CommitVictim(db, "one", 1);
        (void)CommitVictim(db, "two", 0);
        return a;
      },
      &area, slots);
  ASSERT_NE(area, 0u);
  EXPECT_NE(slots[0], 0u);
  EXPECT_EQ(slots[1], 0u);
  PlantBundle(path, area);
  ExpectNotReplayed(path, "two");
}

}  // namespace
}  // namespace ptdb
