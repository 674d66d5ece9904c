#include "common/free_zones.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/format.h"
#include "common/record.h"
#include "common/space_io.h"

namespace ptdb {
namespace {

// The storage seam (common/storage.h) over a fixed block of memory: no locks (one thread),
// no growth, so every allocation must come from the zone the test made.
class MemStorage {
 public:
  explicit MemStorage(uint64_t size) : bytes_(size) {}

  Status Read(uint64_t off, size_t len, void*, const void** out) {
    PTDB_RETURN_IF_ERROR(Bounds(off, len));
    *out = bytes_.data() + off;
    return Status::OK();
  }
  Status Write(uint64_t off, const void* src, size_t len) {
    PTDB_RETURN_IF_ERROR(Bounds(off, len));
    if (len > 0) std::memcpy(bytes_.data() + off, src, len);
    writes_++;
    return Status::OK();
  }
  uint64_t writes() const { return writes_; }
  Status Grow(uint64_t, Extent*) { return Status(Error::kOom, "fixed size"); }
  uint64_t size() const { return bytes_.size(); }
  Status Lock(LockId, LockType) { return Status::OK(); }
  Status Unlock(LockId, LockType) { return Status::OK(); }

 private:
  Status Bounds(uint64_t off, size_t len) const {
    if (off > bytes_.size() || len > bytes_.size() - off) {
      return Status(Error::kCorrupt, "out of bounds at " + std::to_string(off));
    }
    return Status::OK();
  }
  std::vector<uint8_t> bytes_;
  uint64_t writes_ = 0;
};

constexpr uint64_t kZoneLen = 1 << 20;

class FreeZonesTest : public ::testing::Test {
 protected:
  FreeZonesTest() : storage_(format::kHeaderSize + kZoneLen), zones_(&storage_, &stats_) {}

  void SetUp() override { ASSERT_TRUE(zones_.AddZone({format::kHeaderSize, kZoneLen}).ok()); }

  uint64_t ZoneOff() const { return format::kHeaderSize; }
  uint64_t Head(unsigned b) {
    uint64_t head = 0;
    EXPECT_TRUE(
        ReadWord(&storage_,
                 ZoneOff() + format::kUsedHeaderSize + offsetof(format::ZoneBody, buckets) + 8 * b,
                 &head)
            .ok());
    return head;
  }
  format::FreeRecord FreeAt(uint64_t off) {
    format::FreeRecord f{};
    EXPECT_TRUE(ReadStruct(&storage_, off, &f).ok());
    return f;
  }

  using Use = FreeZones<MemStorage>::Use;

  uint64_t Alloc(uint64_t len, Use use = Use::kRecord) {
    uint64_t off = 0, room = 0;
    const Status st = zones_.Alloc(len, use, &off, &room);
    EXPECT_TRUE(st.ok()) << st.ToString();
    EXPECT_GE(room, len);
    used_[off] = format::kUsedHeaderSize + room;
    return off;
  }
  void Free(uint64_t off) {
    ASSERT_TRUE(zones_.Free(off, used_.at(off)).ok());
    used_.erase(off);
  }

  // Three free records of one bucket (`len` bytes each), kept apart by records in use:
  // the list is [c, b, a] (a free pushes on the head).
  std::vector<uint64_t> FreeThreeOfOneBucket(uint64_t len) {
    std::vector<uint64_t> big;
    for (int i = 0; i < 3; i++) {
      big.push_back(Alloc(len));
      Alloc(40);
    }
    Alloc(40);
    for (uint64_t off : big) Free(off);
    ExpectWholeLists();
    return big;
  }

  // Every list is whole: each member is a free record of its bucket's size, a non-head's
  // prev is its predecessor and the head's prev is the tail; and the free records and the
  // records the test holds tile the zone after its zone record exactly.
  void ExpectWholeLists() {
    std::map<uint64_t, uint64_t> extents = used_;
    for (unsigned b = 0; b < format::kFreeBuckets; b++) {
      const uint64_t head = Head(b);
      uint64_t prev = 0, cur = head, tail = 0;
      for (int n = 0; cur != 0; n++) {
        ASSERT_LT(n, 100000) << "bucket " << b << " loops";
        const format::FreeRecord f = FreeAt(cur);
        ASSERT_TRUE(IsFreeRecord(f.magic_and_prev)) << "bucket " << b << " at " << cur;
        EXPECT_EQ(FreeBucket(f), b) << cur;
        EXPECT_EQ(SizeToBucket(FreeLen(f)), b) << cur;
        if (cur != head) {
          EXPECT_EQ(FreePrev(f), prev) << "prev of " << cur;
        }
        ASSERT_TRUE(extents.emplace(cur, format::kUsedHeaderSize + FreeLen(f)).second) << cur;
        tail = cur;
        prev = cur;
        cur = f.next;
      }
      if (head != 0) {
        EXPECT_EQ(FreePrev(FreeAt(head)), tail) << "tail of bucket " << b;
      }
    }
    uint64_t at = ZoneOff() + format::kZoneRecordSize;
    for (const auto& [off, len] : extents) {
      ASSERT_EQ(off, at) << "hole or overlap";
      at += len;
    }
    EXPECT_EQ(at, ZoneOff() + kZoneLen);
  }

