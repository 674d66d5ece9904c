#include "common/check.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/format.h"
#include "common/record.h"
#include "tests/support/layout.h"
#include "tests/support/vector_space.h"

namespace ptdb {
namespace {

using ptdb::LevelBucket;
using test::Layout;
using test::PathMask;
using test::VectorSpace;

constexpr uint64_t kZone = 4096;

uint64_t ZeroHash(const void*, size_t, uint64_t) { return 0; }

class CheckTest : public ::testing::Test {
 protected:
  // Checks db with the layout's hasher, through a mapping-style reader unless copy.
  Status Check(const std::vector<uint8_t>& db, bool copy = false) {
    seen_.clear();
    VectorSpace space(&db, copy);
    std::map<std::string, int> calls;
    const Status s =
        CheckDatabase(space, layout_.hasher(), [&](std::string_view k, std::string_view d) {
          calls[std::string(k)]++;
          seen_[std::string(k)] = std::string(d);
          return Status::OK();
        });
    if (s.ok()) {
      for (const auto& [key, n] : calls) EXPECT_EQ(n, 1) << "callback calls for " << key;
    }
    return s;
  }

  // Expects kCorrupt with a message containing `what`.
  void ExpectCorrupt(const std::vector<uint8_t>& db, const std::string& what) {
    const Status s = Check(db);
    EXPECT_TRUE(s.IsCorrupt()) << s.ToString();
    EXPECT_NE(s.message().find(what), std::string_view::npos)
        << "message: " << s.message() << "\nexpected to contain: " << what;
  }

  // The slot offset holding the entry of the record at rec.
  uint64_t Slot(uint64_t rec) {
    const uint64_t at = layout_.SlotOf(rec);
    EXPECT_NE(at, 0u);
    return at;
  }

  // A used record's header, re-encoded after `change`.
  template <class Fn>
  void RewriteHeader(uint64_t off, Fn change) {
    RecordInfo info =
        DecodeUsedHeader(format::UsedHeader{layout_.Get64(off), layout_.Get64(off + 8)});
    change(&info);
    format::UsedHeader h;
    ASSERT_TRUE(EncodeUsedHeader(info, &h));
    layout_.Put64(off, h.magic_and_meta);
    layout_.Put64(off + 8, h.key_and_data_len);
  }

