#include "common/summary.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "common/format.h"
#include "tests/support/layout.h"
#include "tests/support/vector_space.h"

namespace ptdb {
namespace {

using test::Layout;
using test::VectorSpace;

std::string Summarize(const std::vector<uint8_t>& db, bool histograms) {
  VectorSpace space(&db);
  std::string report;
  const Status s = SummarizeDatabase(space, histograms, &report);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return report;
}

// The line starting with `prefix`, or "" if none.
std::string Line(const std::string& report, const std::string& prefix) {
  std::istringstream in(report);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return "";
}

std::string MinAvgMax(const std::vector<uint64_t>& v) {
  uint64_t total = 0;
  for (uint64_t x : v) total += x;
  char buf[128];
  std::snprintf(
      buf, sizeof(buf), "%llu/%.1f/%llu", (unsigned long long)*std::min_element(v.begin(), v.end()),
      double(total) / double(v.size()), (unsigned long long)*std::max_element(v.begin(), v.end()));
  return buf;
}

class SummaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    layout_.BeginZone(4096);
    for (size_t i = 0; i < keys_.size(); i++) {
      layout_.AddRecord(keys_[i], data_[i], paddings_[i]);
    }
    layout_.AddFree(64);
    layout_.BeginZone(2048);
    sg_ = layout_.AddSubGroup(64);
    ASSERT_TRUE(layout_.LinkChild(layout_.Hash("anchor"), 0, sg_));
    db_ = layout_.Finish();
  }

  Layout layout_;
  const std::vector<std::string> keys_ = {"a", "bbbb", "cc", "dddddddddddd"};
  const std::vector<std::string> data_ = {"1", std::string(100, 'x'), "", std::string(40, 'y')};
  const std::vector<uint64_t> paddings_ = {0, 0, 16, 8};
  uint64_t sg_ = 0;
  std::vector<uint8_t> db_;
};

TEST_F(SummaryTest, Counts) {
  const std::string r = Summarize(db_, false);
  uint64_t data_bytes = 0;
  std::vector<uint64_t> key_lens, data_lens;
  for (size_t i = 0; i < keys_.size(); i++) {
    key_lens.push_back(keys_[i].size());
    data_lens.push_back(data_[i].size());
    data_bytes += keys_[i].size() + data_[i].size();
  }
  EXPECT_EQ(Line(r, "Size of file/data:"),
            "Size of file/data: " + std::to_string(db_.size()) + "/" + std::to_string(data_bytes));
  EXPECT_EQ(Line(r, "Number of records:"), "Number of records: " + std::to_string(keys_.size()));
  EXPECT_EQ(Line(r, "Smallest/average/largest keys:"),
            "Smallest/average/largest keys: " + MinAvgMax(key_lens));
  EXPECT_EQ(Line(r, "Smallest/average/largest data:"),
            "Smallest/average/largest data: " + MinAvgMax(data_lens));
  EXPECT_EQ(Line(r, "Number of zones:"), "Number of zones: 2");
  // The top table holds the 4 records and the sub-hash entry.
  EXPECT_EQ(Line(r, "Toplevel hash used:"),
            "Toplevel hash used: " + std::to_string(keys_.size() + 1) + " of 1024");
  EXPECT_EQ(Line(r, "Number of sub-groups:"),
            "Number of sub-groups: 1 (8 slots: 0, 16 slots: 0, 32 slots: 0, 64 slots: 1)");
  EXPECT_EQ(Line(r, "Number of chains:"), "Number of chains: 0");
  EXPECT_EQ(Line(r, "Maximum tree depth:"), "Maximum tree depth: 2");
}

