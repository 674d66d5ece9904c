#include "common/rescue.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/check_util.h"
#include "common/errors.h"
#include "common/format.h"
#include "common/hash_bits.h"
#include "common/record.h"
#include "common/space_scan.h"
#include "common/tree_path.h"

namespace ptdb {
namespace {

using check_util::Hex;
using check_util::ReadInto;

Status Unsound(const std::string& what) { return Status(Error::kCorrupt, what); }

// A record the walk found sound.
struct Found {
  uint64_t hash;
  uint64_t order;  // how many sound records the walk met before it
  uint64_t off;
};

class Rescuer {
 public:
  Rescuer(SpaceReader& space, const KeyHasher& hash, RescueReport* report, unsigned flags)
      : space_(space), hash_(hash), report_(report), flags_(flags) {}

  Status Run(const RescueFn& fn) {
    format::Header header;
    PTDB_RETURN_IF_ERROR(ReadHeader(space_, &header));
    if (!IsPtdbHeader(header)) {
      return Status(Error::kCorrupt, "rescue: the header is not a ptdb header");
    }
    extents_ = space_.Extents();
    PTDB_RETURN_IF_ERROR(
        WalkTable(format::kTopHashOffset, header.top_hash, format::kTopSlots, 0, TreePath()));
    std::vector<uint64_t> reached(found_.size());
    for (size_t i = 0; i < found_.size(); i++) reached[i] = found_[i].off;
    std::sort(reached.begin(), reached.end());
    PTDB_RETURN_IF_ERROR(DropDuplicates());
    std::vector<uint64_t> unreached;
    PTDB_RETURN_IF_ERROR(CountUnreachable(header.first_zone, reached, &unreached));
    if (flags_ & kRescueUnreachable) PTDB_RETURN_IF_ERROR(AddUnreachable(unreached));
    return HandOver(fn);
  }

 private:
  // Passes over the thing the walk just met, keeping the first such description.
  void Lost(const std::string& what) {
    report_->lost_entries++;
    Note(what);
  }
  void Note(const std::string& what) {
    if (report_->first_problem.empty()) report_->first_problem = what;
  }
  // Damage (kCorrupt) is noted and passed over; anything else (an I/O error) ends the rescue.
  Status PassOver(const Status& s, const std::string& where) {
    if (!s.IsCorrupt()) return s;
    Lost(where + ": " + Finding(s));
    return Status::OK();
  }
  // Where a lost entry was, for the report (built only when one is lost).
  static std::string EntryAt(uint64_t slot_off) { return "entry at " + std::to_string(slot_off); }
  // A damage report of the record parser and the scan, which are the checker's and say
  // so first.
  static std::string Finding(const Status& s) {
    std::string_view what = s.message();
    if (what.substr(0, 7) == "check: ") what.remove_prefix(7);
    return std::string(what);
  }

  Status WalkTable(uint64_t slots_off, const uint64_t* slots, unsigned nslots, unsigned level,
                   const TreePath& path);
  Status WalkChain(uint64_t off, const TreePath& path);
  Status Visit(uint64_t entry, uint64_t slot_off, unsigned level, bool chain, const TreePath& path);
  // The record at off, if it is a sound record of any kind inside the space.
  Status ReadRecordAt(uint64_t off, ScannedRecord* rec);
  // A table (sub-group or chain) at off not entered before; kCorrupt if unsound.
  Status EnterTable(uint64_t off, RecordKind kind, ScannedRecord* rec);
  // The key and data of a used record; the views last until the next read.
  Status ReadKeyData(uint64_t off, uint64_t key_len, uint64_t data_len, std::string_view* key,
                     std::string_view* data);
  // ReadRecordAt, then the record's key (and, if data is not null, its data).
  Status ReadRecordKey(uint64_t off, ScannedRecord* r, std::string_view* key,
                       std::string_view* data = nullptr);
  // Equal keys hash alike, so only records of equal hashes need their keys compared: calls
  // fn(first, end, keys) for each run [first, end) of `sorted` (by hash) with one hash,
  // with the run's keys when it has more than one record (else none).
  using RunFn = std::function<void(size_t first, size_t end, const std::vector<std::string>& keys)>;
  Status ForEachHashRun(const std::vector<Found>& sorted, const RunFn& fn);
  Status DropDuplicates();
  // Counts the sound used records the walk did not reach, and lists them.
  Status CountUnreachable(uint64_t first_zone, const std::vector<uint64_t>& reached,
                          std::vector<uint64_t>* unreached);
  // Adds to found_ those of them kRescueUnreachable hands over.
  Status AddUnreachable(const std::vector<uint64_t>& unreached);
  // Whether a record among `sorted` (by hash) has this key.
  Status HasKey(const std::vector<Found>& sorted, uint64_t h, const std::string& key, bool* has);
  Status HandOver(const RescueFn& fn);

