// What a store hands libpmemobj's undo log (Stats::logged_ranges): each range costs a
// copy of the old bytes, a flush and a few allocations inside libpmemobj, and was most
// of an insert's time. Space that was free when the transaction began needs no log.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/pmem/pmem_test_util.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

uint64_t LoggedRanges(Db* db) {
  Stats stats;
  EXPECT_TRUE(db->GetStats(&stats).ok());
  return stats.logged_ranges;
}

// How many inserts logged each number of ranges.
std::map<uint64_t, int> RangesPerInsert(Db* db, int first, int count) {
  std::map<uint64_t, int> histogram;
  for (int i = first; i < first + count; i++) {
    const uint64_t before = LoggedRanges(db);
    EXPECT_TRUE(
        db->Store("key-" + std::to_string(i), std::string(100, 'v'), StoreMode::kInsert).ok());
    histogram[LoggedRanges(db) - before]++;
  }
  return histogram;
}

TEST(PmemLoggedRangesTest, AnInsertLogsTheFreeRecordsLengthAndTheHashSlot) {
  TempDir dir;
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(dir.File("db.pool"), PmemCreateOptions(), &db));
  // The record is cut from the end of the zone's free record, whose length word is the
  // one word of the free lists that changes; its entry goes in an empty slot. Inserts
  // that also restructure the tree log more (or less: a slot in a table just made).
  const std::map<uint64_t, int> histogram = RangesPerInsert(db.get(), 0, 2000);
  int two = 0, other = 0;
  std::string shown;
  for (const auto& [ranges, inserts] : histogram) {
    (ranges == 2 ? two : other) += inserts;
    shown += " " + std::to_string(inserts) + "x" + std::to_string(ranges);
  }
  EXPECT_GT(two, 2 * other) << "inserts x ranges logged:" << shown;
  PTDB_ASSERT_OK(db->Check());
}

TEST(PmemLoggedRangesTest, AReplaceInPlaceLogsTheRecordOnce) {
  TempDir dir;
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(dir.File("db.pool"), PmemCreateOptions(), &db));
  // Keys of 8 lengths put the records at every offset modulo 64, so some have their
  // header and their data in different blocks: one write of the whole record logs them
  // as one range.
  const auto key = [](int i) { return std::string(1 + i % 8, 'k') + std::to_string(i); };
  for (int i = 0; i < 200; i++) {
    PTDB_ASSERT_OK(db->Store(key(i), std::string(100, 'v'), StoreMode::kInsert));
  }
  std::map<uint64_t, int> histogram;
  for (int i = 0; i < 200; i++) {
    const uint64_t before = LoggedRanges(db.get());
    PTDB_ASSERT_OK(db->Store(key(i), std::string(100, 'w'), StoreMode::kModify));
    histogram[LoggedRanges(db.get()) - before]++;
  }
  EXPECT_EQ(histogram, (std::map<uint64_t, int>{{1, 200}}));
  std::string value;
  PTDB_ASSERT_OK(db->Fetch(key(7), &value));
  EXPECT_EQ(value, std::string(100, 'w'));
}

TEST(PmemLoggedRangesTest, FilesLogNothing) {
  TempDir dir;
  std::unique_ptr<Db> db;
  Options o;
  o.open_flags = O_RDWR | O_CREAT;
  PTDB_ASSERT_OK(Db::Open(dir.File("db.ptdb"), o, &db));
  RangesPerInsert(db.get(), 0, 100);
  EXPECT_EQ(LoggedRanges(db.get()), 0u);
}

}  // namespace
}  // namespace ptdb::test