  Layout layout_;
  std::map<std::string, std::string> seen_;
};

// ---- Valid layouts ----

TEST_F(CheckTest, EmptyDatabase) {
  layout_.BeginZone(kZone);
  const auto db = layout_.Finish();
  EXPECT_TRUE(Check(db).ok()) << Check(db).ToString();
  EXPECT_TRUE(seen_.empty());
}

TEST_F(CheckTest, ZoneWithoutFreeSpace) {
  layout_.BeginZone(format::kZoneRecordSize);
  const auto db = layout_.Finish();
  EXPECT_TRUE(Check(db).ok()) << Check(db).ToString();
}

TEST_F(CheckTest, RecordsInTopTableSeenOnce) {
  layout_.BeginZone(kZone);
  std::map<std::string, std::string> want;
  for (int i = 0; i < 6; i++) {
    const std::string key = "key" + std::to_string(i);
    const std::string data(size_t(i * 7), char('a' + i));
    want[key] = data;
    ASSERT_NE(layout_.AddRecord(key, data, uint64_t(i % 3) * 8), 0u);
  }
  const auto db = layout_.Finish();
  for (bool copy : {false, true}) {
    const Status s = Check(db, copy);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(seen_, want);
  }
}

TEST_F(CheckTest, EmptyKeyAndEmptyData) {
  layout_.BeginZone(kZone);
  layout_.AddRecord("", "");
  layout_.AddRecord("k", "");
  const auto db = layout_.Finish();
  EXPECT_TRUE(Check(db).ok()) << Check(db).ToString();
  EXPECT_EQ(seen_.size(), 2u);
}

TEST_F(CheckTest, OverflowWrapsToLaterSlots) {
  // Three keys in top group 5, home bucket 7: they sit in slots 7, 0 and 1.
  const uint64_t want = (5ULL << 57) | (7ULL << 54);
  const auto keys = test::FindKeys(layout_.hasher(), want, PathMask(0), 3);
  ASSERT_EQ(keys.size(), 3u);
  layout_.BeginZone(kZone);
  std::vector<uint64_t> recs;
  for (const auto& k : keys) recs.push_back(layout_.AddRecord(k, "v" + k));
  const uint64_t group = format::kTopHashOffset + 5 * 64;
  EXPECT_EQ(Slot(recs[0]), group + 7 * 8);
  EXPECT_EQ(Slot(recs[1]), group + 0 * 8);
  EXPECT_EQ(Slot(recs[2]), group + 1 * 8);
  const auto db = layout_.Finish();
  EXPECT_TRUE(Check(db).ok()) << Check(db).ToString();
  EXPECT_EQ(seen_.size(), 3u);
}

TEST_F(CheckTest, SeveralZonesAndFreeLists) {
  layout_.BeginZone(kZone);
  layout_.AddRecord("a", "1");
  layout_.AddFree(64);
  layout_.AddRecord("b", "2");
  layout_.AddFree(64);
  layout_.AddFree(64);
  layout_.AddFree(200);
  layout_.BeginZone(2048);
  layout_.AddFree(64);
  layout_.AddRecord("c", std::string(300, 'x'));
  layout_.BeginZone(kZone);
  layout_.AddRecord("d", "4");
  const auto db = layout_.Finish();
  EXPECT_TRUE(Check(db).ok()) << Check(db).ToString();
  EXPECT_EQ(seen_.size(), 4u);
}

// Whether the slot at `at` lies in the table whose record is at `table`.
bool InTable(uint64_t at, uint64_t table, unsigned slots) {
  return at >= table + 16 && at < table + 16 + 8 * slots;
}

TEST_F(CheckTest, SubGroupTree) {
  test::SubGroupTree t;
  test::BuildSubGroupTree(&layout_, &t);
  for (const auto& k : t.deep) EXPECT_TRUE(InTable(Slot(t.recs[k]), t.sg2, 8)) << k;
  for (const auto& k : t.mid) EXPECT_TRUE(InTable(Slot(t.recs[k]), t.sg1, 64)) << k;
  for (const auto& k : t.top) EXPECT_LT(Slot(t.recs[k]), format::kHeaderSize) << k;
  const auto db = layout_.Finish();
  EXPECT_TRUE(Check(db).ok()) << Check(db).ToString();
  ASSERT_EQ(seen_.size(), t.recs.size());
  for (const auto& [k, off] : t.recs) EXPECT_EQ(seen_[k], "data of " + k);
}

TEST_F(CheckTest, SmallSubGroupMasksGroupBits) {
  // A 16-slot (2-group) sub-group: level-1 group bits 1, 3, 5, 7 all map to group 1.
  const uint64_t base = layout_.Hash("anchor");
  layout_.BeginZone(kZone);
  const uint64_t sg = layout_.AddSubGroup(16);
  ASSERT_TRUE(layout_.LinkChild(base, 0, sg));
  int n = 0;
  for (uint64_t gb : {1, 3, 5, 7, 0, 2}) {
    const uint64_t want = (base & PathMask(0)) | (gb << 48);
    const auto keys = test::FindKeys(layout_.hasher(), want, PathMask(0) | (7ULL << 48), 1,
                                     "g" + std::to_string(gb));
    ASSERT_NE(layout_.AddRecord(keys[0], "v"), 0u);
    n++;
  }
  const auto db = layout_.Finish();
  EXPECT_TRUE(Check(db).ok()) << Check(db).ToString();
  EXPECT_EQ(seen_.size(), size_t(n));
}

TEST_F(CheckTest, RecordInWrongGroupOfSmallSubGroup) {
  const uint64_t base = layout_.Hash("anchor");
  layout_.BeginZone(kZone);
  const uint64_t sg = layout_.AddSubGroup(16);
  ASSERT_TRUE(layout_.LinkChild(base, 0, sg));
  // Level-1 group bits 3: physical group 3 & 1 = 1 of the 2.
  const auto keys = test::FindKeys(layout_.hasher(), (base & PathMask(0)) | (3ULL << 48),
                                   PathMask(0) | (7ULL << 48), 1, "g");
  const uint64_t at = Slot(layout_.AddRecord(keys[0], "v"));
  ASSERT_GE(at, sg + 16 + 64);
  layout_.Put64(at - 64, layout_.Get64(at));
  layout_.Put64(at, 0);
  ExpectCorrupt(layout_.Finish(), "gives group 1 at level 1 but stored in group 0");
}

// The degenerate hash sends every key down group 0, bucket 0 to the bottom chain.
class ChainCheckTest : public CheckTest {
 protected:
  ChainCheckTest() { layout_ = Layout(test::kLayoutSeed, ZeroHash); }

