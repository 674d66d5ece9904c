#include "common/check.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "common/check_util.h"
#include "common/hash.h"
#include "common/hash_bits.h"
#include "common/record.h"
#include "common/tree_path.h"

namespace ptdb {

using check_util::Corrupt;
using check_util::Hex;
using check_util::KindName;
using check_util::ReadInto;
using format::Header;
using format::UsedHeader;
using format::ZoneBody;

namespace {

class Checker {
 public:
  Checker(SpaceReader& space, const KeyHasher& hash, const CheckFn& fn)
      : space_(space), hash_(hash), fn_(fn) {}

  Status Run() {
    if (Status s = ReadHeader(space_, &header_); !s.ok()) return s;
    if (Status s = CheckHeader(); !s.ok()) return s;
    if (Status s = ScanSpace(space_, header_.first_zone, &scan_); !s.ok()) return s;
    reached_.assign(scan_.records.size(), 0);
    if (Status s = CheckRecovery(); !s.ok()) return s;
    if (Status s = CheckCapabilities(); !s.ok()) return s;
    if (Status s = CheckFreeLists(); !s.ok()) return s;
    if (Status s =
            WalkTable(format::kTopHashOffset, header_.top_hash, format::kTopSlots, 0, TreePath());
        !s.ok()) {
      return s;
    }
    if (Status s = CheckDuplicates(); !s.ok()) return s;
    return CheckTotals();
  }

 private:
  // reached_ values: 0 = not yet; kInTree = reached from the tree or capability list;
  // a free record gets the number of its list (> kInTree), so a cycle is told apart.
  static constexpr uint32_t kInTree = 1;

  Status CheckHeader();
  Status CheckRecovery();
  Status CheckCapabilities();
  Status CheckFreeLists();
  Status CheckFreeList(uint32_t zone, unsigned bucket);
  Status WalkTable(uint64_t slots_off, const uint64_t* slots, unsigned nslots, unsigned level,
                   const TreePath& path);
  Status WalkChain(uint64_t off, const TreePath& path);
  Status CheckRecordEntry(uint64_t entry, uint64_t slot_off, unsigned level, bool chain,
                          const TreePath& path);
  Status CheckDuplicates();
  Status CheckTotals();

  // The scanned record at off of the wanted kind, not reached before; marks it reached.
  Status Reach(uint64_t off, RecordKind kind, uint64_t from, const char* via,
               const ScannedRecord** rec);
  // Makes a used record's key (and, if data is not null, its data) readable; the views
  // last until the next read.
  Status ReadKeyData(const ScannedRecord& r, std::string_view* key, std::string_view* data);