  SpaceReader& space_;
  const KeyHasher& hash_;
  RescueReport* report_;
  const unsigned flags_;
  std::vector<Extent> extents_;
  std::unordered_set<uint64_t> tables_;  // entered, so that a loop ends
  std::vector<Found> found_;
  std::vector<char> buf_;
};

Status Rescuer::WalkTable(uint64_t slots_off, const uint64_t* slots, unsigned nslots,
                          unsigned level, const TreePath& path) {
  const unsigned groups = nslots / format::kGroupSlots;
  for (unsigned g = 0; g < groups; g++) {
    for (unsigned s = 0; s < format::kGroupSlots; s++) {
      const uint64_t e = slots[g * format::kGroupSlots + s];
      if (e == 0) continue;
      const uint64_t slot_off = slots_off + 8 * (g * format::kGroupSlots + s);
      if (!format::EntryIsSubHash(e)) {
        const TreePath to = path.With(TreeStep{level, g, groups, format::EntryBucket(e)});
        PTDB_RETURN_IF_ERROR(Visit(e, slot_off, level, false, to));
        continue;
      }
      // The keys below a sub-hash entry have the home bucket of the slot it sits in.
      const TreePath child_path = path.With(TreeStep{level, g, groups, s});
      if (level == format::kMaxSubLevels) {
        PTDB_RETURN_IF_ERROR(WalkChain(format::EntryOffset(e), child_path));
        continue;
      }
      ScannedRecord child;
      Status st = EnterTable(format::EntryOffset(e), RecordKind::kSubGroup, &child);
      if (!st.ok()) {
        PTDB_RETURN_IF_ERROR(PassOver(st, EntryAt(slot_off)));
        continue;
      }
      const unsigned child_slots = unsigned(child.data_len / 8);
      if (format::EntryExtra(e) != format::SubGroupSizeCode(child_slots / format::kGroupSlots)) {
        Lost(EntryAt(slot_off) + ": its size bits do not match the sub-group's " +
             std::to_string(child_slots) + " slots");
        continue;
      }
      std::vector<uint64_t> table(child_slots);
      const uint64_t child_off = child.off + format::kUsedHeaderSize;
      st = ReadInto(space_, child_off, child.data_len, table.data(), "sub-group");
      if (!st.ok()) {
        PTDB_RETURN_IF_ERROR(PassOver(st, EntryAt(slot_off)));
        continue;
      }
      PTDB_RETURN_IF_ERROR(WalkTable(child_off, table.data(), child_slots, level + 1, child_path));
    }
  }
  return Status::OK();
}

Status Rescuer::WalkChain(uint64_t off, const TreePath& path) {
  for (std::string where = "chain link"; off != 0;) {
    ScannedRecord chain;
    uint64_t words[format::kChainSlots + 1];
    const uint64_t slots_off = off + format::kUsedHeaderSize;
    Status st = EnterTable(off, RecordKind::kChain, &chain);
    if (st.ok()) st = ReadInto(space_, slots_off, sizeof(words), words, "chain");
    if (!st.ok()) return PassOver(st, where);
    for (unsigned i = 0; i < format::kChainSlots; i++) {
      const uint64_t e = words[i];
      if (e == 0) continue;
      const uint64_t slot_off = slots_off + 8 * i;
      if (format::EntryIsSubHash(e) || format::EntryBucket(e) != 0 || format::EntryExtra(e) != 0) {
        Lost("chain entry at " + std::to_string(slot_off) + " has a sub-hash flag, bucket or " +
             "extra bits");
        continue;
      }
      PTDB_RETURN_IF_ERROR(Visit(e, slot_off, format::kMaxSubLevels, true, path));
    }
    off = words[format::kChainSlots];
    where = "chain next link at " + std::to_string(slots_off + 8 * format::kChainSlots);
  }
  return Status::OK();
}

Status Rescuer::Visit(uint64_t entry, uint64_t slot_off, unsigned level, bool chain,
                      const TreePath& path) {
  ScannedRecord r;
  Status st = ReadRecordAt(format::EntryOffset(entry), &r);
  if (st.ok() && r.kind != RecordKind::kUsed) {
    st = Unsound("record at " + std::to_string(r.off) + " is " + check_util::KindName(r.kind));
  }
  std::string_view key, data;
  if (st.ok()) st = ReadKeyData(r.off, r.key_len, 0, &key, &data);
  if (!st.ok()) return PassOver(st, EntryAt(slot_off));
  const uint64_t h = hash_(key.data(), key.size());
  const unsigned low = unsigned(h & ((1u << format::kHashBitsInRecord) - 1));
  if (path.Mismatch(h) != nullptr ||
      (!chain && LevelExtra(h, level) != format::EntryExtra(entry)) || r.hash_bits != low) {
    std::ostringstream os;
    os << EntryAt(slot_off) << ": the key of record " << r.off << " hashes to " << Hex{h}
       << ", which does not lead there";
    Lost(os.str());
    return Status::OK();
  }
  found_.push_back(Found{h, found_.size(), r.off});
  return Status::OK();
}

Status Rescuer::ReadRecordAt(uint64_t off, ScannedRecord* rec) {
  auto ext = std::upper_bound(extents_.begin(), extents_.end(), off,
                              [](uint64_t o, const Extent& e) { return o < e.off; });
  if (ext == extents_.begin() || off >= (--ext)->end() || off % format::kRecordAlign != 0) {
    return Unsound("offset " + std::to_string(off) + " is not a record's place in the space");
  }
  const uint64_t left = ext->end() - off;
  if (left < format::kMinRecord) {
    return Unsound("record at " + std::to_string(off) + " runs past the end of the space");
  }
  format::UsedHeader h;
  PTDB_RETURN_IF_ERROR(ReadInto(space_, off, sizeof(h), &h, "record"));
  if (IsFreeRecord(h.magic_and_meta)) {
    return Unsound("record at " + std::to_string(off) + " is a free record");
  }
  rec->off = off;
  return ParseUsedRecord(space_, off, left, h, rec);
}

Status Rescuer::EnterTable(uint64_t off, RecordKind kind, ScannedRecord* rec) {
  if (!tables_.insert(off).second) {
    return Unsound("leads back to the table at " + std::to_string(off));
  }
  PTDB_RETURN_IF_ERROR(ReadRecordAt(off, rec));
  if (rec->kind != kind) {
    return Unsound(std::string("record at ") + std::to_string(off) + " is " +
                   check_util::KindName(rec->kind) + ", not " + check_util::KindName(kind));
  }
  return Status::OK();
}

Status Rescuer::ReadKeyData(uint64_t off, uint64_t key_len, uint64_t data_len,
                            std::string_view* key, std::string_view* data) {
  const uint64_t len = key_len + data_len;
  if (buf_.size() < len) buf_.resize(len);
  const void* p = nullptr;
  PTDB_RETURN_IF_ERROR(space_.Read(off + format::kUsedHeaderSize, len, buf_.data(), &p));
  const char* bytes = static_cast<const char*>(p);
  *key = std::string_view(bytes, key_len);
  *data = std::string_view(bytes + key_len, data_len);
  return Status::OK();
}

Status Rescuer::ReadRecordKey(uint64_t off, ScannedRecord* r, std::string_view* key,
                              std::string_view* data) {
  std::string_view none;
  PTDB_RETURN_IF_ERROR(ReadRecordAt(off, r));
  return ReadKeyData(r->off, r->key_len, data ? r->data_len : 0, key, data ? data : &none);
}

Status Rescuer::ForEachHashRun(const std::vector<Found>& sorted, const RunFn& fn) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < sorted.size();) {
    size_t end = i + 1;
    while (end < sorted.size() && sorted[end].hash == sorted[i].hash) end++;
    keys.clear();
    for (size_t j = i; j < end && end - i > 1; j++) {
      ScannedRecord r;
      std::string_view key;
      PTDB_RETURN_IF_ERROR(ReadRecordKey(sorted[j].off, &r, &key));
      keys.emplace_back(key);
    }
    fn(i, end, keys);
    i = end;
  }
  return Status::OK();
}