  // 9 full sub-groups, then two chain links holding `records` records.
  // With dup, one more record repeats the second key.
  std::vector<uint8_t> Build(int records, bool dup = false) {
    layout_.BeginZone(16384);
    for (unsigned level = 0; level < format::kMaxSubLevels; level++) {
      EXPECT_TRUE(layout_.LinkChild(0, level, layout_.AddSubGroup(64)));
    }
    chain1_ = layout_.AddChain();
    chain2_ = layout_.AddChain();
    EXPECT_TRUE(layout_.LinkChild(0, format::kMaxSubLevels, chain1_));
    layout_.Put64(chain1_ + 16 + 64, chain2_);
    for (int i = 0; i < records; i++) {
      recs_.push_back(layout_.AddRecord("chained" + std::to_string(i), std::to_string(i)));
    }
    if (dup) recs_.push_back(layout_.AddRecord("chained1", "again"));
    return layout_.Finish();
  }

  uint64_t chain1_ = 0, chain2_ = 0;
  std::vector<uint64_t> recs_;
};

TEST_F(ChainCheckTest, DegenerateHashReachesChains) {
  const auto db = Build(11);
  EXPECT_TRUE(Check(db).ok()) << Check(db).ToString();
  EXPECT_EQ(seen_.size(), 11u);
  EXPECT_EQ(Slot(recs_[10]), chain2_ + 16 + 2 * 8);
}

TEST_F(ChainCheckTest, ChainEntryWithBucketBits) {
  Build(3);
  const uint64_t at = Slot(recs_[1]);
  layout_.Put64(at, layout_.Get64(at) | 2);
  ExpectCorrupt(layout_.bytes(), "chain entry");
}

TEST_F(ChainCheckTest, ChainCycle) {
  Build(3);
  layout_.Put64(chain2_ + 16 + 64, chain1_);
  ExpectCorrupt(layout_.bytes(), "second time");
}

TEST_F(ChainCheckTest, ChainLinkToSubGroupIsCorrupt) {
  Build(3);
  layout_.Put64(chain2_ + 16 + 64, format::kHeaderSize + format::kZoneRecordSize);
  ExpectCorrupt(layout_.bytes(), "expected a chain");
}

TEST_F(CheckTest, CapabilitiesWithUnknownBits) {
  layout_.BeginZone(kZone);
  layout_.AddCapability(format::kCapNoOpen | 77);
  layout_.AddRecord("k", "v");
  layout_.AddCapability(format::kCapNoCheck | 78);
  const auto db = layout_.Finish();
  EXPECT_TRUE(Check(db).ok()) << Check(db).ToString();
}

TEST_F(CheckTest, CallbackErrorStopsTheCheck) {
  layout_.BeginZone(kZone);
  for (int i = 0; i < 5; i++) layout_.AddRecord("k" + std::to_string(i), "v");
  const auto db = layout_.Finish();
  VectorSpace space(&db);
  int calls = 0;
  const Status s = CheckDatabase(space, layout_.hasher(), [&](std::string_view, std::string_view) {
    return ++calls == 2 ? Status(Error::kEinval, "stop here") : Status::OK();
  });
  EXPECT_EQ(s.code(), Error::kEinval);
  EXPECT_EQ(s.message(), "stop here");
  EXPECT_EQ(calls, 2);
}

TEST_F(CheckTest, NullCallback) {
  layout_.BeginZone(kZone);
  layout_.AddRecord("k", "v");
  const auto db = layout_.Finish();
  VectorSpace space(&db);
  EXPECT_TRUE(CheckDatabase(space, layout_.hasher(), nullptr).ok());
}

// ---- Header ----

class CheckHeaderTest : public CheckTest {
 protected:
  void SetUp() override {
    layout_.BeginZone(kZone);
    rec_ = layout_.AddRecord("key", "value");
    db_ = layout_.Finish();
    ASSERT_TRUE(Check(db_).ok());
  }
  void Put(size_t off, uint64_t v) { test::Put64(&db_, off, v); }

