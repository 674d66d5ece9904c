// Records that grow, many records, and hashes that pile keys onto the same path.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "ptdb/db.h"
#include "tests/conformance/fixture.h"
#include "tests/conformance/test_util.h"

namespace ptdb::test {
namespace {

using GrowthTest = DbModeTest;

constexpr size_t kGrowStep = 131;
constexpr size_t kGrowMax = 10000;

std::string Pattern(size_t len) {
  std::string s(len, '\0');
  for (size_t i = 0; i < len; i++) s[i] = char('0' + i % 43);
  return s;
}

TEST_P(GrowthTest, RecordGrowsByAppend) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db));
  PTDB_ASSERT_OK(db->Store("neighbour", "stays put"));
  const std::string full = Pattern(kGrowMax + kGrowStep);
  PTDB_ASSERT_OK(db->Append("key", ""));
  for (size_t len = 0; len <= kGrowMax; len += kGrowStep) {
    SCOPED_TRACE("length " + std::to_string(len));
    if (len > 0)
      PTDB_ASSERT_OK(db->Append("key", std::string_view(full).substr(len - kGrowStep, kGrowStep)));
    std::string value;
    PTDB_ASSERT_OK(db->Fetch("key", &value));
    ASSERT_TRUE(value == full.substr(0, len)) << "got " << value.size() << " bytes";
    PTDB_ASSERT_OK(db->Check());
  }
  std::string value;
  PTDB_ASSERT_OK(db->Fetch("neighbour", &value));
  EXPECT_EQ(value, "stays put");
}

TEST_P(GrowthTest, RecordGrowsByStore) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db));
  PTDB_ASSERT_OK(db->Store("neighbour", "stays put"));
  const std::string full = Pattern(kGrowMax);
  for (size_t len = 0; len <= kGrowMax; len += kGrowStep) {
    SCOPED_TRACE("length " + std::to_string(len));
    PTDB_ASSERT_OK(db->Store("key", std::string_view(full).substr(0, len)));
    std::string value;
    PTDB_ASSERT_OK(db->Fetch("key", &value));
    ASSERT_TRUE(value == full.substr(0, len)) << "got " << value.size() << " bytes";
    PTDB_ASSERT_OK(db->Check());
  }
  EXPECT_EQ(DumpDb(db.get()).size(), 2u);
}

// Stores `n` keys "k<i>" (options.hash makes them collide), then reads, walks, deletes
// half, refills and checks at each stage.
void ExerciseCollisions(const Options& options, const std::string& name, int n, Stats* stats) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(name, options, &db));
  Dump expected;
  for (int i = 0; i < n; i++) {
    const std::string key = "k" + std::to_string(i);
    const std::string value = "v" + std::to_string(i * 3);
    PTDB_ASSERT_OK(db->Store(key, value, StoreMode::kInsert));
    expected[key] = value;
  }
  PTDB_ASSERT_OK(db->Check());
  for (const auto& [key, value] : expected) {
    std::string got;
    PTDB_ASSERT_OK(db->Fetch(key, &got));
    ASSERT_EQ(got, value);
  }
  std::string absent;
  EXPECT_EQ(db->Fetch("not there", &absent).code(), Error::kNoExist);
  uint64_t count = 0;
  PTDB_ASSERT_OK(db->Traverse([](std::string_view, std::string_view) { return true; }, &count));
  EXPECT_EQ(count, uint64_t(n));
  EXPECT_EQ(DumpDb(db.get()), expected);

  for (int i = 0; i < n; i += 2) {
    const std::string key = "k" + std::to_string(i);
    PTDB_ASSERT_OK(db->Delete(key));
    expected.erase(key);
  }
  PTDB_ASSERT_OK(db->Check());
  for (int i = 0; i < n; i++) {
    std::string got;
    const Status s = db->Fetch("k" + std::to_string(i), &got);
    if (i % 2 == 0) {
      ASSERT_EQ(s.code(), Error::kNoExist) << i;
    } else {
      PTDB_ASSERT_OK(s);
    }
  }
  EXPECT_EQ(DumpDb(db.get()), expected);
  // Refill the holes the deletes left in the chains.
  for (int i = 0; i < n; i += 2) {
    PTDB_ASSERT_OK(db->Store("k" + std::to_string(i), "again", StoreMode::kInsert));
  }
  count = 0;
  PTDB_ASSERT_OK(db->Traverse([](std::string_view, std::string_view) { return true; }, &count));
  EXPECT_EQ(count, uint64_t(n));
  PTDB_ASSERT_OK(db->Check());
  PTDB_ASSERT_OK(db->GetStats(stats));
}

