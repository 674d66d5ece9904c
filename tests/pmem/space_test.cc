// A pool never grows: when it is full, a store fails with kOom and leaves the database
// as it was (the transaction is undone, zone allocation included). An operation whose
// undo log does not fit in the pool fails the same way.
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

class PmemSpaceTest : public ::testing::TestWithParam<size_t> {
 protected:
  std::string Path() const { return dir_.File("db.pool"); }
  TempDir dir_;
};

std::string Value(int i, size_t len) {
  std::string v(len, '\0');
  for (size_t j = 0; j < len; j++) v[j] = char(i * 7 + int(j));
  return v;
}

// Stores values of GetParam() bytes into the smallest pool until it is full.
TEST_P(PmemSpaceTest, FullPoolFailsCleanly) {
  const size_t len = GetParam();
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(Path(), PmemCreateOptions(pmem_layout::kMinPoolSize), &db));
  Dump model;
  int failures = 0;
  int i = 0;
  for (; i < 1000000 && failures < 20; i++) {
    const std::string key = "key-" + std::to_string(i);
    const Status s = db->Store(key, Value(i, len), StoreMode::kInsert);
    if (s.ok()) {
      model[key] = Value(i, len);
      continue;
    }
    failures++;
    ASSERT_EQ(s.code(), Error::kOom) << "store " << i << ": " << s.ToString();
    ASSERT_TRUE(MentionsWord(s.message(), "pool")) << s.ToString();
    bool exists = true;
    PTDB_ASSERT_OK(db->Exists(key, &exists));
    EXPECT_FALSE(exists) << "a failed store left its record";
    if (failures % 5 == 1) PTDB_ASSERT_OK(db->Check());
  }
  ASSERT_GT(failures, 0) << "the pool never filled up: the test proved nothing";
  ASSERT_GE(model.size(), 5u);
  PTDB_ASSERT_OK(db->Check());
  EXPECT_EQ(DumpDb(db.get()), model);

  // Smaller values replace larger ones in place, with no allocation.
  for (auto& [key, value] : model) {
    if (value.size() < 2) break;
    value.resize(value.size() / 2);
    PTDB_ASSERT_OK(db->Store(key, value, StoreMode::kModify));
  }
  // Space freed by deletes serves later stores of new keys.
  const size_t deletes = model.size() / 2;
  for (size_t k = 0; k < deletes; k++) {
    const std::string key = model.begin()->first;
    PTDB_ASSERT_OK(db->Delete(key));
    model.erase(key);
  }
  for (int k = 0; k < 3; k++) {
    const std::string key = "again-" + std::to_string(k);
    PTDB_ASSERT_OK(db->Store(key, Value(k, len / 2), StoreMode::kInsert));
    model[key] = Value(k, len / 2);
  }
  PTDB_ASSERT_OK(db->Check());
  db.reset();
  PTDB_ASSERT_OK(Db::Open(Path(), ReopenRw(), &db));
  EXPECT_EQ(DumpDb(db.get()), model);
  PTDB_EXPECT_OK(db->Check());
}

INSTANTIATE_TEST_SUITE_P(ValueSizes, PmemSpaceTest,
                         ::testing::Values(size_t(8), size_t(100), size_t(3000), size_t(200000)));

// Overwriting a record in place snapshots its old bytes into the undo log, which
// libpmemobj allocates from the pool: a value larger than the free space cannot be
// replaced in place. The store fails with kOom; nothing of it remains.
TEST(PmemUndoLogTest, OperationTooLargeForTheUndoLog) {
  TempDir dir;
  const std::string path = dir.File("db.pool");
  constexpr size_t kBig = 15 << 20;
  const std::string first(kBig, 'a');
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(path, PmemCreateOptions(32 << 20), &db));
  PTDB_ASSERT_OK(db->Store("small", "stays"));
  PTDB_ASSERT_OK(db->Store("big", first));
  const Status s = db->Store("big", std::string(kBig, 'b'));
  ASSERT_EQ(s.code(), Error::kOom) << s.ToString();
  EXPECT_TRUE(MentionsWord(s.message(), "undo log")) << s.ToString();
  std::string value;
  PTDB_ASSERT_OK(db->Fetch("big", &value));
  EXPECT_TRUE(value == first) << "the failed store changed the value";
  PTDB_ASSERT_OK(db->Check());
  // Operations that fit still work.
  PTDB_ASSERT_OK(db->Store("after", "the failure"));
  db.reset();
  PTDB_ASSERT_OK(Db::Open(path, ReopenRw(), &db));
  PTDB_ASSERT_OK(db->Fetch("big", &value));
  EXPECT_TRUE(value == first);
  EXPECT_EQ(DumpDb(db.get()).size(), 3u);
  PTDB_EXPECT_OK(db->Check());
}

}  // namespace
}  // namespace ptdb::test