  uint64_t rec_ = 0;
  std::vector<uint8_t> db_;
};

TEST_F(CheckHeaderTest, BadMagicFood) {
  db_[0] = 'X';
  ExpectCorrupt(db_, "magic_food");
}

TEST_F(CheckHeaderTest, MagicFoodNotZeroPadded) {
  db_[63] = 1;
  ExpectCorrupt(db_, "magic_food");
}

TEST_F(CheckHeaderTest, WrongVersion) {
  Put(offsetof(format::Header, version), format::kVersion + 1);
  ExpectCorrupt(db_, "version");
}

TEST_F(CheckHeaderTest, ForeignByteOrder) {
  Put(offsetof(format::Header, version), __builtin_bswap64(format::kVersion));
  ExpectCorrupt(db_, "foreign byte order");
}

TEST_F(CheckHeaderTest, WrongHashTest) {
  Put(offsetof(format::Header, hash_test), test::Get64(db_, 72) ^ 1);
  ExpectCorrupt(db_, "hash_test");
}

TEST_F(CheckHeaderTest, DifferentSeedIsCaught) {
  VectorSpace space(&db_);
  const Layout other(test::kLayoutSeed + 1);
  const Status s = CheckDatabase(space, other.hasher(), nullptr);
  EXPECT_TRUE(s.IsCorrupt());
  EXPECT_NE(s.message().find("hash_test"), std::string_view::npos) << s.message();
}

TEST_F(CheckHeaderTest, FeaturesUsedNotOffered) {
  Put(offsetof(format::Header, features_offered), 1);
  EXPECT_TRUE(Check(db_).ok());
  Put(offsetof(format::Header, features_used), 3);
  ExpectCorrupt(db_, "features_used");
}

TEST_F(CheckHeaderTest, ReservedWordSet) {
  Put(offsetof(format::Header, reserved) + 8 * 4, 1);
  ExpectCorrupt(db_, "reserved");
}

TEST_F(CheckHeaderTest, FirstZoneWrong) {
  Put(offsetof(format::Header, first_zone), format::kHeaderSize + 8);
  ExpectCorrupt(db_, "first zone");
}

// Recovery areas lie past the zones; one inside the header or unaligned is damage.
TEST_F(CheckHeaderTest, RecoveryAreaInsideHeader) {
  Put(offsetof(format::Header, recovery) + 8, 64);
  ExpectCorrupt(db_, "recovery");
}

TEST_F(CheckHeaderTest, RecoveryAreaUnaligned) {
  Put(offsetof(format::Header, recovery), db_.size() + 3);
  ExpectCorrupt(db_, "recovery");
}

TEST_F(CheckHeaderTest, RecoveryAreaPastTheSpaceIsFine) {
  Put(offsetof(format::Header, recovery), db_.size() + 4096);
  EXPECT_TRUE(Check(db_).ok()) << Check(db_).ToString();
}

TEST_F(CheckHeaderTest, CapabilityPointsAtRecord) {
  Put(offsetof(format::Header, capabilities), rec_);
  ExpectCorrupt(db_, "expected a capability record");
}

TEST_F(CheckHeaderTest, TooShortForHeader) {
  db_.resize(100);
  ExpectCorrupt(db_, "header");
}

TEST_F(CheckTest, CapabilityListCycle) {
  layout_.BeginZone(kZone);
  const uint64_t a = layout_.AddCapability(1);
  const uint64_t b = layout_.AddCapability(2);
  layout_.Put64(b + 16 + 8, a);
  ExpectCorrupt(layout_.Finish(), "second time");
}

TEST_F(CheckTest, CapabilityNotInList) {
  layout_.BeginZone(kZone);
  const uint64_t a = layout_.AddCapability(1);
  layout_.AddCapability(2);
  layout_.Put64(a + 16 + 8, 0);
  ExpectCorrupt(layout_.Finish(), "not in the capability list");
}

TEST_F(CheckTest, ShortCapabilityRecord) {
  layout_.BeginZone(kZone);
  const uint64_t a = layout_.AddCapability(1);
  RewriteHeader(a, [](RecordInfo* i) {
    i->data_len = 8;
    i->padding = 8;
  });
  ExpectCorrupt(layout_.Finish(), "capability record at");
}

// ---- Zones ----

TEST_F(CheckTest, ZoneSizeOverrunsFile) {
  const uint64_t z = layout_.BeginZone(kZone);
  auto db = layout_.Finish();
  test::Put64(&db, z + 16, kZone + 8);
  ExpectCorrupt(db, "size");
}

TEST_F(CheckTest, ZoneSizeTooSmall) {
  const uint64_t z = layout_.BeginZone(kZone);
  auto db = layout_.Finish();
  test::Put64(&db, z + 16, 8);
  ExpectCorrupt(db, "size");
}

TEST_F(CheckTest, GapBetweenZones) {
  const uint64_t z1 = layout_.BeginZone(1024);
  layout_.AddFree(1024 - format::kZoneRecordSize - 32);
  const uint64_t last = layout_.AddUnlinkedFree(32);
  layout_.BeginZone(1024);
  auto db = layout_.Finish();
  ASSERT_EQ(last + 32, z1 + 1024);
  // The zone now ends 32 bytes early, but still names the same next zone.
  test::Put64(&db, z1 + 16, 1024 - 32);
  ExpectCorrupt(db, "tile");
}

TEST_F(CheckTest, LastZoneHasNextZone) {
  const uint64_t z = layout_.BeginZone(kZone);
  auto db = layout_.Finish();
  test::Put64(&db, z + 24, z);
  ExpectCorrupt(db, "ends the space");
}

TEST_F(CheckTest, ZoneListEndsEarly) {
  const uint64_t z = layout_.BeginZone(kZone);
  layout_.BeginZone(kZone);
  auto db = layout_.Finish();
  test::Put64(&db, z + 24, 0);
  ExpectCorrupt(db, "tile");
}

TEST_F(CheckTest, ZoneBadMagic) {
  layout_.BeginZone(kZone);
  const uint64_t z2 = layout_.BeginZone(kZone);
  auto db = layout_.Finish();
  test::Put64(&db, z2, test::Get64(db, z2) ^ (1ULL << 48));
  ExpectCorrupt(db, "not a zone record");
}

TEST_F(CheckTest, FileEndsInsideLastZone) {
  layout_.BeginZone(kZone);
  auto db = layout_.Finish();
  db.resize(db.size() - 8);
  EXPECT_TRUE(Check(db).IsCorrupt());
}

// ---- The linear scan ----

TEST_F(CheckTest, NonzeroFirstPaddingByte) {
  layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddRecord("abc", "defgh", 16);
  auto db = layout_.Finish();
  db[rec + 16 + 8] = 1;
  ExpectCorrupt(db, "first padding byte");
  db[rec + 16 + 8] = 0;
  db[rec + 16 + 9] = 1;  // later padding bytes are free for anything
  EXPECT_TRUE(Check(db).ok()) << Check(db).ToString();
}

TEST_F(CheckTest, RecordRunsPastZoneEnd) {
  layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddRecord("abc", "defgh");
  RewriteHeader(rec, [](RecordInfo* i) { i->data_len = kZone; });
  ExpectCorrupt(layout_.Finish(), "left in its zone");
}

TEST_F(CheckTest, RecordSizeNotAligned) {
  layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddRecord("abc", "defgh");
  RewriteHeader(rec, [](RecordInfo* i) { i->data_len = 4; });
  ExpectCorrupt(layout_.Finish(), "multiple of 8");
}

TEST_F(CheckTest, BadRecordMagic) {
  layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddRecord("abc", "defgh");
  layout_.Put64(rec, (layout_.Get64(rec) & ~(0xFFFFULL << 48)) | (0x1234ULL << 48));
  ExpectCorrupt(layout_.Finish(), "bad magic");
}

TEST_F(CheckTest, ZoneRecordInsideZone) {
  layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddRecord("abc", "defgh");
  RewriteHeader(rec, [](RecordInfo* i) { i->magic = format::kZoneMagic; });
  ExpectCorrupt(layout_.Finish(), "zone record inside");
}

TEST_F(CheckTest, MalformedHeaderWidth) {
  layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddRecord("abc", "defgh");
  // kbits 5 (a 10-bit key length field) for a 3-byte key: it decodes to the same lengths,
  // but is not how a header is written.
  layout_.Put64(rec, (layout_.Get64(rec) & ~(0x1FULL << 43)) | (5ULL << 43));
  layout_.Put64(rec + 8, 3 | (5 << 10));
  ExpectCorrupt(layout_.Finish(), "well-formed");
}

TEST_F(CheckTest, SubGroupWrongSize) {
  layout_.BeginZone(kZone);
  const uint64_t sg = layout_.AddSubGroup(8);
  RewriteHeader(sg, [](RecordInfo* i) {
    i->data_len = 72;
    i->padding = 0;
  });
  ExpectCorrupt(layout_.Finish(), "data length");
}

TEST_F(CheckTest, GarbageInZone) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 20; round++) {
    Layout l;
    const uint64_t z = l.BeginZone(kZone);
    auto db = l.Finish();
    for (uint64_t i = z + format::kZoneRecordSize; i < db.size(); i++) db[i] = uint8_t(rng());
    VectorSpace space(&db);
    EXPECT_TRUE(CheckDatabase(space, l.hasher(), nullptr).IsCorrupt());
  }
}

