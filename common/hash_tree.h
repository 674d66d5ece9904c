// The hash tree (design: "Hash Size Is Determined At TDB Creation Time").
//
// 128 top-level groups of 8 slots live in the header. A full group pushes its most
// crowded home bucket down into a sub-group; a sub-group starts with one group of 8
// slots and doubles (2, 4, 8 groups) as it fills, so its slots are mostly used; only a
// full 8-group sub-group pushes buckets further down. After the last level the hash is
// used up and entries go to chains. format.h has the bit layout.
//
// tdb2 made every sub-table 64 slots at once; with a good hash most were a quarter
// full, and tables took 48-73% of the file. Growing sub-groups in place keeps the tree
// at 14-22 bytes per record (docs/design.md has the measurements).
#ifndef PTDB_COMMON_HASH_TREE_H_
#define PTDB_COMMON_HASH_TREE_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/fence.h"
#include "common/format.h"
#include "common/free_zones.h"
#include "common/group_edit.h"
#include "common/record.h"
#include "common/space_io.h"
#include "common/stat_counters.h"
#include "common/tree_cursor.h"

namespace ptdb {

// `n` hash bits starting `start` bits below the top (zero past the end of the hash).
inline unsigned HashBits(uint64_t h, unsigned start, unsigned n) {
  if (start >= 64) return 0;
  return unsigned((h << start) >> (64 - n));
}

// Where a key is, or where it would go. Locate fills it in (it starts with Reset), so
// the fields have no initializers: a lookup would clear them twice.
struct HashLocation {
  bool found;
  uint64_t rec_off;   // the record (found)
  RecordInfo rec;     // its header (found)
  uint64_t slot_off;  // the slot holding the entry (found)

  // The table the key belongs in: top level (table_off == 0), a sub-group, or a chain.
  unsigned level;         // 0 = top
  uint64_t table_off;     // record offset of the sub-group or first chain link
  unsigned table_groups;  // groups in the sub-group (1..8)
  uint64_t parent_slot;   // slot pointing at table_off
  bool in_chain;
  uint64_t group_off;   // first slot of the key's group
  unsigned bucket;      // home bucket in the group
  unsigned extra;       // the entry's extra hash bits
  unsigned bits_used;   // hash bits consumed down to and including this level
  uint64_t empty_slot;  // first empty slot on the probe path, or 0 if the group is full
  uint64_t chain_tail;  // last chain link (in_chain)

  // Path for iteration: table data offset and slot index at each level.
  struct Step {
    uint64_t slots_off;  // first slot of the table (for the top: of the group)
    unsigned nslots;
    unsigned index;  // slot taken at this level
    bool chain;
  };
  Step path[format::kMaxSubLevels + 2];  // only [0, depth) is meaningful
  unsigned depth;

  // Clears everything but the path, which is large and written before it is read: a
  // full clear was 12% of a lookup.
  void Reset() {
    found = false;
    rec_off = slot_off = table_off = parent_slot = group_off = empty_slot = chain_tail = 0;
    rec = RecordInfo();
    level = table_groups = bucket = extra = bits_used = depth = 0;
    in_chain = false;
  }
};

template <class S>
class HashTree {
 public:
  // Groups in a sub-group made by a push-down.
  static constexpr unsigned kFirstGroups = 4;

  using Hasher = uint64_t (*)(const void* ctx, const void* key, size_t len);

  HashTree(S* storage, FreeZones<S>* zones, StatCounters* stats, Hasher hasher,
           const void* hash_ctx)
      : s_(storage), zones_(zones), stats_(stats), hasher_(hasher), hash_ctx_(hash_ctx) {}

  uint64_t Hash(std::string_view key) const { return hasher_(hash_ctx_, key.data(), key.size()); }

  Status Locate(std::string_view key, uint64_t h, HashLocation* loc);
  // One step of a walk that only asks the CPU to load what Locate will read, so that
  // several lookups' DRAM misses overlap (Engine::StoreBatch takes the steps of a batch
  // of keys in turns). Reads the group at *c, which the previous step asked for: if it
  // leads to a child, moves there, prefetches its group and returns true; at the key's
  // own group, prefetches the records a probe would compare and returns false. A hint
  // only: it reads what Storage::Peek hands out, never fails, and stops where that is
  // nothing or at a chain.
  bool PrefetchStep(TreeCursor* c);
  // Adds an entry for a new record at rec_off. REQUIRES: loc from Locate, not found.
  // May restructure the tree (and so allocate).
  Status Insert(std::string_view key, uint64_t h, uint64_t rec_off, HashLocation* loc);
  // Points the found entry at a moved record.
  Status Repoint(const HashLocation& loc, uint64_t new_off) {
    uint64_t e;
    PTDB_RETURN_IF_ERROR(ReadWord(s_, loc.slot_off, &e));
    return WriteWord(s_, loc.slot_off, (e & ~format::kEntryOffsetMask) | new_off);
  }
  // Removes the found entry.
  Status Remove(const HashLocation& loc);

