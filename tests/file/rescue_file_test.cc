// Db::RescueFile: a database file that cannot be opened any more, because a zone record is
// damaged, still gives every record its hash tree leads to.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/format.h"
#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

uint64_t OtherHash(const void* key, size_t len, uint64_t seed) {
  uint64_t h = seed ^ 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < len; i++) h = (h ^ static_cast<const uint8_t*>(key)[i]) * 0x100000001b3ULL;
  return h;
}

class RescueFileTest : public ::testing::Test {
 protected:
  std::string Path() const { return dir_.File("db"); }

  // A file database of n records, closed.
  Dump MakeDb(int n, const HashFn& hash = nullptr) {
    Options o;
    o.open_flags = O_RDWR | O_CREAT;
    o.hash = hash;
    std::unique_ptr<Db> db;
    EXPECT_TRUE(Db::Open(Path(), o, &db).ok());
    Dump expected;
    if (!db) return expected;
    for (int i = 0; i < n; i++) {
      const std::string key = "key-" + std::to_string(i), value(size_t(i % 70), 'v');
      EXPECT_TRUE(db->Store(key, value).ok());
      expected[key] = value;
    }
    return expected;
  }

  // Overwrites `len` bytes at `off` with `byte`.
  void Smash(uint64_t off, size_t len, char byte) {
    const int fd = open(Path().c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    const std::string junk(len, byte);
    ASSERT_EQ(pwrite(fd, junk.data(), len, off_t(off)), ssize_t(len));
    close(fd);
  }

  // The entries in use in top-level group g.
  unsigned TopGroupEntries(unsigned g) const {
    uint64_t slots[format::kGroupSlots];
    const int fd = open(Path().c_str(), O_RDONLY);
    EXPECT_EQ(pread(fd, slots, sizeof(slots), off_t(format::kTopHashOffset + 64 * g)),
              ssize_t(sizeof(slots)));
    close(fd);
    unsigned n = 0;
    for (uint64_t e : slots) n += e != 0;
    return n;
  }

  uint64_t FirstZone() const {
    format::Header h;
    const int fd = open(Path().c_str(), O_RDONLY);
    EXPECT_EQ(pread(fd, &h, sizeof(h), 0), ssize_t(sizeof(h)));
    close(fd);
    return h.first_zone;
  }

  Status Rescue(Dump* saved, RescueReport* report, const HashFn& hash = nullptr) {
    Options o;
    o.hash = hash;
    o.log = [this](LogLevel, Error, std::string_view msg) { logged_.emplace_back(msg); };
    return Db::RescueFile(
        Path(), o,
        [&](std::string_view k, std::string_view d) {
          EXPECT_TRUE(saved->emplace(std::string(k), std::string(d)).second) << "twice: " << k;
          return Status::OK();
        },
        report);
  }

  TempDir dir_;
  std::vector<std::string> logged_;
};

TEST_F(RescueFileTest, SoundFileGivesEveryRecord) {
  const Dump expected = MakeDb(2000);
  Dump saved;
  RescueReport report;
  ASSERT_TRUE(Rescue(&saved, &report).ok());
  EXPECT_EQ(saved, expected);
  EXPECT_EQ(report.records, expected.size());
  EXPECT_EQ(report.lost_entries, 0u);
  EXPECT_TRUE(report.space_scanned);
  EXPECT_EQ(report.unreachable, 0u);
}

TEST_F(RescueFileTest, DamagedZoneRecordStopsOpenButNotRescue) {
  const Dump expected = MakeDb(2000);
  Smash(FirstZone(), 16, '\xee');
  Options o;
  o.open_flags = O_RDONLY;
  std::unique_ptr<Db> db;
  const Status open = Db::Open(Path(), o, &db);
  ASSERT_TRUE(open.IsCorrupt()) << open.ToString();
  Dump saved;
  RescueReport report;
  ASSERT_TRUE(Rescue(&saved, &report).ok());
  EXPECT_EQ(saved, expected);
  EXPECT_EQ(report.lost_entries, 0u);
  EXPECT_FALSE(report.space_scanned);
  EXPECT_NE(report.first_problem.find("zone at"), std::string::npos) << report.first_problem;
}

TEST_F(RescueFileTest, DamagedTopGroupLosesOnlyItsRecords) {
  const Dump expected = MakeDb(300);
  // The seed is random: smash a group that holds entries (with 300 records over 128
  // groups, a fixed one is empty about one run in ten).
  unsigned group = format::kTopGroups;
  for (unsigned g = 0; g < format::kTopGroups && group == format::kTopGroups; g++) {
    if (TopGroupEntries(g) > 0) group = g;
  }
  ASSERT_LT(group, format::kTopGroups);
  Smash(format::kTopHashOffset + 64 * group, 64, '\x7f');
  Dump saved;
  RescueReport report;
  ASSERT_TRUE(Rescue(&saved, &report).ok());
  EXPECT_GT(report.lost_entries, 0u);
  EXPECT_LT(saved.size(), expected.size());
  EXPECT_GT(saved.size(), expected.size() - 20);
  for (const auto& [k, v] : saved) EXPECT_EQ(expected.at(k), v) << k;
}

TEST_F(RescueFileTest, OwnHashFunctionIsNeeded) {
  const Dump expected = MakeDb(100, OtherHash);
  Dump saved;
  RescueReport report;
  const Status wrong = Rescue(&saved, &report);
  EXPECT_EQ(wrong.code(), Error::kEinval) << wrong.ToString();
  EXPECT_TRUE(saved.empty());
  ASSERT_EQ(logged_.size(), 1u);
  EXPECT_NE(logged_[0].find("different hash function"), std::string::npos) << logged_[0];
  ASSERT_TRUE(Rescue(&saved, &report, OtherHash).ok());
  EXPECT_EQ(saved, expected);
}

TEST_F(RescueFileTest, WhatIsNoDatabaseIsRefused) {
  Dump saved;
  RescueReport report;
  EXPECT_EQ(Rescue(&saved, &report).code(), Error::kIo);  // no file
  {
    const int fd = open(Path().c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    const std::string text(20000, 'x');
    ASSERT_EQ(write(fd, text.data(), text.size()), ssize_t(text.size()));
    close(fd);
  }
  const Status st = Rescue(&saved, &report);
  EXPECT_TRUE(st.IsCorrupt()) << st.ToString();
  EXPECT_NE(st.message().find("not a ptdb database"), std::string_view::npos) << st.ToString();
  ASSERT_EQ(truncate(Path().c_str(), 100), 0);
  EXPECT_TRUE(Rescue(&saved, &report).IsCorrupt());
  EXPECT_TRUE(saved.empty());
  EXPECT_EQ(Db::RescueFile(Path(), Options(), nullptr).code(), Error::kEinval);
  EXPECT_EQ(Db::RescueFile(
                Path(), Options(), [](std::string_view, std::string_view) { return Status::OK(); },
                nullptr, 2)
                .code(),
            Error::kEinval);
}

}  // namespace
}  // namespace ptdb::test