// ---- Free lists ----

TEST_F(CheckTest, FreeRecordWrongBucketField) {
  layout_.BeginZone(kZone);
  const uint64_t f = layout_.AddFree(64);
  layout_.Put64(f + 8, FreeWord1(SizeToBucket(48) + 1, 48));
  ExpectCorrupt(layout_.Finish(), "bucket field");
}

TEST_F(CheckTest, FreeRecordInListOfWrongBucket) {
  const uint64_t z = layout_.BeginZone(kZone);
  const uint64_t f = layout_.AddUnlinkedFree(64);
  const unsigned wrong = SizeToBucket(48) + 2;
  layout_.Put64(f + 8, FreeWord1(wrong, 48));
  layout_.Put64(f, FreeWord0(f));
  layout_.Put64(Layout::BucketHeadOffset(z, wrong), f);
  ExpectCorrupt(layout_.Finish(), "belongs in bucket");
}

TEST_F(CheckTest, FreeRecordMissingFromLists) {
  layout_.BeginZone(kZone);
  layout_.AddUnlinkedFree(64);
  ExpectCorrupt(layout_.Finish(), "in no free list");
}

TEST_F(CheckTest, FreeListCycle) {
  layout_.BeginZone(kZone);
  const uint64_t a = layout_.AddFree(64);
  layout_.AddFree(64);
  const uint64_t c = layout_.AddFree(64);
  layout_.Put64(c + 16, a);
  ExpectCorrupt(layout_.Finish(), "cycles");
}

