#include "common/rescue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/check.h"
#include "common/format.h"
#include "tests/support/layout.h"
#include "tests/support/vector_space.h"

namespace ptdb {
namespace {

using test::Layout;
using test::VectorSpace;

constexpr uint64_t kZone = 4096;

class RescueTest : public ::testing::Test {
 protected:
  // Rescues db into saved_ (every key must come once), through a mapping-style reader
  // unless copy.
  Status Rescue(const std::vector<uint8_t>& db, bool copy = false, unsigned flags = 0) {
    saved_.clear();
    report_ = RescueReport();
    VectorSpace space(&db, copy);
    return RescueDatabase(
        space, layout_.hasher(),
        [&](std::string_view k, std::string_view d) {
          EXPECT_EQ(saved_.count(std::string(k)), 0u) << "handed over twice: " << k;
          saved_[std::string(k)] = std::string(d);
          return Status::OK();
        },
        &report_, flags);
  }

  // Records "key<i>" with data "value<i>", all in the top-level table.
  std::map<std::string, uint64_t> AddRecords(int n) {
    std::map<std::string, uint64_t> recs;
    for (int i = 0; i < n; i++) {
      const std::string k = "key" + std::to_string(i);
      recs[k] = layout_.AddRecord(k, "value" + std::to_string(i));
      EXPECT_NE(recs[k], 0u);
    }
    return recs;
  }

  void ExpectSaved(const std::map<std::string, uint64_t>& recs,
                   const std::vector<std::string>& except, const std::string& data_prefix) {
    size_t expected = 0;
    for (const auto& [k, off] : recs) {
      if (std::find(except.begin(), except.end(), k) != except.end()) {
        EXPECT_EQ(saved_.count(k), 0u) << k;
        continue;
      }
      expected++;
      ASSERT_EQ(saved_.count(k), 1u) << k;
      if (data_prefix == "value") {
        EXPECT_EQ(saved_[k], "value" + k.substr(3)) << k;
      } else {
        EXPECT_EQ(saved_[k], data_prefix + k) << k;
      }
    }
    EXPECT_EQ(saved_.size(), expected);
    EXPECT_EQ(report_.records, expected);
  }