  // Empties the top level (sub-groups and chains are freed by the caller's zone reset).
  Status Clear();

 private:
  Status ReadGroup(uint64_t group_off, uint64_t slots[8]) {
    return ReadStruct(s_, group_off, reinterpret_cast<uint64_t(*)[8]>(slots));
  }
  Status Compare(std::string_view key, uint64_t h, uint64_t off, HashLocation* loc, bool* match);
  Status LocateInChain(std::string_view key, uint64_t h, uint64_t chain, HashLocation* loc);
  // A new sub-group or chain holding `slots` (data_len bytes).
  Status AllocTable(uint16_t magic, const uint64_t* slots, uint64_t data_len, uint64_t* off);
  Status Expand(HashLocation* loc, unsigned new_bucket);
  Status Double(HashLocation* loc);
  Status PushDown(HashLocation* loc, unsigned new_bucket);
  Status RecordHash(uint64_t rec_off, uint64_t* h);
  // For group_edit.h: writes one slot of the group at group_off, after everything
  // written before it and before everything written after.
  auto SlotWriter(uint64_t group_off) {
    return [this, group_off](unsigned slot, uint64_t entry) {
      KillOrderFence();
      const Status st = WriteWord(s_, group_off + 8 * slot, entry);
      KillOrderFence();
      return st;
    };
  }