TEST_F(CheckTest, FreeListBrokenPrevLink) {
  layout_.BeginZone(kZone);
  const uint64_t a = layout_.AddFree(64);
  const uint64_t b = layout_.AddFree(64);
  layout_.AddFree(64);
  ASSERT_EQ(layout_.Get64(b) & format::kOffsetMask56, a);
  layout_.Put64(b, FreeWord0(0));
  ExpectCorrupt(layout_.Finish(), "prev");
}

TEST_F(CheckTest, FreeListHeadPrevNotTail) {
  layout_.BeginZone(kZone);
  const uint64_t a = layout_.AddFree(64);
  layout_.AddFree(64);
  layout_.Put64(a, FreeWord0(a));
  ExpectCorrupt(layout_.Finish(), "tail");
}

TEST_F(CheckTest, FreeListEntryNotFree) {
  const uint64_t z = layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddRecord("k", "v");
  layout_.Put64(Layout::BucketHeadOffset(z, 3), rec);
  ExpectCorrupt(layout_.Finish(), "not a free record");
}

TEST_F(CheckTest, FreeRecordInAnotherZonesList) {
  layout_.BeginZone(1024);
  const uint64_t f = layout_.AddFree(64);
  const uint64_t z2 = layout_.BeginZone(1024);
  layout_.AddFree(64);
  // Zone 2's list for that bucket now leads into zone 1's record.
  layout_.Put64(Layout::BucketHeadOffset(z2, SizeToBucket(48)), f);
  ExpectCorrupt(layout_.Finish(), "lies in zone");
}

TEST_F(CheckTest, FreeRecordInTwoLists) {
  const uint64_t z = layout_.BeginZone(kZone);
  const uint64_t f = layout_.AddFree(64);
  const unsigned later = SizeToBucket(48) + 4;
  layout_.Put64(Layout::BucketHeadOffset(z, later), f);
  ExpectCorrupt(layout_.Finish(), "in two free lists");
}

TEST_F(CheckTest, FreeLengthRunsPastZone) {
  layout_.BeginZone(kZone);
  const uint64_t f = layout_.AddFree(64);
  layout_.Put64(f + 8, FreeWord1(SizeToBucket(48), kZone));
  ExpectCorrupt(layout_.Finish(), "runs past");
}

// ---- Hash tree ----

TEST_F(CheckTest, EntryPointsOutsideFile) {
  layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddRecord("k", "v");
  const uint64_t at = Slot(rec);
  const uint64_t e = layout_.Get64(at);
  layout_.Put64(at, (e & ~format::kEntryOffsetMask) | (1ULL << 40));
  ExpectCorrupt(layout_.Finish(), "no record starts");
}

TEST_F(CheckTest, EntryPointsIntoMiddleOfRecord) {
  layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddRecord("k", "v");
  const uint64_t at = Slot(rec);
  layout_.Put64(at, layout_.Get64(at) + 8);
  ExpectCorrupt(layout_.Finish(), "no record starts");
}

TEST_F(CheckTest, EntryPointsAtFreeRecord) {
  layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddRecord("k", "v");
  const uint64_t f = layout_.AddFree(64);
  const uint64_t at = Slot(rec);
  layout_.Put64(at, (layout_.Get64(at) & ~format::kEntryOffsetMask) | f);
  ExpectCorrupt(layout_.Finish(), "expected a used record");
}