  Layout layout_;
  std::map<std::string, std::string> saved_;
  RescueReport report_;
};

TEST_F(RescueTest, SoundDatabaseGivesEveryRecordAndNoDamage) {
  layout_.BeginZone(kZone);
  const auto recs = AddRecords(20);
  const auto db = layout_.Finish();
  for (bool copy : {false, true}) {
    ASSERT_TRUE(Rescue(db, copy).ok());
    ExpectSaved(recs, {}, "value");
    EXPECT_EQ(report_.lost_entries, 0u);
    EXPECT_EQ(report_.duplicates, 0u);
    EXPECT_TRUE(report_.space_scanned);
    EXPECT_EQ(report_.unreachable, 0u);
    EXPECT_EQ(report_.first_problem, "");
  }
}

TEST_F(RescueTest, SubGroupTreeIsWalked) {
  test::SubGroupTree t;
  test::BuildSubGroupTree(&layout_, &t);
  const auto db = layout_.Finish();
  ASSERT_TRUE(Rescue(db).ok());
  ExpectSaved(t.recs, {}, "data of ");
  EXPECT_EQ(report_.lost_entries, 0u);
}

TEST_F(RescueTest, RecordWithBadHeaderIsPassedOver) {
  layout_.BeginZone(kZone);
  const auto recs = AddRecords(10);
  layout_.Put64(recs.at("key3"), 0x7676767676767676ULL);
  const auto db = layout_.Finish();
  VectorSpace space(&db);
  ASSERT_FALSE(CheckDatabase(space, layout_.hasher(), nullptr).ok());
  ASSERT_TRUE(Rescue(db).ok());
  ExpectSaved(recs, {"key3"}, "value");
  EXPECT_EQ(report_.lost_entries, 1u);
  EXPECT_FALSE(report_.space_scanned);  // the scan cannot step over the broken record
  EXPECT_EQ(report_.first_problem.find("entry at "), 0u) << report_.first_problem;
  EXPECT_NE(report_.first_problem.find("not a well-formed record header"), std::string::npos)
      << report_.first_problem;
}

TEST_F(RescueTest, EntryOutsideTheSpaceIsPassedOver) {
  layout_.BeginZone(kZone);
  const auto recs = AddRecords(10);
  const uint64_t slot = layout_.SlotOf(recs.at("key5"));
  const uint64_t e = layout_.Get64(slot);
  layout_.Put64(slot, (e & ~format::kEntryOffsetMask) | (uint64_t(1) << 40));
  const auto db = layout_.Finish();
  ASSERT_TRUE(Rescue(db).ok());
  ExpectSaved(recs, {"key5"}, "value");
  EXPECT_EQ(report_.lost_entries, 1u);
  // The record itself is sound but nothing leads to it any more.
  EXPECT_TRUE(report_.space_scanned);
  EXPECT_EQ(report_.unreachable, 1u);
}

TEST_F(RescueTest, KeyThatHashesElsewhereIsPassedOver) {
  layout_.BeginZone(kZone);
  const auto recs = AddRecords(10);
  // Change the key's last byte: the record stays well formed but is no longer where its
  // key leads (or its header's hash bits no longer match).
  auto& bytes = layout_.bytes();
  bytes[recs.at("key7") + format::kUsedHeaderSize + 3] = 'X';
  const auto db = layout_.Finish();
  ASSERT_TRUE(Rescue(db).ok());
  ExpectSaved(recs, {"key7"}, "value");
  EXPECT_EQ(saved_.count("keyX"), 0u);
  EXPECT_EQ(report_.lost_entries, 1u);
}

TEST_F(RescueTest, DamagedSubGroupLosesOnlyWhatIsBelowIt) {
  test::SubGroupTree t;
  test::BuildSubGroupTree(&layout_, &t);
  layout_.Put64(t.sg2, 0);  // the 8-slot sub-group's header
  const auto db = layout_.Finish();
  ASSERT_TRUE(Rescue(db).ok());
  ExpectSaved(t.recs, t.deep, "data of ");
  EXPECT_EQ(report_.lost_entries, 1u);
}

TEST_F(RescueTest, SubGroupLeadingBackToItselfEnds) {
  test::SubGroupTree t;
  test::BuildSubGroupTree(&layout_, &t);
  // An empty slot of the 64-slot sub-group becomes a sub-hash entry leading to itself.
  const uint64_t slots = t.sg1 + format::kUsedHeaderSize;
  uint64_t free_slot = 0;
  for (unsigned i = 0; i < 64 && free_slot == 0; i++) {
    if (layout_.Get64(slots + 8 * i) == 0 && i % 8 == 0) free_slot = slots + 8 * i;
  }
  ASSERT_NE(free_slot, 0u);
  layout_.Put64(free_slot, format::MakeEntry(t.sg1, 0, format::SubGroupSizeCode(8), true));
  const auto db = layout_.Finish();
  ASSERT_TRUE(Rescue(db).ok());
  ExpectSaved(t.recs, {}, "data of ");
  EXPECT_EQ(report_.lost_entries, 1u);
  EXPECT_NE(report_.first_problem.find("leads back"), std::string::npos) << report_.first_problem;
}

uint64_t ZeroHash(const void*, size_t, uint64_t) { return 0; }

TEST_F(RescueTest, ChainLoopEnds) {
  layout_ = Layout(test::kLayoutSeed, ZeroHash);
  layout_.BeginZone(16384);
  for (unsigned level = 0; level < format::kMaxSubLevels; level++) {
    ASSERT_TRUE(layout_.LinkChild(0, level, layout_.AddSubGroup(64)));
  }
  const uint64_t chain1 = layout_.AddChain(), chain2 = layout_.AddChain();
  ASSERT_TRUE(layout_.LinkChild(0, format::kMaxSubLevels, chain1));
  layout_.Put64(chain1 + 16 + 64, chain2);
  std::map<std::string, uint64_t> recs;
  for (int i = 0; i < 12; i++) {
    recs["key" + std::to_string(i)] =
        layout_.AddRecord("key" + std::to_string(i), "value" + std::to_string(i));
  }
  layout_.Put64(chain2 + 16 + 64, chain1);
  const auto db = layout_.Finish();
  ASSERT_TRUE(Rescue(db).ok());
  ExpectSaved(recs, {}, "value");
  EXPECT_EQ(report_.lost_entries, 1u);
}

TEST_F(RescueTest, RecordLinkedTwiceIsGivenOnce) {
  layout_.BeginZone(kZone);
  const auto recs = AddRecords(5);
  const uint64_t slot = layout_.SlotOf(recs.at("key2"));
  // The next empty slot of the same group holds the same entry again.
  uint64_t other = 0;
  for (unsigned i = 1; i < format::kGroupSlots && other == 0; i++) {
    const uint64_t group = slot - (slot - format::kTopHashOffset) % 64;
    const uint64_t at = group + (slot - group + 8 * i) % 64;
    if (layout_.Get64(at) == 0) other = at;
  }
  ASSERT_NE(other, 0u);
  layout_.Put64(other, layout_.Get64(slot));
  const auto db = layout_.Finish();
  ASSERT_TRUE(Rescue(db).ok());
  ExpectSaved(recs, {}, "value");
  EXPECT_EQ(report_.duplicates, 1u);
  EXPECT_EQ(report_.lost_entries, 0u);
}

TEST_F(RescueTest, UnlinkedRecordIsCountedNotGiven) {
  layout_.BeginZone(kZone);
  const auto recs = AddRecords(5);
  ASSERT_NE(layout_.AddUnlinkedRecord("half-stored", "never returned"), 0u);
  const auto db = layout_.Finish();
  ASSERT_TRUE(Rescue(db).ok());
  ExpectSaved(recs, {}, "value");
  EXPECT_EQ(report_.unreachable, 1u);
  EXPECT_EQ(report_.lost_entries, 0u);
  EXPECT_NE(report_.first_problem.find("not reachable"), std::string::npos);
}

TEST_F(RescueTest, UnreachableFlagSavesWhatALostEntryLedTo) {
  test::SubGroupTree t;
  test::BuildSubGroupTree(&layout_, &t);
  // The entry leading to the 8-slot sub-group now leads outside the space.
  const uint64_t slot = layout_.SlotOf(t.sg2);
  ASSERT_NE(slot, 0u);
  layout_.Put64(slot, (layout_.Get64(slot) & ~format::kEntryOffsetMask) | (uint64_t(1) << 40));
  const auto db = layout_.Finish();
  ASSERT_TRUE(Rescue(db).ok());
  ExpectSaved(t.recs, t.deep, "data of ");
  ASSERT_TRUE(Rescue(db, false, kRescueUnreachable).ok());
  ExpectSaved(t.recs, {}, "data of ");
  EXPECT_EQ(report_.lost_entries, 1u);
  EXPECT_TRUE(report_.space_scanned);
  EXPECT_EQ(report_.unreachable, t.deep.size());
  EXPECT_EQ(report_.unreachable_saved, t.deep.size());
}

TEST_F(RescueTest, UnreachableFlagSkipsOldCopiesAndKeysFoundTwice) {
  layout_.BeginZone(kZone);
  auto recs = AddRecords(5);
  ASSERT_NE(layout_.AddUnlinkedRecord("key2", "an old copy"), 0u);
  ASSERT_NE(layout_.AddUnlinkedRecord("twice", "one"), 0u);
  ASSERT_NE(layout_.AddUnlinkedRecord("twice", "two"), 0u);
  ASSERT_NE(layout_.AddUnlinkedRecord("keyX", "half-stored"), 0u);
  const auto db = layout_.Finish();
  ASSERT_TRUE(Rescue(db, false, kRescueUnreachable).ok());
  EXPECT_EQ(saved_.at("key2"), "value2");
  EXPECT_EQ(saved_.count("twice"), 0u);
  EXPECT_EQ(saved_.at("keyX"), "half-stored");
  EXPECT_EQ(saved_.size(), 6u);
  EXPECT_EQ(report_.unreachable, 4u);
  EXPECT_EQ(report_.unreachable_saved, 1u);
  EXPECT_EQ(report_.records, 6u);
  // Without the flag none of them.
  ASSERT_TRUE(Rescue(db).ok());
  ExpectSaved(recs, {}, "value");
  EXPECT_EQ(report_.unreachable_saved, 0u);
}

TEST_F(RescueTest, CallbackErrorStopsIt) {
  layout_.BeginZone(kZone);
  AddRecords(5);
  const auto db = layout_.Finish();
  VectorSpace space(&db);
  int calls = 0;
  const Status st = RescueDatabase(
      space, layout_.hasher(),
      [&](std::string_view, std::string_view) {
        return ++calls == 2 ? Status(Error::kIo, "disk full") : Status::OK();
      },
      nullptr);
  EXPECT_EQ(st.code(), Error::kIo);
  EXPECT_EQ(calls, 2);
}

TEST_F(RescueTest, NotAPtdbHeaderIsCorrupt) {
  layout_.BeginZone(kZone);
  AddRecords(2);
  auto db = layout_.Finish();
  db[0] ^= 0xFF;
  EXPECT_TRUE(Rescue(db).IsCorrupt());
  db.resize(100);
  EXPECT_TRUE(Rescue(db).IsCorrupt());
}

// Random damage: whatever bytes change, the rescue ends, and every key it hands over is a
// key that was stored (a damaged key fails the hash test: ~28 hash bits are compared).
TEST_F(RescueTest, RandomDamageNeverInventsKeys) {
  test::SubGroupTree t;
  test::BuildSubGroupTree(&layout_, &t);
  for (int i = 0; i < 40; i++) {
    const std::string k = "key" + std::to_string(i);
    t.recs[k] = layout_.AddRecord(k, "data of " + k);
  }
  const auto clean = layout_.Finish();
  std::mt19937_64 rng(20261124);
  uint64_t lost = 0;
  for (int trial = 0; trial < 2000; trial++) {
    auto db = clean;
    const int flips = 1 + int(rng() % 8);
    for (int f = 0; f < flips; f++) {
      const size_t at = format::kTopHashOffset + rng() % (db.size() - format::kTopHashOffset);
      db[at] = uint8_t(rng());
    }
    ASSERT_TRUE(Rescue(db, trial % 2 == 1).ok()) << "trial " << trial;
    for (const auto& [k, d] : saved_) ASSERT_EQ(t.recs.count(k), 1u) << "trial " << trial;
    lost += t.recs.size() - saved_.size();
  }
  EXPECT_GT(lost, 0u);  // the damage did reach records
}

}  // namespace
}  // namespace ptdb
