#include "tests/support/layout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "common/hash.h"
#include "common/record.h"

namespace ptdb::test {
namespace {

using format::kUsedHeaderSize;

constexpr uint64_t kZoneNextOffset = kUsedHeaderSize + offsetof(format::ZoneBody, next_zone);
constexpr uint64_t kZoneSizeOffset = kUsedHeaderSize + offsetof(format::ZoneBody, zone_size);

}  // namespace

uint64_t PathMask(unsigned level) {
  const unsigned bits = level == 0 ? format::kTopBits : format::kTopBits + level * format::kSubBits;
  return bits >= 64 ? ~0ULL : ~(~0ULL >> bits);
}

std::vector<std::string> FindKeys(const KeyHasher& hash, uint64_t want, uint64_t mask, size_t count,
                                  const std::string& prefix) {
  std::vector<std::string> keys;
  for (uint64_t n = 0; keys.size() < count && n < (1ULL << 28); n++) {
    std::string key = prefix + std::to_string(n);
    if ((hash(key.data(), key.size()) & mask) == (want & mask)) keys.push_back(std::move(key));
  }
  EXPECT_EQ(keys.size(), count) << "FindKeys gave up";
  return keys;
}

uint64_t Get64(const std::vector<uint8_t>& bytes, uint64_t off) {
  uint64_t v = 0;
  EXPECT_LE(off + 8, bytes.size());
  if (off + 8 <= bytes.size()) std::memcpy(&v, bytes.data() + off, 8);
  return v;
}

void Put64(std::vector<uint8_t>* bytes, uint64_t off, uint64_t value) {
  ASSERT_LE(off + 8, bytes->size());
  std::memcpy(bytes->data() + off, &value, 8);
}

Layout::Layout(uint64_t seed, HashFn hash) : bytes_(format::kHeaderSize, 0) {
  if (!hash) hash = JenkinsHash64;
  hasher_ = [hash, seed](const void* p, size_t n) { return hash(p, n, seed); };
  format::Header h = {};
  std::memcpy(h.magic_food, format::kMagicFood, sizeof(format::kMagicFood));
  h.version = format::kVersion;
  h.hash_test = HashTestValue(hasher_);
  h.hash_seed = seed;
  h.first_zone = format::kHeaderSize;
  std::memcpy(bytes_.data(), &h, sizeof(h));
}

uint64_t Layout::BeginZone(uint64_t size) {
  EXPECT_GE(size, format::kZoneRecordSize);
  EXPECT_EQ(size % format::kRecordAlign, 0u);
  if (zone_ != 0) {
    CloseZone();
    Put64(zone_ + kZoneNextOffset, bytes_.size());
  }
  zone_ = bytes_.size();
  bytes_.resize(zone_ + size, 0);
  format::UsedHeader h;
  RecordInfo info;
  info.magic = format::kZoneMagic;
  info.data_len = sizeof(format::ZoneBody);
  EXPECT_TRUE(EncodeUsedHeader(info, &h));
  Put64(zone_, h.magic_and_meta);
  Put64(zone_ + 8, h.key_and_data_len);
  Put64(zone_ + kZoneSizeOffset, size);
  cursor_ = zone_ + format::kZoneRecordSize;
  return zone_;
}

void Layout::CloseZone() {
  if (zone_ == 0) return;
  const uint64_t left = zone_ + Get64(zone_ + kZoneSizeOffset) - cursor_;
  if (left > 0) AddFree(left);
}

uint64_t Layout::Allocate(uint64_t size) {
  if (zone_ == 0) {
    ADD_FAILURE() << "Layout: no zone begun";
    return 0;
  }
  const uint64_t end = zone_ + Get64(zone_ + kZoneSizeOffset);
  if (size > end - cursor_) {
    ADD_FAILURE() << "Layout: " << size << " bytes do not fit in the zone at " << zone_;
    return 0;
  }
  const uint64_t off = cursor_;
  cursor_ += size;
  return off;
}

uint64_t Layout::WriteUsed(uint16_t magic, std::string_view key, std::string_view data,
                           uint64_t padding, unsigned hash_bits) {
  const uint64_t body = key.size() + data.size();
  const uint64_t room = std::max(AlignRecord(body + padding), format::kMinDataLen);
  RecordInfo info;
  info.magic = magic;
  info.key_len = key.size();
  info.data_len = data.size();
  info.padding = room - body;
  info.hash_bits = hash_bits;
  format::UsedHeader h;
  EXPECT_TRUE(EncodeUsedHeader(info, &h));
  const uint64_t off = Allocate(info.TotalSize());
  if (off == 0) return 0;
  Put64(off, h.magic_and_meta);
  Put64(off + 8, h.key_and_data_len);
  std::copy(key.begin(), key.end(), bytes_.begin() + off + kUsedHeaderSize);
  std::copy(data.begin(), data.end(), bytes_.begin() + off + kUsedHeaderSize + key.size());
  return off;
}

uint64_t Layout::AddUnlinkedRecord(std::string_view key, std::string_view data, uint64_t padding) {
  const unsigned bits = unsigned(Hash(key) & ((1u << format::kHashBitsInRecord) - 1));
  return WriteUsed(format::kUsedMagic, key, data, padding, bits);
}

uint64_t Layout::AddRecord(std::string_view key, std::string_view data, uint64_t padding) {
  const uint64_t off = AddUnlinkedRecord(key, data, padding);
  if (off != 0) {
    EXPECT_TRUE(Link(off)) << "Layout: no slot for " << key;
  }
  return off;
}

uint64_t Layout::AddSubGroup(unsigned slots, uint64_t padding) {
  const uint64_t off =
      WriteUsed(format::kSubHashMagic, {}, std::string(slots * 8, '\0'), padding, 0);
  if (off != 0) tables_.push_back(off);
  return off;
}

uint64_t Layout::AddChain() {
  const uint64_t off =
      WriteUsed(format::kChainMagic, {}, std::string(format::kChainDataLen, '\0'), 0, 0);
  if (off != 0) tables_.push_back(off);
  return off;
}

uint64_t Layout::AddCapability(uint64_t type) {
  std::string body(sizeof(format::CapabilityBody), '\0');
  std::memcpy(body.data(), &type, 8);
  const uint64_t off = WriteUsed(format::kCapMagic, {}, body, 0, 0);
  if (off == 0) return 0;
  const uint64_t link =
      last_cap_ == 0 ? offsetof(format::Header, capabilities) : last_cap_ + kUsedHeaderSize + 8;
  Put64(link, off);
  last_cap_ = off;
  return off;
}

void Layout::WriteFree(uint64_t off, uint64_t size) {
  const uint64_t len = size - kUsedHeaderSize;
  Put64(off, FreeWord0(0));
  Put64(off + 8, FreeWord1(SizeToBucket(len), len));
  Put64(off + 16, 0);
}

uint64_t Layout::AddUnlinkedFree(uint64_t size) {
  const uint64_t off = Allocate(size);
  if (off != 0) WriteFree(off, size);
  return off;
}

uint64_t Layout::AddFree(uint64_t size) {
  const uint64_t off = AddUnlinkedFree(size);
  if (off != 0) LinkFree(off);
  return off;
}

uint64_t Layout::BucketHeadOffset(uint64_t zone, unsigned bucket) {
  return zone + kUsedHeaderSize + offsetof(format::ZoneBody, buckets) + 8 * bucket;
}

// Appends at the tail: the head's prev is the tail, the tail's next is 0.
void Layout::LinkFree(uint64_t off) {
  const unsigned bucket = unsigned(Get64(off + 8) >> 56);
  const uint64_t head_at = BucketHeadOffset(zone_, bucket);
  const uint64_t head = Get64(head_at);
  if (head == 0) {
    Put64(head_at, off);
    Put64(off, FreeWord0(off));
    return;
  }
  const uint64_t tail = Get64(head) & format::kOffsetMask56;
  Put64(tail + 16, off);
  Put64(off, FreeWord0(tail));
  Put64(head, FreeWord0(off));
}

unsigned Layout::SlotsOf(uint64_t table) const {
  format::UsedHeader h{Get64(table), Get64(table + 8)};
  return unsigned(DecodeUsedHeader(h).data_len / 8);
}

uint64_t Layout::TableOnPath(uint64_t hash, unsigned level, unsigned* nslots) const {
  uint64_t slots = format::kTopHashOffset;
  *nslots = format::kTopSlots;
  for (unsigned l = 0; l < level; l++) {
    const unsigned groups = *nslots / 8;
    const unsigned group = LevelGroup(hash, l) & (groups - 1);
    const uint64_t e = Get64(slots + 8 * (group * 8 + LevelBucket(hash, l)));
    if (!format::EntryIsSubHash(e)) {
      ADD_FAILURE() << "Layout: no sub-hash entry at level " << l << " on the path";
      return 0;
    }
    slots = format::EntryOffset(e) + kUsedHeaderSize;
    *nslots = SlotsOf(format::EntryOffset(e));
  }
  return slots;
}

bool Layout::LinkChild(uint64_t hash, unsigned level, uint64_t child) {
  unsigned nslots;
  const uint64_t slots = TableOnPath(hash, level, &nslots);
  if (slots == 0) return false;
  const unsigned bucket = LevelBucket(hash, level);
  const uint64_t at = slots + 8 * ((LevelGroup(hash, level) & (nslots / 8 - 1)) * 8 + bucket);
  if (Get64(at) != 0) {
    ADD_FAILURE() << "Layout: the home slot for a sub-hash entry is taken";
    return false;
  }
  // A sub-group's entry carries its size code; a chain's carries 0.
  const format::UsedHeader ch{Get64(child), Get64(child + 8)};
  const unsigned code = DecodeUsedHeader(ch).magic == format::kSubHashMagic
                            ? format::SubGroupSizeCode(SlotsOf(child) / format::kGroupSlots)
                            : 0;
  Put64(at, format::MakeEntry(child, bucket, code, true));
  return true;
}

bool Layout::Link(uint64_t rec) {
  format::UsedHeader h{Get64(rec), Get64(rec + 8)};
  const RecordInfo info = DecodeUsedHeader(h);
  const char* key = reinterpret_cast<const char*>(bytes_.data() + rec + kUsedHeaderSize);
  const uint64_t hash = hasher_(key, info.key_len);
  uint64_t slots = format::kTopHashOffset;
  unsigned nslots = format::kTopSlots;
  for (unsigned level = 0;; level++) {
    const unsigned group = LevelGroup(hash, level) & (nslots / 8 - 1);
    const uint64_t base = slots + 64 * group;
    const unsigned bucket = LevelBucket(hash, level);
    const uint64_t home = Get64(base + 8 * bucket);
    if (format::EntryIsSubHash(home)) {
      if (level == format::kMaxSubLevels) {
        // Chains: the first hole in the first chain that has one.
        for (uint64_t chain = format::EntryOffset(home); chain != 0;
             chain = Get64(chain + kUsedHeaderSize + 8 * format::kChainSlots)) {
          for (unsigned i = 0; i < format::kChainSlots; i++) {
            const uint64_t at = chain + kUsedHeaderSize + 8 * i;
            if (Get64(at) == 0) {
              Put64(at, format::MakeEntry(rec, 0, 0, false));
              return true;
            }
          }
        }
        return false;
      }
      slots = format::EntryOffset(home) + kUsedHeaderSize;
      nslots = SlotsOf(format::EntryOffset(home));
      continue;
    }
    for (unsigned i = 0; i < 8; i++) {
      const uint64_t at = base + 8 * ((bucket + i) % 8);
      if (Get64(at) == 0) {
        Put64(at, format::MakeEntry(rec, bucket, LevelExtra(hash, level), false));
        return true;
      }
    }
    return false;
  }
}

std::vector<uint8_t> Layout::Finish() {
  CloseZone();
  return bytes_;
}

uint64_t Layout::SlotOf(uint64_t target) const {
  auto search = [&](uint64_t slots, unsigned n) -> uint64_t {
    for (unsigned i = 0; i < n; i++) {
      const uint64_t e = Get64(slots + 8 * i);
      if (e != 0 && format::EntryOffset(e) == target) return slots + 8 * i;
    }
    return 0;
  };
  if (uint64_t at = search(format::kTopHashOffset, format::kTopSlots)) return at;
  for (uint64_t table : tables_) {
    const RecordInfo info = DecodeUsedHeader(format::UsedHeader{Get64(table), Get64(table + 8)});
    const unsigned n = info.magic == format::kChainMagic ? format::kChainSlots : SlotsOf(table);
    if (uint64_t at = search(table + kUsedHeaderSize, n)) return at;
  }
  return 0;
}

void BuildSubGroupTree(Layout* l, SubGroupTree* t) {
  const uint64_t base = l->Hash("anchor");
  t->deep = FindKeys(l->hasher(), base, PathMask(1), 3, "deep");
  // Same top group and bucket, another level-1 bucket: stays in the 64-slot sub-group.
  t->mid = FindKeys(l->hasher(), base ^ (1ULL << 51), PathMask(0) | (7ULL << 51), 2, "mid");
  t->top = FindKeys(l->hasher(), base ^ (1ULL << 57), PathMask(0), 1, "top");
  l->BeginZone(8192);
  t->sg1 = l->AddSubGroup(64);
  t->sg2 = l->AddSubGroup(8, 24);
  ASSERT_TRUE(l->LinkChild(base, 0, t->sg1));
  ASSERT_TRUE(l->LinkChild(base, 1, t->sg2));
  for (const auto* set : {&t->deep, &t->mid, &t->top}) {
    for (const auto& k : *set) {
      t->recs[k] = l->AddRecord(k, "data of " + k);
      ASSERT_NE(t->recs[k], 0u);
    }
  }
}

}  // namespace ptdb::test