TEST_F(CheckTest, RecordHashedToAnotherBucket) {
  layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddRecord("k", "v");
  const uint64_t at = Slot(rec);
  const uint64_t e = layout_.Get64(at);
  const unsigned b = format::EntryBucket(e);
  const unsigned nb = (b + 3) % 8;
  // Entry moved to another home bucket of the same group, saying that bucket.
  layout_.Put64(at, 0);
  layout_.Put64(at - 8 * b + 8 * nb, (e & ~format::kEntryBucketMask) | nb);
  ExpectCorrupt(layout_.Finish(), "gives bucket " + std::to_string(b));
}

TEST_F(CheckTest, RecordInAnotherGroup) {
  layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddRecord("k", "v");
  const uint64_t at = Slot(rec);
  const uint64_t e = layout_.Get64(at);
  const uint64_t moved = format::kTopHashOffset + (at - format::kTopHashOffset + 64) % 8192;
  layout_.Put64(at, 0);
  layout_.Put64(moved, e);
  ExpectCorrupt(layout_.Finish(), "group");
}

TEST_F(CheckTest, EmptySlotBetweenHomeAndEntry) {
  layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddRecord("k", "v");
  const uint64_t at = Slot(rec);
  const unsigned b = format::EntryBucket(layout_.Get64(at));
  layout_.Put64(at - 8 * b + 8 * ((b + 2) % 8), layout_.Get64(at));
  layout_.Put64(at, 0);
  ExpectCorrupt(layout_.Finish(), "empty in between");
}

TEST_F(CheckTest, WrongExtraBits) {
  layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddRecord("k", "v");
  const uint64_t at = Slot(rec);
  layout_.Put64(at, layout_.Get64(at) ^ (1ULL << 60));
  ExpectCorrupt(layout_.Finish(), "extra hash bits");
}

TEST_F(CheckTest, WrongHeaderHashBits) {
  layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddRecord("k", "v");
  layout_.Put64(rec, layout_.Get64(rec) ^ 1);
  ExpectCorrupt(layout_.Finish(), "header hash bits");
}

TEST_F(CheckTest, RecordUnreachable) {
  layout_.BeginZone(kZone);
  layout_.AddRecord("k", "v");
  layout_.AddUnlinkedRecord("leaked", "v");
  ExpectCorrupt(layout_.Finish(), "not reachable");
}

TEST_F(CheckTest, SubGroupUnreachable) {
  layout_.BeginZone(kZone);
  layout_.AddSubGroup(8);
  ExpectCorrupt(layout_.Finish(), "sub-group at");
}

TEST_F(CheckTest, RecordReachedTwice) {
  layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddRecord("k", "v");
  const uint64_t at = Slot(rec);
  const unsigned b = format::EntryBucket(layout_.Get64(at));
  // Same entry again in the next slot: a valid probe position, but the same record.
  layout_.Put64(at - 8 * b + 8 * ((b + 1) % 8), layout_.Get64(at));
  ExpectCorrupt(layout_.Finish(), "second time");
}

TEST_F(CheckTest, DuplicateKey) {
  layout_.BeginZone(kZone);
  layout_.AddRecord("dup", "one");
  layout_.AddRecord("other", "x");
  layout_.AddRecord("dup", "two");
  ExpectCorrupt(layout_.Finish(), "same key");
}

TEST_F(ChainCheckTest, DuplicateKeyInChain) { ExpectCorrupt(Build(4, true), "same key"); }

TEST_F(CheckTest, SubHashNotAtHomeSlot) {
  test::SubGroupTree t;
  test::BuildSubGroupTree(&layout_, &t);
  const uint64_t at = Slot(t.sg1);
  const unsigned b = format::EntryBucket(layout_.Get64(at));
  const uint64_t next = at - 8 * b + 8 * ((b + 1) % 8);
  ASSERT_EQ(layout_.Get64(next), 0u);
  layout_.Put64(next, layout_.Get64(at));
  layout_.Put64(at, 0);
  ExpectCorrupt(layout_.Finish(), "sub-hash entry at");
}

TEST_F(CheckTest, SubHashInSmallSubGroup) {
  const uint64_t base = layout_.Hash("anchor");
  layout_.BeginZone(kZone);
  const uint64_t sg1 = layout_.AddSubGroup(32);
  const uint64_t sg2 = layout_.AddSubGroup(8);
  ASSERT_TRUE(layout_.LinkChild(base, 0, sg1));
  ASSERT_TRUE(layout_.LinkChild(base, 1, sg2));
  ExpectCorrupt(layout_.Finish(), "only the top level and 64-slot");
}