  S* s_;
  FreeZones<S>* zones_;
  StatCounters* stats_;
  Hasher hasher_;
  const void* hash_ctx_;
};

template <class S>
Status HashTree<S>::Compare(std::string_view key, uint64_t h, uint64_t off, HashLocation* loc,
                            bool* match) {
  *match = false;
  stats_->compares++;
  RecordInfo info;
  const uint8_t* body;
  PTDB_RETURN_IF_ERROR(ReadUsedRecord(s_, off, &info, &body));
  if (info.hash_bits != (h & ((1u << format::kHashBitsInRecord) - 1))) {
    stats_->compare_wrong_rechash++;
    return Status::OK();
  }
  if (info.key_len != key.size()) {
    stats_->compare_wrong_keylen++;
    return Status::OK();
  }
  const void* p = body;
  // Without a mapping the key is copied, into this call's own buffer: threads share the
  // tree. Keys are usually short enough for the stack. (Not a std::string for longer
  // ones: setting one up and tearing it down on every compare cost 5 instructions.)
  char small[256];
  std::unique_ptr<char[]> large;
  if (body == nullptr) {
    char* buf = small;
    if (key.size() > sizeof(small)) {
      large.reset(new char[key.size()]);
      buf = large.get();
    }
    PTDB_RETURN_IF_ERROR(s_->Read(off + format::kUsedHeaderSize, key.size(), buf, &p));
  }
  if (std::memcmp(p, key.data(), key.size()) != 0) {
    stats_->compare_wrong_keycmp++;
    return Status::OK();
  }
  *match = true;
  loc->found = true;
  loc->rec_off = off;
  loc->rec = info;
  return Status::OK();
}

template <class S>
Status HashTree<S>::Locate(std::string_view key, uint64_t h, HashLocation* loc) {
  loc->Reset();
  // The walk keeps its state in a local cursor and writes it to *loc where it stops
  // (`stop`): a storage's read may make acquire loads (the file's mapping base and
  // size), after which fields kept in *loc would be loaded again, level after level.
  TreeCursor c = TreeCursor::Top(h);
  unsigned depth = 0;
  const auto stop = [&] {
    loc->level = c.level;
    loc->depth = depth;
    loc->group_off = c.group_off;
    loc->bucket = c.bucket;
    loc->extra = c.extra;
    loc->bits_used = c.bits_used;
  };
  for (;;) {
    // Slots are used in place (a pointer into the map when there is one): a probe
    // usually touches one or two of them, and copying all eight would cost a second
    // cache line for nothing.
    uint64_t buf[8];
    const void* p = nullptr;
    PTDB_RETURN_IF_ERROR(s_->Read(c.group_off, sizeof(buf), buf, &p));
    const uint64_t* slots = static_cast<const uint64_t*>(p);
    const uint64_t home = slots[c.bucket];
    auto& step = loc->path[depth++];
    step = {c.table_slots, c.table_nslots, c.group_in_table * 8 + c.bucket, false};
    if (c.AtChild(home)) {
      // Every key with this home bucket lives in the child.
      const uint64_t parent_slot = c.group_off + 8 * c.bucket;
      loc->parent_slot = parent_slot;
      switch (c.Enter(home)) {
        case TreeCursor::kTable:
          loc->table_off = format::EntryOffset(home);
          loc->table_groups = c.table_groups;
          continue;
        case TreeCursor::kChain:
          stop();
          return LocateInChain(key, h, format::EntryOffset(home), loc);
        case TreeCursor::kBadSize:
          return Err(Error::kCorrupt, "hash entry at %llu: bad sub-group size code %u",
                     (unsigned long long)parent_slot, format::EntryExtra(home));
      }
    }
    stop();
    for (unsigned i = 0; i < format::kGroupSlots; i++) {
      const unsigned slot = (c.bucket + i) % format::kGroupSlots;
      const uint64_t e = slots[slot];
      if (e == 0) {
        loc->empty_slot = c.group_off + 8 * slot;
        step.index = c.group_in_table * 8 + slot;
        return Status::OK();
      }
      if (format::EntryIsSubHash(e) || format::EntryBucket(e) != c.bucket) continue;
      if (format::EntryExtra(e) != c.extra) {
        stats_->compare_wrong_offsetbits++;
        continue;
      }
      // Compare reads into its own buffer, so `slots` (possibly `buf`) stays valid.
      // The record's next two lines are asked for with its first: a small record (a
      // 16-byte key and a 100-byte value take 132 bytes) spans three, and the caller
      // reads the value, or writes the record, right after the key matches. Waited for
      // one after the other they cost a lookup a second miss (find at 1M records: file
      // +11-16%, pool +20-35% in-process; a third line more did nothing).
      const uint64_t rec = format::EntryOffset(e);
      s_->Prefetch(rec + 64);
      s_->Prefetch(rec + 128);
      bool match;
      PTDB_RETURN_IF_ERROR(Compare(key, h, rec, loc, &match));
      if (match) {
        loc->slot_off = c.group_off + 8 * slot;
        step.index = c.group_in_table * 8 + slot;
        return Status::OK();
      }
    }
    return Status::OK();  // full group, not found
  }
}

template <class S>
bool HashTree<S>::PrefetchStep(TreeCursor* c) {
  const uint64_t* slots = reinterpret_cast<const uint64_t*>(s_->Peek(c->group_off, 64));
  if (slots == nullptr) return false;
  const uint64_t home = slots[c->bucket];
  if (c->AtChild(home)) {
    if (c->Enter(home) != TreeCursor::kTable) return false;  // a chain: rare, left alone
    s_->Prefetch(c->group_off);
    return true;
  }
  // The key's group: the records its probe would compare. A record's header and key
  // are in its first line, a small value in the next two.
  for (unsigned i = 0; i < format::kGroupSlots; i++) {
    const uint64_t e = slots[(c->bucket + i) % format::kGroupSlots];
    if (e == 0) break;
    if (format::EntryIsSubHash(e) || format::EntryBucket(e) != c->bucket ||
        format::EntryExtra(e) != c->extra) {
      continue;
    }
    const uint64_t off = format::EntryOffset(e);
    if (off >= s_->size()) continue;
    s_->Prefetch(off);
    s_->Prefetch(off + 64);
    s_->Prefetch(off + 128);
  }
  return false;
}

template <class S>
Status HashTree<S>::LocateInChain(std::string_view key, uint64_t h, uint64_t chain,
                                  HashLocation* loc) {
  loc->in_chain = true;
  loc->table_off = chain;
  loc->bucket = 0;
  loc->extra = 0;
  // There is at most one link per 88 bytes of space: that bounds a looping chain.
  const uint64_t max_links = s_->size() / (format::kUsedHeaderSize + format::kChainDataLen);
  for (uint64_t links = 0; chain != 0; links++) {
    if (links > max_links) return Err(Error::kCorrupt, "hash chain loops");
    format::UsedHeader hdr;
    PTDB_RETURN_IF_ERROR(ReadStruct(s_, chain, &hdr));
    const RecordInfo info = DecodeUsedHeader(hdr);
    if (info.magic != format::kChainMagic || info.data_len != format::kChainDataLen) {
      return Err(Error::kCorrupt, "expected a hash chain at %llu", (unsigned long long)chain);
    }
    uint64_t slots[format::kChainSlots + 1];
    PTDB_RETURN_IF_ERROR(ReadStruct(s_, chain + format::kUsedHeaderSize, &slots));
    loc->chain_tail = chain;
    auto& step = loc->path[loc->depth];
    step = {chain + format::kUsedHeaderSize, unsigned(format::kChainSlots), 0, true};
    for (unsigned i = 0; i < format::kChainSlots; i++) {
      const uint64_t slot_off = chain + format::kUsedHeaderSize + 8 * i;
      if (slots[i] == 0) {
        if (loc->empty_slot == 0) loc->empty_slot = slot_off;
        continue;
      }
      bool match;
      PTDB_RETURN_IF_ERROR(Compare(key, h, format::EntryOffset(slots[i]), loc, &match));
      if (match) {
        loc->slot_off = slot_off;
        step.index = i;
        loc->depth++;
        return Status::OK();
      }
    }
    chain = slots[format::kChainSlots];
    if (chain % format::kRecordAlign != 0) {
      return Err(Error::kCorrupt, "hash chain link at %llu is not aligned",
                 (unsigned long long)chain);
    }
  }
  return Status::OK();
}

template <class S>
Status HashTree<S>::AllocTable(uint16_t magic, const uint64_t* slots, uint64_t data_len,
                               uint64_t* off) {
  uint64_t room;
  PTDB_RETURN_IF_ERROR(zones_->Alloc(data_len, FreeZones<S>::Use::kHashTable, off, &room));
  RecordInfo info;
  info.magic = magic;
  info.data_len = data_len;
  info.padding = room - data_len;
  // Header, slots and a zero first padding byte, in one write.
  uint8_t buf[format::kUsedHeaderSize + format::kMaxSubSlots * 8 + 1];
  format::UsedHeader hdr;
  EncodeUsedHeader(info, &hdr);
  std::memcpy(buf, &hdr, sizeof(hdr));
  std::memcpy(buf + sizeof(hdr), slots, data_len);
  buf[sizeof(hdr) + data_len] = 0;
  return s_->Write(*off, buf, sizeof(hdr) + data_len + (info.padding ? 1 : 0));
}

template <class S>
Status HashTree<S>::RecordHash(uint64_t rec_off, uint64_t* h) {
  RecordInfo info;
  const uint8_t* body;
  PTDB_RETURN_IF_ERROR(ReadUsedRecord(s_, rec_off, &info, &body));
  // A buffer only for storage that copies; keys that fit stay off the heap.
  char small[64];
  std::string large;
  const void* p = body;
  if (body == nullptr) {
    char* buf = small;
    if (info.key_len > sizeof(small)) {
      large.resize(info.key_len);
      buf = large.data();
    }
    PTDB_RETURN_IF_ERROR(s_->Read(rec_off + format::kUsedHeaderSize, info.key_len, buf, &p));
  }
  *h = hasher_(hash_ctx_, p, info.key_len);
  return Status::OK();
}

template <class S>
Status HashTree<S>::Double(HashLocation* loc) {
  // A sub-group of G groups becomes one of 2G: each entry's group bits are the top of its
  // extra bits, so no key is re-read.
  const unsigned groups = loc->table_groups * 2;
  const uint64_t old_off = loc->table_off;
  const uint64_t old_slots_len = uint64_t(loc->table_groups) * 64;
  uint64_t buf[format::kMaxSubSlots];
  const void* p = nullptr;
  PTDB_RETURN_IF_ERROR(s_->Read(old_off + format::kUsedHeaderSize, old_slots_len, buf, &p));
  const uint64_t* old = static_cast<const uint64_t*>(p);
  uint64_t slots[format::kMaxSubSlots] = {};
  for (unsigned i = 0; i < loc->table_groups * 8; i++) {
    const uint64_t e = old[i];
    if (e == 0) continue;
    const unsigned g = format::GroupOfExtra(format::EntryExtra(e), groups);
    if (!PlaceInGroup(&slots[g * 8], e)) {
      return Err(Error::kCorrupt, "sub-group at %llu holds more entries than fit",
                 (unsigned long long)old_off);
    }
  }
  uint64_t new_off;
  PTDB_RETURN_IF_ERROR(AllocTable(format::kSubHashMagic, slots, groups * 64, &new_off));
  uint64_t parent;
  PTDB_RETURN_IF_ERROR(ReadWord(s_, loc->parent_slot, &parent));
  PTDB_RETURN_IF_ERROR(WriteWord(s_, loc->parent_slot,
                                 format::MakeEntry(new_off, format::EntryBucket(parent),
                                                   format::SubGroupSizeCode(groups), true)));
  format::UsedHeader hdr;
  PTDB_RETURN_IF_ERROR(ReadStruct(s_, old_off, &hdr));
  stats_->alloc_grow++;
  return zones_->Free(old_off, DecodeUsedHeader(hdr).TotalSize());
}

template <class S>
Status HashTree<S>::PushDown(HashLocation* loc, unsigned new_bucket) {
  uint64_t slots[8];
  PTDB_RETURN_IF_ERROR(ReadGroup(loc->group_off, slots));
  const unsigned victim = ChooseVictim(slots, new_bucket);
  const bool chain = loc->level + 1 > format::kMaxSubLevels;
  uint64_t child_slots[std::max<size_t>(format::kChainSlots + 1, 8 * kFirstGroups)] = {};
  unsigned chain_used = 0;
  for (uint64_t e : slots) {
    if (!IsEntryOf(e, victim)) continue;
    uint64_t off = format::EntryOffset(e), h;
    if (chain) {
      child_slots[chain_used++] = format::MakeEntry(off, 0, 0, false);
      continue;
    }
    // The child needs hash bits this entry does not carry: re-read its key.
    PTDB_RETURN_IF_ERROR(RecordHash(off, &h));
    const unsigned b = HashBits(h, loc->bits_used, format::kBucketBits);
    const unsigned x = HashBits(h, loc->bits_used + format::kBucketBits, format::kExtraHashBits);
    PlaceInGroup(&child_slots[8 * format::GroupOfExtra(x, kFirstGroups)],
                 format::MakeEntry(off, b, x, false));
  }
  // The child is whole before the group links to it.
  uint64_t child;
  if (chain) {
    PTDB_RETURN_IF_ERROR(
        AllocTable(format::kChainMagic, child_slots, format::kChainDataLen, &child));
    stats_->alloc_chain++;
  } else {
    PTDB_RETURN_IF_ERROR(AllocTable(format::kSubHashMagic, child_slots, 64 * kFirstGroups, &child));
    stats_->alloc_subhash++;
  }
  const uint64_t link =
      format::MakeEntry(child, victim, chain ? 0 : format::SubGroupSizeCode(kFirstGroups), true);
  return LinkChild(slots, victim, link, SlotWriter(loc->group_off));
}

template <class S>
Status HashTree<S>::Expand(HashLocation* loc, unsigned new_bucket) {
  if (loc->level > 0 && loc->table_groups < format::kMaxSubGroups) return Double(loc);
  return PushDown(loc, new_bucket);
}

template <class S>
Status HashTree<S>::Insert(std::string_view key, uint64_t h, uint64_t rec_off, HashLocation* loc) {
  for (;;) {
    if (loc->empty_slot != 0) {
      return WriteWord(s_, loc->empty_slot,
                       format::MakeEntry(rec_off, loc->bucket, loc->extra, false));
    }
    if (loc->in_chain) {
      uint64_t link;
      uint64_t slots[format::kChainSlots + 1] = {format::MakeEntry(rec_off, 0, 0, false)};
      PTDB_RETURN_IF_ERROR(AllocTable(format::kChainMagic, slots, format::kChainDataLen, &link));
      stats_->alloc_chain++;
      return WriteWord(s_, loc->chain_tail + format::kUsedHeaderSize + 8 * format::kChainSlots,
                       link);
    }
    PTDB_RETURN_IF_ERROR(Expand(loc, loc->bucket));
    PTDB_RETURN_IF_ERROR(Locate(key, h, loc));
    if (loc->found) return Err(Error::kCorrupt, "key appeared while expanding the hash");
  }
}

template <class S>
Status HashTree<S>::Remove(const HashLocation& loc) {
  if (loc.in_chain) return WriteWord(s_, loc.slot_off, 0);
  uint64_t slots[8];
  PTDB_RETURN_IF_ERROR(ReadGroup(loc.group_off, slots));
  return RemoveFromGroup(slots, unsigned((loc.slot_off - loc.group_off) / 8),
                         SlotWriter(loc.group_off));
}

template <class S>
Status HashTree<S>::Clear() {
  std::vector<uint64_t> zero(format::kTopSlots, 0);
  return s_->Write(format::kTopHashOffset, zero.data(), zero.size() * 8);
}

}  // namespace ptdb

#endif  // PTDB_COMMON_HASH_TREE_H_
