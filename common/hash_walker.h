// Walking the hash tree in slot order, for traverse and first/next key.
#ifndef PTDB_COMMON_HASH_WALKER_H_
#define PTDB_COMMON_HASH_WALKER_H_

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "common/format.h"
#include "common/hash_tree.h"
#include "common/record.h"
#include "common/space_io.h"

namespace ptdb {

// Walks the records of one top-level group depth-first, in slot order. Next() yields
// one record entry at a time, Collect() all the rest with their trails. A path from
// Locate resumes a walk just after (or, for a missing key, at) the key's position.
//
// Each table's slots are read once, when the walk enters it (a pointer into the map, or
// a copy). REQUIRES: nothing writes to the database between Start/Resume and the end
// of a walk; traverse collects a whole group before it calls back, and asks
// Holds() before each visit whether the entry is still where its trail leads.
template <class S>
class HashWalker {
  static constexpr unsigned kMaxDepth = format::kMaxSubLevels + 2;

 public:
  // The way down to the table of an entry Next yielded: the slot taken in each table
  // above it, and in a chain the links followed from the first. Only the tables holding
  // sub-hash entries (the top level, full 8-group sub-groups) are on it, and those never
  // move; the entry's own table may (a sub-group doubles into a new one, the old one is
  // freed), so it is found again from the slot above, never from a remembered offset.
  struct Trail {
    uint8_t index[kMaxDepth] = {};
    uint8_t levels = 0;
    uint32_t hops = 0;
  };

  explicit HashWalker(S* storage) : s_(storage) {}

  void Start(unsigned group) {
    depth_ = 1;
    frames_[0] = {format::kTopHashOffset + uint64_t(group) * 64, format::kGroupSlots, 0, false,
                  nullptr};
    SyncTrail();
  }
  void Resume(const HashLocation& loc) {
    depth_ = loc.depth;
    for (unsigned i = 0; i < depth_; i++) {
      const auto& st = loc.path[i];
      frames_[i] = {st.slots_off, st.nslots, st.index + 1, st.chain, nullptr};
    }
    if (!loc.found && depth_ > 0) frames_[depth_ - 1].next--;  // the missing key's spot
    SyncTrail();
  }

  // Chain links followed so far. A FirstKey/NextKey iteration is many short walks: it
  // carries the count from one to the next, so a chain that loops is caught there too.
  uint64_t chain_links() const { return chain_links_; }
  void set_chain_links(uint64_t n) { chain_links_ = n; }

  // Yields the next record entry. Sets *done when the top-level group is exhausted.
  Status Next(uint64_t* entry, bool* done) {
    return Walk(
        [entry](uint64_t e) {
          *entry = e;
          return true;
        },
        done);
  }

  // Appends every record entry left in the group, each with its trail (a traverse
  // collecting a group): one call, not one per entry. REQUIRES: a walk from Start, not
  // Resume. The trail is kept up to date as the walk enters and leaves tables
  // (SyncTrail), so each entry copies it instead of assembling it.
  Status Collect(std::vector<std::pair<uint64_t, Trail>>* out) {
    bool done;
    return Walk(
        [this, out](uint64_t e) {
          out->emplace_back(e, trail_);
          return false;
        },
        &done);
  }