Status Rescuer::DropDuplicates() {
  // Of records with one key, the one the walk met first is kept (one record linked twice
  // counts once).
  std::sort(found_.begin(), found_.end(), [](const Found& a, const Found& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.order < b.order;
  });
  std::vector<Found> kept;
  kept.reserve(found_.size());
  PTDB_RETURN_IF_ERROR(
      ForEachHashRun(found_, [&](size_t i, size_t end, const std::vector<std::string>& keys) {
        for (size_t j = i; j < end; j++) {
          const auto before = keys.begin() + std::ptrdiff_t(j - i);
          if (!keys.empty() && std::find(keys.begin(), before, *before) != before) {
            report_->duplicates++;
            Note("record at " + std::to_string(found_[j].off) + " has a key handed over already");
            continue;
          }
          kept.push_back(found_[j]);
        }
      }));
  std::sort(kept.begin(), kept.end(), [](const Found& a, const Found& b) { return a.off < b.off; });
  found_ = std::move(kept);
  return Status::OK();
}

Status Rescuer::CountUnreachable(uint64_t first_zone, const std::vector<uint64_t>& reached,
                                 std::vector<uint64_t>* unreached) {
  ScannedSpace scan;
  Status st = ScanSpace(space_, first_zone, &scan);
  if (!st.ok()) {
    if (!st.IsCorrupt()) return st;
    Note("the space cannot be parsed record by record: " + Finding(st));
    return Status::OK();
  }
  report_->space_scanned = true;
  for (const ScannedRecord& r : scan.records) {
    if (r.kind == RecordKind::kUsed && !std::binary_search(reached.begin(), reached.end(), r.off)) {
      report_->unreachable++;
      unreached->push_back(r.off);
      Note("used record at " + std::to_string(r.off) + " is not reachable from the hash tree");
    }
  }
  return Status::OK();
}