TEST_P(GrowthTest, ConstantHashFormsChains) {
  Options options = CreateOptions();
  options.hash = [](const void*, size_t, uint64_t) -> uint64_t { return 0x123456789abcdef0ULL; };
  Stats stats;
  ExerciseCollisions(options, Name(), 2000, &stats);
  // Every key has the same 64-bit hash, so only bottom-level chains can hold them.
  EXPECT_GT(stats.alloc_chain, 0u);
}

TEST_P(GrowthTest, ThreeValuedHash) {
  Options options = CreateOptions();
  // Two values differ only in the last bit (they part at the last sub-level), the third
  // from the top.
  options.hash = [](const void* key, size_t len, uint64_t) -> uint64_t {
    static constexpr uint64_t kValues[] = {0, 1, ~0ULL};
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++) sum += static_cast<const unsigned char*>(key)[i];
    return kValues[sum % 3];
  };
  Stats stats;
  ExerciseCollisions(options, Name(), 2000, &stats);
  EXPECT_GT(stats.alloc_chain, 0u);
  EXPECT_GT(stats.alloc_subhash, 0u);
}

// A bucket pushed down gets a sub-group of four groups (32 slots): smaller ones filled a
// group and doubled soon after for most buckets, and each doubling copies the sub-group
// and frees the old one.
TEST_P(GrowthTest, APushedDownBucketStartsWithFourGroups) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db, kNoSync));
  // 1,024 top-level buckets in groups of 8 slots: this many keys push many of them down.
  for (int i = 0; i < 6000; i++) {
    PTDB_ASSERT_OK(db->Store("key-" + std::to_string(i), "v", StoreMode::kInsert));
  }
  Stats stats;
  PTDB_ASSERT_OK(db->GetStats(&stats));
  ASSERT_GT(stats.alloc_subhash, 0u);
  std::string report;
  PTDB_ASSERT_OK(db->Summary(false, &report));
  const std::string none_smaller = "(8 slots: 0, 16 slots: 0, 32 slots: ";
  const size_t at = report.find("(8 slots: ");
  ASSERT_NE(at, std::string::npos) << report;
  EXPECT_EQ(report.compare(at, none_smaller.size(), none_smaller), 0) << report.substr(at, 80);
  PTDB_EXPECT_OK(db->Check());
}

INSTANTIATE_TEST_SUITE_P(AllModes, GrowthTest, ::testing::ValuesIn(AllModes()), ParamName);

// One mode only: this is about volume, not about the backend. Sanitizer and Debug builds
// use a tenth of the records.
using GrowthVolumeTest = DbModeTest;

#ifdef NDEBUG
constexpr uint64_t kManyRecords = 1000000;
#else
constexpr uint64_t kManyRecords = 100000;
#endif

std::string Word(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; i++) s[size_t(i)] = char(v >> (8 * i));
  return s;
}

TEST_P(GrowthVolumeTest, ManySmallRecords) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db, kNoSync));
  for (uint64_t i = 0; i < kManyRecords; i++) {
    const Status s = db->Store(Word(i), Word(i * 0x9E3779B97F4A7C15ULL), StoreMode::kInsert);
    ASSERT_TRUE(s.ok()) << "record " << i << ": " << s.ToString();
  }
  std::string value;
  for (uint64_t i = 0; i < kManyRecords; i++) {
    const Status s = db->Fetch(Word(i), &value);
    ASSERT_TRUE(s.ok()) << "record " << i << ": " << s.ToString();
    ASSERT_EQ(value, Word(i * 0x9E3779B97F4A7C15ULL)) << "record " << i;
  }
  EXPECT_EQ(db->Fetch(Word(kManyRecords), &value).code(), Error::kNoExist);
  uint64_t count = 0;
  PTDB_ASSERT_OK(db->Traverse([](std::string_view, std::string_view) { return true; }, &count));
  EXPECT_EQ(count, kManyRecords);
  PTDB_EXPECT_OK(db->Check());
}

INSTANTIATE_TEST_SUITE_P(FileMmap, GrowthVolumeTest, ::testing::Values(Mode::kFileMmap), ParamName);

}  // namespace
}  // namespace ptdb::test