  SpaceReader& space_;
  const KeyHasher& hash_;
  const CheckFn& fn_;
  Header header_;
  ScannedSpace scan_;
  std::vector<uint32_t> reached_;
  std::vector<std::pair<uint64_t, uint64_t>> hashes_;  // (hash, offset) of every record
  std::vector<char> buf_;
};

Status Checker::CheckHeader() {
  char magic[sizeof(header_.magic_food)] = {};
  std::memcpy(magic, format::kMagicFood, sizeof(format::kMagicFood));
  if (std::memcmp(magic, header_.magic_food, sizeof(magic)) != 0) {
    return Corrupt("header at 0: magic_food is not \"TDB2 file (ptdb)\\n\" followed by zeros");
  }
  if (header_.version != format::kVersion) {
    if (header_.version == __builtin_bswap64(format::kVersion)) {
      return Corrupt("header at 64: version ", Hex{header_.version},
                     " is byte-swapped: the file has a foreign byte order");
    }
    return Corrupt("header at 64: version ", Hex{header_.version}, ", expected ",
                   Hex{format::kVersion});
  }
  // The hasher has the seed applied already.
  const uint64_t test = HashTestValue(hash_);
  if (header_.hash_test != test) {
    return Corrupt("header at 72: hash_test ", Hex{header_.hash_test}, " but the hash gives ",
                   Hex{test}, " (a different hash function or seed)");
  }
  if (header_.features_used & ~header_.features_offered) {
    return Corrupt("header at 112: features_used ", Hex{header_.features_used},
                   " not a subset of features_offered ", Hex{header_.features_offered});
  }
  for (size_t i = 0; i < std::size(header_.reserved); i++) {
    if (header_.reserved[i] != 0) {
      return Corrupt("header at ", offsetof(Header, reserved) + 8 * i, ": reserved word is ",
                     Hex{header_.reserved[i]}, ", expected 0");
    }
  }
  if (header_.first_zone < format::kHeaderSize) {
    return Corrupt("header at 88: first_zone ", header_.first_zone, " is inside the header");
  }
  return Status::OK();
}

Status Checker::CheckRecovery() {
  // Recovery areas lie past the zones (docs/transactions.md); a stale one may since have
  // been covered by a new zone, which is harmless: its bundle was replayed or dropped.
  for (size_t i = 0; i < std::size(header_.recovery); i++) {
    const uint64_t r = header_.recovery[i];
    if (r != 0 && (r < format::kHeaderSize || r % format::kRecordAlign != 0)) {
      return Corrupt("header at ", offsetof(Header, recovery) + 8 * i, ": recovery area ", r,
                     " is inside the header or unaligned");
    }
  }
  return Status::OK();
}

Status Checker::Reach(uint64_t off, RecordKind kind, uint64_t from, const char* via,
                      const ScannedRecord** rec) {
  const ScannedRecord* r = scan_.Find(off);
  if (r == nullptr) {
    return Corrupt(via, " at ", from, ": points to ", off, ", where no record starts");
  }
  if (r->kind != kind) {
    return Corrupt(via, " at ", from, ": points to a ", KindName(r->kind), " at ", off,
                   ", expected a ", KindName(kind));
  }
  uint32_t& mark = reached_[scan_.IndexOf(r)];
  if (mark != 0) {
    return Corrupt(via, " at ", from, ": ", KindName(kind), " at ", off,
                   " is reached a second time");
  }
  mark = kInTree;
  *rec = r;
  return Status::OK();
}

Status Checker::CheckCapabilities() {
  uint64_t from = offsetof(Header, capabilities);
  const char* via = "header";
  // Reach() refuses a record seen before, so a cycle ends the walk with kCorrupt.
  for (uint64_t off = header_.capabilities; off != 0;) {
    const ScannedRecord* r;
    if (Status s = Reach(off, RecordKind::kCapability, from, via, &r); !s.ok()) return s;
    format::CapabilityBody body;
    if (Status s = ReadInto(space_, off + format::kUsedHeaderSize, sizeof(body), &body,
                            "capability record");
        !s.ok()) {
      return s;
    }
    from = off;
    via = "capability record";
    off = body.next;
  }
  return Status::OK();
}

Status Checker::CheckFreeLists() {
  for (uint32_t z = 0; z < scan_.zones.size(); z++) {
    for (unsigned b = 0; b < format::kFreeBuckets; b++) {
      if (Status s = CheckFreeList(z, b); !s.ok()) return s;
    }
  }
  return Status::OK();
}

Status Checker::CheckFreeList(uint32_t z, unsigned b) {
  const ScannedZone& zone = scan_.zones[z];
  const uint64_t head = zone.buckets[b];
  const uint32_t list = kInTree + 1 + z * format::kFreeBuckets + b;
  uint64_t prev = 0;
  uint64_t head_prev = 0;
  uint64_t from = zone.off + format::kUsedHeaderSize + offsetof(ZoneBody, buckets) + 8 * b;
  for (uint64_t off = head; off != 0;) {
    const ScannedRecord* r = scan_.Find(off);
    if (r == nullptr || r->kind != RecordKind::kFree) {
      return Corrupt("free list ", b, " of zone ", zone.off, ": entry at ", from, " points to ",
                     off, ", which is not a free record");
    }
    if (r->zone != z) {
      return Corrupt("free record at ", off, " is in a list of zone ", zone.off,
                     " but lies in zone ", scan_.zones[r->zone].off);
    }
    uint32_t& mark = reached_[scan_.IndexOf(r)];
    if (mark == list) {
      return Corrupt("free list ", b, " of zone ", zone.off, " cycles back to ", off);
    }
    if (mark != 0) return Corrupt("free record at ", off, " is in two free lists");
    mark = list;
    if (r->bucket != b) {
      return Corrupt("free record at ", off, ": bucket field ", r->bucket,
                     " but it is in the list of bucket ", b);
    }
    if (SizeToBucket(r->data_len) != b) {
      return Corrupt("free record at ", off, ": length ", r->data_len, " belongs in bucket ",
                     SizeToBucket(r->data_len), " but it is in bucket ", b);
    }
    uint64_t w[3];
    if (Status s = ReadInto(space_, off, sizeof(w), w, "free record"); !s.ok()) return s;
    const uint64_t rec_prev = FreePrev(format::FreeRecord{w[0], w[1], w[2]});
    if (off == head) {
      head_prev = rec_prev;
    } else if (rec_prev != prev) {
      return Corrupt("free record at ", off, ": prev ", rec_prev,
                     " but the previous record in its list is ", prev);
    }
    prev = off;
    from = off + offsetof(format::FreeRecord, next);
    off = w[2];
  }
  if (head != 0 && head_prev != prev) {
    return Corrupt("free list ", b, " of zone ", zone.off, ": head at ", head, " has prev ",
                   head_prev, " but the tail is ", prev);
  }
  return Status::OK();
}

Status Checker::WalkTable(uint64_t slots_off, const uint64_t* slots, unsigned nslots,
                          unsigned level, const TreePath& path) {
  const unsigned groups = nslots / format::kGroupSlots;
  for (unsigned g = 0; g < groups; g++) {
    const uint64_t* group = slots + g * format::kGroupSlots;
    for (unsigned s = 0; s < format::kGroupSlots; s++) {
      const uint64_t e = group[s];
      if (e == 0) continue;
      const uint64_t slot_off = slots_off + 8 * (g * format::kGroupSlots + s);
      const unsigned b = format::EntryBucket(e);
      if (format::EntryIsSubHash(e)) {
        if (level > 0 && groups != format::kMaxSubGroups) {
          return Corrupt("sub-hash entry at ", slot_off, ": in a sub-group of ", nslots,
                         " slots, but only the top level and 64-slot sub-groups may have them");
        }
        if (b != s) {
          return Corrupt("sub-hash entry at ", slot_off, ": home bucket ", b,
                         " but stored in bucket ", s);
        }
        const TreePath child_path = path.With(TreeStep{level, g, groups, s});
        const ScannedRecord* child;
        if (level == format::kMaxSubLevels) {
          if (format::EntryExtra(e) != 0) {
            return Corrupt("sub-hash entry at ", slot_off, ": extra bits ", format::EntryExtra(e),
                           ", expected 0 for a chain");
          }
          if (Status st = Reach(format::EntryOffset(e), RecordKind::kChain, slot_off,
                                "sub-hash entry", &child);
              !st.ok()) {
            return st;
          }
          if (Status st = WalkChain(child->off, child_path); !st.ok()) return st;
          continue;
        }
        if (Status st = Reach(format::EntryOffset(e), RecordKind::kSubGroup, slot_off,
                              "sub-hash entry", &child);
            !st.ok()) {
          return st;
        }
        const unsigned child_slots = unsigned(child->data_len / 8);
        // A sub-hash entry's extra bits give its sub-group's size, so a lookup can go
        // straight to the right group without reading the sub-group's header.
        if (format::EntryExtra(e) != format::SubGroupSizeCode(child_slots / format::kGroupSlots)) {
          return Corrupt("sub-hash entry at ", slot_off, ": extra bits ", format::EntryExtra(e),
                         " but its sub-group has ", child_slots, " slots");
        }
        std::vector<uint64_t> child_table(child_slots);
        const uint64_t child_slots_off = child->off + format::kUsedHeaderSize;
        if (Status st =
                ReadInto(space_, child_slots_off, child->data_len, child_table.data(), "sub-group");
            !st.ok()) {
          return st;
        }
        if (Status st =
                WalkTable(child_slots_off, child_table.data(), child_slots, level + 1, child_path);
            !st.ok()) {
          return st;
        }
        continue;
      }
      if (format::EntryIsSubHash(group[b])) {
        return Corrupt("entry at ", slot_off, ": home bucket ", b,
                       " holds a sub-hash entry, so the record belongs below it");
      }
      for (unsigned i = b; i != s; i = (i + 1) % format::kGroupSlots) {
        if (group[i] == 0) {
          return Corrupt("entry at ", slot_off, ": home bucket ", b, " but stored in bucket ", s,
                         " with bucket ", i, " empty in between");
        }
      }
      if (Status st =
              CheckRecordEntry(e, slot_off, level, false, path.With(TreeStep{level, g, groups, b}));
          !st.ok()) {
        return st;
      }
    }
  }
  return Status::OK();
}

Status Checker::WalkChain(uint64_t off, const TreePath& path) {
  // Reach() marks every chain, so a cyclic next link ends the walk with kCorrupt.
  for (;;) {
    uint64_t words[format::kChainSlots + 1];
    const uint64_t slots_off = off + format::kUsedHeaderSize;
    if (Status s = ReadInto(space_, slots_off, sizeof(words), words, "chain"); !s.ok()) return s;
    for (unsigned i = 0; i < format::kChainSlots; i++) {
      const uint64_t e = words[i];
      if (e == 0) continue;
      const uint64_t slot_off = slots_off + 8 * i;
      if (format::EntryIsSubHash(e) || format::EntryBucket(e) != 0 || format::EntryExtra(e) != 0) {
        return Corrupt("chain entry at ", slot_off, ": ", Hex{e},
                       " has a sub-hash flag, bucket or extra bits (all must be 0 in a chain)");
      }
      if (Status s = CheckRecordEntry(e, slot_off, format::kMaxSubLevels, true, path); !s.ok()) {
        return s;
      }
    }
    const uint64_t next = words[format::kChainSlots];
    if (next == 0) return Status::OK();
    const ScannedRecord* r;
    if (Status s = Reach(next, RecordKind::kChain, slots_off + 8 * format::kChainSlots,
                         "chain next link", &r);
        !s.ok()) {
      return s;
    }
    off = next;
  }
}

Status Checker::ReadKeyData(const ScannedRecord& r, std::string_view* key, std::string_view* data) {
  const uint64_t len = r.key_len + (data ? r.data_len : 0);
  if (buf_.size() < len) buf_.resize(len);
  const void* p = nullptr;
  Status s = space_.Read(r.off + format::kUsedHeaderSize, len, buf_.data(), &p);
  if (!s.ok()) {
    if (!s.IsCorrupt()) return s;
    return Corrupt("record at ", r.off, ": cannot read its key and data (", s.message(), ")");
  }
  const char* bytes = static_cast<const char*>(p);
  *key = std::string_view(bytes, r.key_len);
  if (data) *data = std::string_view(bytes + r.key_len, r.data_len);
  return Status::OK();
}

Status Checker::CheckRecordEntry(uint64_t entry, uint64_t slot_off, unsigned level, bool chain,
                                 const TreePath& path) {
  const ScannedRecord* r;
  if (Status s = Reach(format::EntryOffset(entry), RecordKind::kUsed, slot_off, "hash entry", &r);
      !s.ok()) {
    return s;
  }
  std::string_view key, data;
  // The data is read only for the callback: a file without a mapping copies it.
  if (Status s = ReadKeyData(*r, &key, fn_ ? &data : nullptr); !s.ok()) return s;
  const uint64_t h = hash_(key.data(), key.size());
  if (const TreeStep* st = path.Mismatch(h)) {
    const unsigned hg = LevelGroup(h, st->level) & (st->groups - 1);
    if (hg != st->group) {
      return Corrupt("record at ", r->off, ": hash ", Hex{h}, " gives group ", hg, " at level ",
                     st->level, " but stored in group ", st->group);
    }
    return Corrupt("record at ", r->off, ": hash ", Hex{h}, " gives bucket ",
                   LevelBucket(h, st->level), " at level ", st->level, " but stored in bucket ",
                   st->bucket);
  }
  if (!chain && LevelExtra(h, level) != format::EntryExtra(entry)) {
    return Corrupt("entry at ", slot_off, ": extra hash bits ", format::EntryExtra(entry),
                   " but the key of record ", r->off, " gives ", LevelExtra(h, level));
  }
  const unsigned low = unsigned(h & ((1u << format::kHashBitsInRecord) - 1));
  if (r->hash_bits != low) {
    return Corrupt("record at ", r->off, ": header hash bits ", r->hash_bits,
                   " but its key hashes to ", low);
  }
  hashes_.emplace_back(h, r->off);
  if (fn_) return fn_(key, data);
  return Status::OK();
}

Status Checker::CheckDuplicates() {
  // Equal keys have equal hashes, so only runs of equal hashes need their keys compared.
  std::sort(hashes_.begin(), hashes_.end());
  std::vector<std::pair<std::string, uint64_t>> keys;
  for (size_t i = 0; i < hashes_.size();) {
    size_t end = i + 1;
    while (end < hashes_.size() && hashes_[end].first == hashes_[i].first) end++;
    if (end - i > 1) {
      keys.clear();
      for (size_t j = i; j < end; j++) {
        std::string_view key;
        if (Status s = ReadKeyData(*scan_.Find(hashes_[j].second), &key, nullptr); !s.ok()) {
          return s;
        }
        keys.emplace_back(std::string(key), hashes_[j].second);
      }
      std::sort(keys.begin(), keys.end());
      for (size_t j = 1; j < keys.size(); j++) {
        if (keys[j].first == keys[j - 1].first) {
          return Corrupt("records at ", keys[j - 1].second, " and ", keys[j].second,
                         " have the same key");
        }
      }
    }
    i = end;
  }
  return Status::OK();
}

Status Checker::CheckTotals() {
  for (size_t i = 0; i < scan_.records.size(); i++) {
    if (reached_[i] != 0) continue;
    const ScannedRecord& r = scan_.records[i];
    if (r.kind == RecordKind::kFree) {
      return Corrupt("free record at ", r.off, " is in no free list");
    }
    if (r.kind == RecordKind::kCapability) {
      return Corrupt("capability record at ", r.off, " is not in the capability list");
    }
    return Corrupt(KindName(r.kind), " at ", r.off, " is not reachable from the hash tree");
  }
  return Status::OK();
}

}  // namespace

Status CheckDatabase(SpaceReader& space, const KeyHasher& hash, const CheckFn& fn) {
  Checker checker(space, hash, fn);
  return checker.Run();
}

}  // namespace ptdb