Status Rescuer::HasKey(const std::vector<Found>& sorted, uint64_t h, const std::string& key,
                       bool* has) {
  *has = false;
  auto it = std::lower_bound(sorted.begin(), sorted.end(), h,
                             [](const Found& f, uint64_t v) { return f.hash < v; });
  for (; it != sorted.end() && it->hash == h && !*has; ++it) {
    ScannedRecord r;
    std::string_view other;
    PTDB_RETURN_IF_ERROR(ReadRecordKey(it->off, &r, &other));
    *has = other == key;
  }
  return Status::OK();
}

Status Rescuer::AddUnreachable(const std::vector<uint64_t>& unreached) {
  std::vector<Found> tree = found_;
  std::sort(tree.begin(), tree.end(),
            [](const Found& a, const Found& b) { return a.hash < b.hash; });
  // Sound and not an old copy of a key the tree has.
  std::vector<Found> candidates;
  for (const uint64_t off : unreached) {
    ScannedRecord r;
    std::string_view key;
    PTDB_RETURN_IF_ERROR(ReadRecordKey(off, &r, &key));
    const uint64_t h = hash_(key.data(), key.size());
    if (r.hash_bits != unsigned(h & ((1u << format::kHashBitsInRecord) - 1))) {
      Note("unreachable record at " + std::to_string(off) + ": its key does not hash to its " +
           "header's hash bits");
      continue;
    }
    bool in_tree;
    PTDB_RETURN_IF_ERROR(HasKey(tree, h, std::string(key), &in_tree));
    if (!in_tree) candidates.push_back(Found{h, 0, off});
  }
  // A key in two unreachable records: which is the database's is unknown, so neither.
  std::sort(candidates.begin(), candidates.end(),
            [](const Found& a, const Found& b) { return a.hash < b.hash; });
  PTDB_RETURN_IF_ERROR(
      ForEachHashRun(candidates, [&](size_t i, size_t end, const std::vector<std::string>& keys) {
        for (size_t j = i; j < end; j++) {
          if (!keys.empty() && std::count(keys.begin(), keys.end(), keys[j - i]) > 1) {
            Note("unreachable record at " + std::to_string(candidates[j].off) +
                 ": another unreachable record has its key, so neither is saved");
            continue;
          }
          found_.push_back(candidates[j]);
          report_->unreachable_saved++;
        }
      }));
  std::sort(found_.begin(), found_.end(),
            [](const Found& a, const Found& b) { return a.off < b.off; });
  return Status::OK();
}

Status Rescuer::HandOver(const RescueFn& fn) {
  for (const Found& f : found_) {
    ScannedRecord r;
    std::string_view key, data;
    PTDB_RETURN_IF_ERROR(ReadRecordKey(f.off, &r, &key, &data));
    PTDB_RETURN_IF_ERROR(fn(key, data));
    report_->records++;
  }
  return Status::OK();
}

}  // namespace

bool IsPtdbHeader(const format::Header& h) {
  return std::memcmp(h.magic_food, format::kMagicFood, sizeof(format::kMagicFood)) == 0 &&
         h.version == format::kVersion;
}

Status RescueDatabase(SpaceReader& space, const KeyHasher& hash, const RescueFn& fn,
                      RescueReport* report, unsigned flags) {
  RescueReport local;
  if (report == nullptr) report = &local;
  *report = RescueReport();
  Rescuer rescuer(space, hash, report, flags);
  return rescuer.Run(fn);
}

}  // namespace ptdb