TEST_F(CheckTest, SubHashPointsAtRecord) {
  const uint64_t base = layout_.Hash("anchor");
  layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddUnlinkedRecord("anchor", "v");
  ASSERT_TRUE(layout_.LinkChild(base, 0, rec));
  ExpectCorrupt(layout_.Finish(), "expected a sub-group");
}

TEST_F(CheckTest, SubHashWithExtraBits) {
  const uint64_t base = layout_.Hash("anchor");
  layout_.BeginZone(kZone);
  const uint64_t sg = layout_.AddSubGroup(8);
  ASSERT_TRUE(layout_.LinkChild(base, 0, sg));
  const uint64_t at = Slot(sg);
  layout_.Put64(at, layout_.Get64(at) | (1ULL << 60));
  ExpectCorrupt(layout_.Finish(), "extra bits");
}

TEST_F(CheckTest, RecordHomedOnSubHashBucket) {
  const uint64_t base = layout_.Hash("anchor");
  layout_.BeginZone(kZone);
  const uint64_t rec = layout_.AddRecord("anchor", "v");
  const uint64_t sg = layout_.AddSubGroup(8);
  const uint64_t at = Slot(rec);
  const unsigned b = LevelBucket(base, 0);
  layout_.Put64(at - 8 * b + 8 * ((b + 1) % 8), layout_.Get64(at));
  layout_.Put64(at, format::MakeEntry(sg, b, 0, true));
  ExpectCorrupt(layout_.Finish(), "holds a sub-hash entry");
}

TEST_F(CheckTest, RecordUnderWrongSubGroupBucket) {
  test::SubGroupTree t;
  test::BuildSubGroupTree(&layout_, &t);
  // Move the 8-slot sub-group's pointer to another bucket of the 64-slot one.
  const uint64_t at = Slot(t.sg2);
  const unsigned b = format::EntryBucket(layout_.Get64(at));
  const unsigned nb = (b + 4) % 8;
  const uint64_t moved = at - 8 * b + 8 * nb;
  ASSERT_EQ(layout_.Get64(moved), 0u);
  layout_.Put64(moved, format::MakeEntry(t.sg2, nb, 0, true));
  layout_.Put64(at, 0);
  ExpectCorrupt(layout_.Finish(), "at level 1");
}

TEST_F(CheckTest, SubGroupReachedTwice) {
  test::SubGroupTree t;
  test::BuildSubGroupTree(&layout_, &t);
  // A second, well-placed sub-hash entry for it in a later slot of the 64-slot sub-group.
  uint64_t at = Slot(t.sg2) + 8;
  while (layout_.Get64(at) != 0) at += 8;
  ASSERT_LT(at, t.sg1 + 16 + 512);
  const unsigned slot = unsigned((at - (t.sg1 + 16)) / 8 % 8);
  layout_.Put64(at, format::MakeEntry(t.sg2, slot, 0, true));
  ExpectCorrupt(layout_.Finish(), "second time");
}

// ---- Random damage: any result but a crash, a hang or a non-corrupt error ----

TEST_F(CheckTest, RandomDamageNeverCrashes) {
  test::SubGroupTree t;
  test::BuildSubGroupTree(&layout_, &t);
  layout_.AddFree(64);
  layout_.AddFree(64);
  layout_.AddCapability(5);
  layout_.BeginZone(2048);
  layout_.AddRecord("z", "zz", 40);
  const auto good = layout_.Finish();
  ASSERT_TRUE(Check(good).ok()) << Check(good).ToString();
  std::mt19937_64 rng(7);
  int corrupt = 0;
  const int kRounds = 3000;
  for (int round = 0; round < kRounds; round++) {
    auto db = good;
    const int flips = 1 + int(rng() % 3);
    for (int i = 0; i < flips; i++) {
      const uint64_t off = rng() % db.size();
      db[off] ^= uint8_t(1u << (rng() % 8));
    }
    if (round % 10 == 0) db.resize(format::kHeaderSize + rng() % (db.size() - format::kHeaderSize));
    for (bool copy : {false, true}) {
      seen_.clear();
      VectorSpace space(&db, copy);
      const Status s = CheckDatabase(space, layout_.hasher(), nullptr);
      ASSERT_TRUE(s.ok() || s.IsCorrupt()) << s.ToString();
      corrupt += s.IsCorrupt();
    }
  }
  EXPECT_GT(corrupt, 0);
}

}  // namespace
}  // namespace ptdb