  // Whether `entry` is still in top-level group `group` where `trail` leads, following
  // the tree as it is now: a record deleted or moved meanwhile is not, one whose
  // sub-group doubled is (in the group of the new sub-group its hash bits pick), and so
  // is one whose bucket was pushed a level down (in the table below it).
  // REQUIRES: the group's lock.
  Status Holds(unsigned group, const Trail& trail, uint64_t entry, bool* present) {
    *present = false;
    uint64_t slots_off = format::kTopHashOffset + uint64_t(group) * 64;
    unsigned nslots = format::kGroupSlots;
    bool chain = false;
    for (unsigned level = 0; level < trail.levels; level++) {
      if (chain || trail.index[level] >= nslots) return Status::OK();
      uint64_t e;
      PTDB_RETURN_IF_ERROR(ReadWord(s_, slots_off + 8 * uint64_t(trail.index[level]), &e));
      if (!format::EntryIsSubHash(e)) return Status::OK();
      slots_off = format::EntryOffset(e) + format::kUsedHeaderSize;
      if (level + 1 > format::kMaxSubLevels) {
        chain = true;
        nslots = format::kChainSlots;
        continue;
      }
      if (format::EntryExtra(e) > format::kSubGroupBits) {
        return Err(Error::kCorrupt, "bad sub-group size code in hash entry %llx",
                   (unsigned long long)e);
      }
      nslots = format::kGroupSlots << format::EntryExtra(e);
    }
    if (chain) {
      for (uint32_t hop = 0; hop < trail.hops; hop++) {
        uint64_t next_link;
        PTDB_RETURN_IF_ERROR(ReadWord(s_, slots_off + 8 * format::kChainSlots, &next_link));
        if (next_link == 0) return Status::OK();
        if (next_link % format::kRecordAlign != 0) {
          return Err(Error::kCorrupt, "hash chain link at %llu is not aligned",
                     (unsigned long long)next_link);
        }
        slots_off = next_link + format::kUsedHeaderSize;
      }
    } else if (trail.levels > 0) {
      slots_off += 64 * uint64_t(format::GroupOfExtra(format::EntryExtra(entry),
                                                      nslots / format::kGroupSlots));
    }
    static_assert(format::kChainSlots == format::kGroupSlots, "a chain link is one group");
    uint64_t buf[format::kGroupSlots];
    const void* p = nullptr;
    PTDB_RETURN_IF_ERROR(s_->Read(slots_off, sizeof(buf), buf, &p));
    const uint64_t* slots = static_cast<const uint64_t*>(p);
    *present = std::find(slots, slots + format::kGroupSlots, entry) != slots + format::kGroupSlots;
    if (*present || chain) return Status::OK();
    // A bucket that filled up is pushed a level down (HashTree::PushDown): its entries,
    // rewritten with the next level's hash bits, move to a new table that a sub-hash
    // entry in the bucket's home slot leads to. The record is looked for there by offset.
    const uint64_t home = slots[format::EntryBucket(entry)];
    if (!format::EntryIsSubHash(home)) return Status::OK();
    return HeldBelow(home, trail.levels + 1, format::EntryOffset(entry), present);
  }

 private:
  // Whether a record entry for rec_off is in the table `sub` leads to, at `depth`, or
  // in any table below that one.
  Status HeldBelow(uint64_t sub, unsigned depth, uint64_t rec_off, bool* present) {
    if (depth > format::kMaxSubLevels) {
      // A chain: links of kChainSlots slots and a next link, every entry a record.
      const uint64_t max_links = s_->size() / (format::kUsedHeaderSize + format::kChainDataLen);
      uint64_t links = 0;
      for (uint64_t at = format::EntryOffset(sub); at != 0; links++) {
        if (links > max_links || at % format::kRecordAlign != 0) {
          return Err(Error::kCorrupt, "hash chain at %llu loops or is misaligned",
                     (unsigned long long)at);
        }
        uint64_t link[format::kChainSlots + 1];
        PTDB_RETURN_IF_ERROR(ReadStruct(s_, at + format::kUsedHeaderSize, &link));
        for (unsigned i = 0; i < format::kChainSlots; i++) {
          if (link[i] != 0 && format::EntryOffset(link[i]) == rec_off) {
            *present = true;
            return Status::OK();
          }
        }
        at = link[format::kChainSlots];
      }
      return Status::OK();
    }
    if (format::EntryExtra(sub) > format::kSubGroupBits) {
      return Err(Error::kCorrupt, "bad sub-group size code in hash entry %llx",
                 (unsigned long long)sub);
    }
    const unsigned nslots = format::kGroupSlots << format::EntryExtra(sub);
    uint64_t buf[format::kMaxSubSlots];
    const void* p = nullptr;
    PTDB_RETURN_IF_ERROR(
        s_->Read(format::EntryOffset(sub) + format::kUsedHeaderSize, 8 * nslots, buf, &p));
    const uint64_t* slots = static_cast<const uint64_t*>(p);
    for (unsigned i = 0; i < nslots && !*present; i++) {
      const uint64_t e = slots[i];
      if (e == 0) continue;
      if (format::EntryIsSubHash(e)) {
        PTDB_RETURN_IF_ERROR(HeldBelow(e, depth + 1, rec_off, present));
      } else if (format::EntryOffset(e) == rec_off) {
        *present = true;
      }
    }
    return Status::OK();
  }

  struct Frame {
    uint64_t slots_off;
    unsigned nslots;
    unsigned next;
    bool chain;
    const uint64_t* slots;  // null until the walk enters the table
    uint32_t hops = 0;      // chain links followed from the first (chain)
  };