TEST_F(SummaryTest, FreeSpace) {
  const std::string r = Summarize(db_, false);
  // 64 bytes, the rest of zone 1, and the rest of zone 2.
  const std::string line = Line(r, "Number of free records:");
  EXPECT_EQ(line, "Number of free records: 3");
  uint64_t used = 0;
  for (size_t i = 0; i < keys_.size(); i++) {
    // AddRecord rounds key + data + padding up to 8 bytes, at least 8.
    const uint64_t body = keys_[i].size() + data_[i].size() + paddings_[i];
    used += 16 + std::max<uint64_t>(8, (body + 7) / 8 * 8);
  }
  const uint64_t free_bytes =
      (4096 - format::kZoneRecordSize - used) + (2048 - format::kZoneRecordSize - (16 + 512));
  EXPECT_EQ(Line(r, "Free bytes:"), "Free bytes: " + std::to_string(free_bytes));
}

TEST_F(SummaryTest, PercentagesAddUp) {
  const std::string r = Summarize(db_, false);
  const std::string line = Line(r, "Percentage ");
  ASSERT_FALSE(line.empty()) << r;
  std::istringstream in(line.substr(line.find(':') + 1));
  double total = 0;
  int parts = 0;
  for (std::string part; std::getline(in, part, '/'); parts++) total += std::stod(part);
  EXPECT_EQ(parts, 8);
  EXPECT_NEAR(total, 100.0, 0.5);
}

TEST_F(SummaryTest, HistogramsOnlyWhenAsked) {
  const std::string plain = Summarize(db_, false);
  const std::string with = Summarize(db_, true);
  for (const char* title :
       {"Key size histogram:", "Data size histogram:", "Free record size histogram:"}) {
    EXPECT_EQ(plain.find(title), std::string::npos) << title;
    EXPECT_NE(with.find(title), std::string::npos) << title;
  }
  EXPECT_EQ(plain.find('*'), std::string::npos);
  EXPECT_NE(with.find('*'), std::string::npos);
  // Everything in the plain report is in the one with histograms too.
  EXPECT_EQ(with.rfind(plain, 0), 0u);
}

TEST_F(SummaryTest, HistogramBucketsCountRecords) {
  const std::string r = Summarize(db_, true);
  const size_t start = r.find("Key size histogram:");
  const size_t end = r.find("Data size histogram:");
  ASSERT_NE(start, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  // Key lengths 1, 4, 2, 12: power-of-two buckets 1-1, 2-3, 4-7, 8-15 each hold one.
  std::istringstream in(r.substr(start, end - start));
  std::string line;
  std::getline(in, line);
  uint64_t counted = 0;
  for (; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string range;
    uint64_t count = 0;
    fields >> range >> count;
    counted += count;
    EXPECT_EQ(count > 0, line.find('*') != std::string::npos) << line;
  }
  EXPECT_EQ(counted, keys_.size());
}

TEST(SummaryDepthTest, ChainsCountAsDeepest) {
  Layout l(test::kLayoutSeed, [](const void*, size_t, uint64_t) -> uint64_t { return 0; });
  l.BeginZone(16384);
  for (unsigned level = 0; level < format::kMaxSubLevels; level++) {
    ASSERT_TRUE(l.LinkChild(0, level, l.AddSubGroup(64)));
  }
  ASSERT_TRUE(l.LinkChild(0, format::kMaxSubLevels, l.AddChain()));
  l.AddRecord("x", "y");
  const auto db = l.Finish();
  const std::string r = Summarize(db, false);
  EXPECT_EQ(Line(r, "Number of chains:"), "Number of chains: 1");
  EXPECT_EQ(Line(r, "Maximum tree depth:"),
            "Maximum tree depth: " + std::to_string(format::kMaxSubLevels + 2));
}

TEST(SummaryCorruptTest, UnscannableSpaceIsCorrupt) {
  Layout l;
  const uint64_t z = l.BeginZone(4096);
  auto db = l.Finish();
  db[z + format::kZoneRecordSize + 7] = 0x12;  // not a record magic
  VectorSpace space(&db);
  std::string report = "untouched";
  EXPECT_TRUE(SummarizeDatabase(space, true, &report).IsCorrupt());
  EXPECT_EQ(report, "untouched");
}

}  // namespace
}  // namespace ptdb