  MemStorage storage_;
  StatCounters stats_;
  FreeZones<MemStorage> zones_;
  std::map<uint64_t, uint64_t> used_;  // offset -> total bytes, the records allocated
};

TEST_F(FreeZonesTest, CarvingFromTheEndOfTheZoneKeepsOneWholeFreeRecordInPlace) {
  const uint64_t free_rec = ZoneOff() + format::kZoneRecordSize;
  const unsigned bucket = FreeBucket(FreeAt(free_rec));
  uint64_t last = 0;
  for (int i = 0; i < 200; i++) {
    const uint64_t off = Alloc(116);
    if (last == 0) {
      EXPECT_EQ(off + used_[off], ZoneOff() + kZoneLen) << "the first record ends the zone";
    } else {
      EXPECT_EQ(off + used_[off], last) << "records descend, back to back";
    }
    last = off;
    // The free record only shrinks: same place, same list, nothing else rewritten.
    EXPECT_EQ(Head(bucket), free_rec);
    EXPECT_EQ(free_rec + format::kUsedHeaderSize + FreeLen(FreeAt(free_rec)), off);
    ExpectWholeLists();
  }
  unsigned nonempty = 0;
  for (unsigned b = 0; b < format::kFreeBuckets; b++) nonempty += Head(b) != 0;
  EXPECT_EQ(nonempty, 1u);
}

TEST_F(FreeZonesTest, TablesAreCutFromTheFrontAndRecordsFromTheEnd) {
  // Interleaved, as inserts that push entries down allocate them: the tables still
  // lie back to back from the zone's start, the records back to back down from its
  // end, and the space between them stays one free record.
  uint64_t last_record = 0, last_table = 0;
  for (int i = 0; i < 100; i++) {
    const uint64_t rec = Alloc(116);
    if (last_record == 0) {
      EXPECT_EQ(rec + used_[rec], ZoneOff() + kZoneLen) << "the first record ends the zone";
    } else {
      EXPECT_EQ(rec + used_[rec], last_record) << "records descend, back to back";
    }
    last_record = rec;
    const uint64_t table = Alloc(i % 2 ? 64 : 512, Use::kHashTable);
    if (last_table == 0) {
      EXPECT_EQ(table, ZoneOff() + format::kZoneRecordSize) << "the first table starts it";
    } else {
      EXPECT_EQ(table, last_table + used_[last_table]) << "tables ascend";
    }
    last_table = table;
    ExpectWholeLists();
    if (HasFatalFailure()) return;
  }
  unsigned nonempty = 0;
  for (unsigned b = 0; b < format::kFreeBuckets; b++) nonempty += Head(b) != 0;
  EXPECT_EQ(nonempty, 1u);
}

TEST_F(FreeZonesTest, AFreedTableIsReusedWhole) {
  const uint64_t big = Alloc(512, Use::kHashTable);
  Alloc(116);  // keeps the freed table from merging into the zone's free record
  Alloc(64, Use::kHashTable);
  Free(big);
  EXPECT_EQ(Alloc(512, Use::kHashTable), big);
  ExpectWholeLists();
}

TEST_F(FreeZonesTest, ARecordFromTheHeadOfALongListLeavesItInPlace) {
  const std::vector<uint64_t> big = FreeThreeOfOneBucket(1800);
  const unsigned bucket = SizeToBucket(1800);
  ASSERT_EQ(Head(bucket), big[2]);
  // A small record comes from the head's end; the head stays, shorter, ahead of the
  // other two, until it drops to a lower bucket and leaves the list.
  const uint64_t head_end = big[2] + format::kUsedHeaderSize + FreeLen(FreeAt(big[2]));
  const uint64_t small = Alloc(100);
  EXPECT_EQ(small + used_[small], head_end);
  EXPECT_EQ(Head(bucket), big[2]);
  EXPECT_EQ(FreeAt(big[2]).next, big[1]);
  ExpectWholeLists();
  while (Head(bucket) != big[1]) {
    Alloc(100);
    ExpectWholeLists();
    if (HasFatalFailure()) return;
  }
  EXPECT_EQ(Head(bucket), big[1]);
}

TEST_F(FreeZonesTest, ATableFromTheHeadOfALongListKeepsItsLinks) {
  const std::vector<uint64_t> big = FreeThreeOfOneBucket(1800);
  const unsigned bucket = SizeToBucket(1800);
  ASSERT_EQ(Head(bucket), big[2]);
  // A small table comes from the head's front, and what is left stays in the bucket, in
  // the head's place, ahead of the other two.
  const uint64_t small = Alloc(96, Use::kHashTable);
  EXPECT_EQ(small, big[2]);
  const uint64_t rest = Head(bucket);
  EXPECT_EQ(rest, big[2] + format::kUsedHeaderSize + 96);
  EXPECT_EQ(FreeAt(rest).next, big[1]);
  ExpectWholeLists();
  // Again until the head's rest drops to a lower bucket and leaves the list.
  while (Head(bucket) != big[1]) {
    Alloc(96, Use::kHashTable);
    ExpectWholeLists();
    if (HasFatalFailure()) return;
  }
  EXPECT_EQ(Head(bucket), big[1]);
}

TEST_F(FreeZonesTest, SpaceAnotherHandleFreedIsFoundThoughTheHintIsStale) {
  // Another handle (another process) on the same space, which this one's hint of
  // non-empty buckets knows nothing about.
  StatCounters other_stats;
  FreeZones<MemStorage> other(&storage_, &other_stats);
  ASSERT_TRUE(other.Load().ok());
  const uint64_t first = Alloc(1000);
  const uint64_t all_left =
      kZoneLen - format::kZoneRecordSize - used_[first] - format::kUsedHeaderSize;
  Alloc(all_left);  // the zone is full: every list is empty, and the hint says so
  ASSERT_TRUE(other.Free(first, used_.at(first)).ok());
  used_.erase(first);
  // The space cannot grow: only the record the other handle freed can serve this.
  EXPECT_EQ(Alloc(1000), first);
  ExpectWholeLists();
}

TEST_F(FreeZonesTest, RandomAllocationsAndFreesKeepEveryListWhole) {
  std::mt19937_64 rng(7);
  std::vector<uint64_t> held;
  for (int i = 0; i < 3000; i++) {
    if (!held.empty() && rng() % 20 < 9) {
      const size_t k = rng() % held.size();
      Free(held[k]);
      held[k] = held.back();
      held.pop_back();
    } else {
      // Mostly small records, some large ones, so every bucket sees splits.
      const uint64_t len = rng() % 8 == 0 ? 1 + rng() % 3000 : 1 + rng() % 300;
      held.push_back(Alloc(len, rng() % 4 == 0 ? Use::kHashTable : Use::kRecord));
    }
    if (i % 50 == 0) ExpectWholeLists();
    if (HasFatalFailure()) return;
  }
  ExpectWholeLists();
  EXPECT_GT(stats_.alloc_leftover.load(), 0u);
}

TEST_F(FreeZonesTest, CoalescingALongRunWritesAroundItNotThroughIt) {
  // Records of three sizes (three buckets), back to back until the zone is nearly full;
  // then every record of a stretch of 2,000 is freed, and a few apart from it, so the
  // lists interleave the run's records with others.
  const uint64_t free_rec = ZoneOff() + format::kZoneRecordSize;
  std::vector<uint64_t> recs;
  for (int i = 0; FreeLen(FreeAt(free_rec)) > 1000; i++) {
    recs.push_back(Alloc(i % 3 == 0 ? 40 : i % 3 == 1 ? 116 : 200));
  }
  ASSERT_GT(recs.size(), 3000u);
  for (int i = 1000; i < 3000; i++) Free(recs[i]);
  for (int i = 100; i < 1000; i += 50) Free(recs[i]);
  ExpectWholeLists();
  const uint64_t merged_before = stats_.alloc_coalesce_num_merged.load();
  // Bigger than any free record but the space left at the zone's start: only merging
  // the run makes room, and the run is far past a sixteenth of the zone.
  uint64_t space_left = 0;
  for (unsigned b = 0; b < format::kFreeBuckets; b++) {
    for (uint64_t cur = Head(b); cur != 0; cur = FreeAt(cur).next) {
      space_left = std::max(space_left, FreeLen(FreeAt(cur)));
    }
  }
  const uint64_t writes_before = storage_.writes();
  const uint64_t big = Alloc(space_left + 1000);
  EXPECT_EQ(stats_.alloc_coalesce_num_merged.load() - merged_before, 1999u);
  // Records descend from the zone's end: the run lies from recs[2999] up to recs[1000].
  EXPECT_GE(big, recs[2999]);
  EXPECT_LT(big, recs[1000]);
  ExpectWholeLists();
  // Unlinking each record merged away, as coalescing did until 2026-11-24, wrote two
  // words per record (4,004 writes here). Only the words around the run need change: the
  // lists' heads, the run's first record, the neighbours of the run's records in their
  // lists, then the allocation's few.
  EXPECT_LT(storage_.writes() - writes_before, 40u);
}

}  // namespace
}  // namespace ptdb