  // Visits the record entries from where the walk stands, in slot order, until
  // visit(entry) returns true (*done false, the walk resumable after it) or the group
  // is exhausted (*done true).
  template <class Visit>
  Status Walk(Visit&& visit, bool* done) {
    while (depth_ > 0) {
      Frame& f = frames_[depth_ - 1];
      if (f.next >= f.nslots) {
        if (f.chain) {
          uint64_t next_link;
          PTDB_RETURN_IF_ERROR(ReadWord(s_, f.slots_off + 8 * format::kChainSlots, &next_link));
          if (next_link % format::kRecordAlign != 0) {
            return Err(Error::kCorrupt, "hash chain link at %llu is not aligned",
                       (unsigned long long)next_link);
          }
          if (next_link != 0) {
            if (++chain_links_ > s_->size() / (format::kUsedHeaderSize + format::kChainDataLen)) {
              return Err(Error::kCorrupt, "hash chain loops");
            }
            const uint32_t hops = f.hops + 1;
            f = {next_link + format::kUsedHeaderSize, unsigned(format::kChainSlots), 0, true,
                 nullptr};
            f.hops = hops;
            SyncTrail();
            continue;
          }
        }
        depth_--;
        if (depth_ > 0) SyncTrail();
        continue;
      }
      if (f.slots == nullptr) PTDB_RETURN_IF_ERROR(LoadSlots(depth_ - 1));
      // The table's slots in a loop of locals: nearly all are empty or records, and
      // only a sub-hash entry (or a visit that stops) leaves it.
      const uint64_t* const slots = f.slots;
      const unsigned n = f.nslots;
      unsigned i = f.next;
      for (; i < n; i++) {
        const uint64_t e = slots[i];
        if (e == 0) continue;
        if (format::EntryIsSubHash(e)) {
          f.next = i + 1;
          PTDB_RETURN_IF_ERROR(Descend(format::EntryOffset(e)));
          break;
        }
        if (visit(e)) {
          f.next = i + 1;
          *done = false;
          return Status::OK();
        }
      }
      if (i >= n) f.next = n;
    }
    *done = true;
    return Status::OK();
  }

  // The trail to the deepest table: its level, the slot taken in each table above it,
  // and the chain links followed to it. Only entering or leaving a table changes it.
  void SyncTrail() {
    trail_.levels = uint8_t(depth_ - 1);
    for (unsigned i = 0; i + 1 < depth_; i++) trail_.index[i] = uint8_t(frames_[i].next - 1);
    trail_.hops = frames_[depth_ - 1].hops;
  }

  Status LoadSlots(unsigned depth) {
    Frame& f = frames_[depth];
    const void* p = nullptr;
    PTDB_RETURN_IF_ERROR(s_->Read(f.slots_off, 8 * size_t(f.nslots), bufs_[depth], &p));
    f.slots = static_cast<const uint64_t*>(p);
    // The sub-groups this table leads to lie anywhere in the file: start loading their
    // headers and first slots now, so the walk does not wait for each in turn. Only the
    // top level and full sub-groups push entries down; the rest hold records only.
    if (depth > 0 && f.nslots < format::kMaxSubSlots) return Status::OK();
    for (unsigned i = 0; i < f.nslots; i++) {
      if (format::EntryIsSubHash(f.slots[i])) s_->Prefetch(format::EntryOffset(f.slots[i]));
    }
    return Status::OK();
  }

  Status Descend(uint64_t child) {
    if (depth_ >= kMaxDepth) return Err(Error::kCorrupt, "hash tree deeper than possible");
    format::UsedHeader hdr;
    PTDB_RETURN_IF_ERROR(ReadStruct(s_, child, &hdr));
    const RecordInfo info = DecodeUsedHeader(hdr);
    const uint64_t slots_off = child + format::kUsedHeaderSize;
    if (info.magic == format::kChainMagic && info.data_len == format::kChainDataLen) {
      frames_[depth_++] = {slots_off, unsigned(format::kChainSlots), 0, true, nullptr};
      SyncTrail();
      return Status::OK();
    }
    const uint64_t nslots = info.data_len / 8;
    if (info.magic != format::kSubHashMagic || info.data_len % 64 || nslots == 0 ||
        nslots > format::kMaxSubSlots) {
      return Err(Error::kCorrupt, "bad hash sub-group at %llu", (unsigned long long)child);
    }
    frames_[depth_++] = {slots_off, unsigned(nslots), 0, false, nullptr};
    SyncTrail();
    return Status::OK();
  }

  S* s_;
  Frame frames_[kMaxDepth];
  uint64_t bufs_[kMaxDepth][format::kMaxSubSlots];  // the copies, when there is no map
  unsigned depth_ = 0;
  Trail trail_;
  uint64_t chain_links_ = 0;
};

}  // namespace ptdb

#endif  // PTDB_COMMON_HASH_WALKER_H_
