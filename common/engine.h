// The TDB2 engine: records over the hash tree and the free zones, written once for
// every backend's Storage (common/storage.h).
//
// Each operation takes the TDB2 locks it needs through the storage (S::Lock/Unlock,
// common/locks.h): a key's top-level hash group (read to look, write to change), the
// allocator's free-zone and expansion locks (common/free_zones.h), one group at a time
// for traverse, and none while a callback runs. REQUIRES: validated arguments
// (frontend/db_impl.cc).
#ifndef PTDB_COMMON_ENGINE_H_
#define PTDB_COMMON_ENGINE_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/backend.h"
#include "common/format.h"
#include "common/free_zones.h"
#include "common/hash.h"
#include "common/hash_tree.h"
#include "common/hash_walker.h"
#include "common/locks.h"
#include "common/record.h"
#include "common/space_io.h"
#include "common/traverse_placements.h"
#include "common/write_epoch.h"
#include "ptdb/db.h"
#include "ptdb/options.h"

namespace ptdb {

// The key hash as a database uses it: the caller's function or lookup3, and the seed.
struct HashConfig {
  HashFn fn;  // empty: JenkinsHash64
  uint64_t seed = 0;

  uint64_t operator()(const void* key, size_t len) const {
    return fn ? fn(key, len, seed) : JenkinsHash64(key, len, seed);
  }
  static uint64_t Call(const void* self, const void* key, size_t len) {
    return (*static_cast<const HashConfig*>(self))(key, len);
  }
};

// Writes a new database's header (zeroed top level) and makes `first_zone` its first zone.
template <class S>
Status InitializeDatabase(S* s, const HashConfig& hash, uint64_t features, const Extent& first_zone,
                          StatCounters* stats) {
  std::vector<uint8_t> buf(format::kHeaderSize, 0);
  auto* hdr = reinterpret_cast<format::Header*>(buf.data());
  std::memcpy(hdr->magic_food, format::kMagicFood, sizeof(format::kMagicFood));
  hdr->version = format::kVersion;
  hdr->hash_seed = hash.seed;
  hdr->hash_test = HashTestValue(hash);
  hdr->features_offered = format::kFeaturesKnown;
  hdr->features_used = features;
  PTDB_RETURN_IF_ERROR(s->Write(0, buf.data(), buf.size()));
  FreeZones<S> zones(s, stats);
  return zones.AddZone(first_zone);
}

// Holds a lock of the storage's lock set for a scope.
template <class S>
class ScopedLock {
 public:
  ScopedLock(S* s, LockId id, LockType type)
      : s_(s), id_(id), type_(type), st_(s->Lock(id, type)) {}
  ~ScopedLock() {
    if (st_.ok()) (void)s_->Unlock(id_, type_);
  }
  ScopedLock(const ScopedLock&) = delete;
  ScopedLock& operator=(const ScopedLock&) = delete;
  const Status& status() const { return st_; }

 private:
  S* s_;
  LockId id_;
  LockType type_;
  Status st_;
};

// A read of one top-level group without its lock, where the storage can tell afterwards
// whether a writer changed the group meanwhile (S::BeginUnlockedRead). Point reads try
// this first: it saves a lock and an unlock, and readers no longer meet on a group's lock.
template <class S>
class UnlockedRead {
 public:
  UnlockedRead(S* s, unsigned group) : s_(s), group_(group) {
    began_ = s_->BeginUnlockedRead(group_, &count_);
  }
  ~UnlockedRead() {
    if (began_) s_->EndUnlockedRead();
  }
  UnlockedRead(const UnlockedRead&) = delete;
  UnlockedRead& operator=(const UnlockedRead&) = delete;

  bool began() const { return began_; }
  // Whether everything read since it began is whole.
  bool valid() const { return s_->UnlockedReadValid(group_, count_); }

 private:
  S* s_;
  unsigned group_;
  uint64_t count_ = 0;
  bool began_;
};

// The optional change token of a Storage (common/storage.h), or none: every later run
// of a traverse then searches its group again.
template <class S>
auto GroupChangeToken(S* s, unsigned group, uint64_t* token, int)
    -> decltype(s->GroupChangeToken(group, token)) {
  return s->GroupChangeToken(group, token);
}
template <class S>
bool GroupChangeToken(S*, unsigned, uint64_t*, long) {
  return false;
}

// Whether a storage promises that only the calling thread writes while it traverses
// (common/storage.h), or false if it has no such promise to make.
template <class S>
auto OnlyTraverserWrites(const S* s, int) -> decltype(s->OnlyTraverserWrites()) {
  return s->OnlyTraverserWrites();
}
template <class S>
bool OnlyTraverserWrites(const S*, long) {
  return false;
}

template <class S>
class Engine {
 public:
  Engine(S* storage, const HashConfig& hash, StatCounters* stats)
      : s_(storage),
        hash_(hash),
        stats_(stats),
        zones_(storage, stats),
        tree_(storage, &zones_, stats, &HashConfig::Call, &hash_) {}

  // Loads what the engine caches about the space (the zone list).
  Status Load() { return zones_.Load(); }

  Status Fetch(std::string_view key, std::string* data);
  Status Parse(std::string_view key, const ParseFn& fn);
  Status Exists(std::string_view key, bool* exists);
  Status Store(std::string_view key, std::string_view data, StoreMode mode) {
    return StoreHashed(key, tree_.Hash(key), data, mode);
  }
  // Replaces (StoreMode::kReplace), in order, as many Store calls would. First the keys'
  // walks down the tree take turns, each step reading what the previous round asked the
  // CPU for and asking for the next, so the DRAM misses of the batch overlap instead of
  // following one another; then each store finds its group and record in cache. Stops
  // at the first error.
  Status StoreBatch(const DeferredStore* stores, size_t n);
  Status Append(std::string_view key, std::string_view data);
  Status Delete(std::string_view key);
  Status Traverse(const TraverseFn& fn, uint64_t* count);
  Status FirstKey(std::string* key);
  Status NextKey(std::string* key);
  // Removes every record. With release_space, only the first zone is kept and
  // release(end) is called, still under the allrecord lock, with where it ends: the
  // storage may give back the space after it.
  Status Wipe(const std::function<Status(uint64_t end)>& release = nullptr);

  // Under the expansion lock, which every bump holds (BumpSeqnum).
  Status ReadSeqnum(uint64_t* seq) {
    ScopedLock<S> lock(s_, {LockKind::kExpansion, 0}, LockType::kRead);
    PTDB_RETURN_IF_ERROR(lock.status());
    return ReadWord(s_, format::kSeqnumOffset, seq);
  }
  // Fixed once the database exists (validated at open): no lock.
  Status ReadFeatures(uint64_t* used, uint64_t* offered) {
    PTDB_RETURN_IF_ERROR(ReadWord(s_, offsetof(format::Header, features_used), used));
    return ReadWord(s_, offsetof(format::Header, features_offered), offered);
  }
  Status ReloadZones() { return zones_.Load(); }
  Status BumpSeqnum();

  const HashConfig& hash() const { return hash_; }
  // The top-level hash group of a key: the unit of chainlock.
  unsigned GroupOf(std::string_view key) const {
    return unsigned(HashBits(tree_.Hash(key), 0, format::kTopGroupBits));
  }

 private:
  // Records up to this size (header, key, data, padding byte) are written in one piece.
  static constexpr size_t kSmallRecord = 512;

  static unsigned GroupIndex(uint64_t h) { return unsigned(HashBits(h, 0, format::kTopGroupBits)); }
  static LockId Group(uint64_t h) { return {LockKind::kHashGroup, GroupIndex(h)}; }
  // Finds key and calls read_loc(location): first without the group's lock, kept when
  // no writer changed the group meanwhile, else again under its read lock.
  template <class Read>
  Status ReadLocated(std::string_view key, Read&& read_loc);
  Status StoreHashed(std::string_view key, uint64_t h, std::string_view data, StoreMode mode);
  Status ReadRecordData(const HashLocation& loc, std::string* data);
  Status ReadKey(uint64_t rec_off, std::string* key);
  Status WriteRecord(uint64_t off, uint64_t room, std::string_view key, std::string_view data1,
                     std::string_view data2, unsigned hash_bits, bool grown, bool key_in_place);
  // A record for key in new space; old_off is where the key's record is now (0: none).
  Status NewRecord(std::string_view key, std::string_view data1, std::string_view data2,
                   unsigned hash_bits, bool grown, uint64_t old_off, uint64_t* off);
  // Moves on from `group` (exhausted) through the later groups to the next key.
  Status KeyFromGroup(HashWalker<S>* walker, unsigned group, std::string* key, bool* found);
  // The walker's next key within its current group, if any.
  Status KeyInGroup(HashWalker<S>* walker, std::string* key, bool* found);
  Status InsertOrRelease(std::string_view key, uint64_t h, uint64_t rec_off, HashLocation* loc);
  // Gives back a record NewRecord made that the tree never came to hold.
  Status ReleaseRecord(uint64_t rec_off) {
    format::UsedHeader hdr;
    PTDB_RETURN_IF_ERROR(ReadStruct(s_, rec_off, &hdr));
    return zones_.Free(rec_off, DecodeUsedHeader(hdr).TotalSize());
  }
  // StoreHashed's kInsert while inserts have been finding their keys absent: the record
  // first, the lookup after (see its comment). REQUIRES: the key's group write lock.
  Status InsertExpectingNew(std::string_view key, uint64_t h, std::string_view data);

  // Copies of a run of a group's records, for traverse to call back on.
  struct TraverseRun {
    struct Item {
      size_t pos;  // key, then data, at bytes[pos]
      uint64_t key_len;
      uint64_t data_len;
      size_t entry;  // index in the collected entries (hash order)
      uint64_t end;  // where the record ends (space order)
    };
    std::vector<Item> items;
    // The copies, back to back. Not a std::string: growing one zero-fills the bytes a
    // copy then overwrites, which was a tenth of a traverse.
    std::unique_ptr<char[]> bytes;
    size_t used = 0, capacity = 0;

    void Clear() {
      items.clear();
      used = 0;
    }
    // Room for len more bytes at bytes[used], and a buffer even for none: a record of
    // no bytes is still copied to somewhere (memcpy wants a pointer).
    void Reserve(size_t len) {
      if (bytes != nullptr && len <= capacity - used) return;
      const size_t want = std::max({2 * capacity, used + len, size_t(4096)});
      std::unique_ptr<char[]> bigger(new char[want]);
      if (used > 0) std::memcpy(bigger.get(), bytes.get(), used);
      bytes = std::move(bigger);
      capacity = want;
    }
  };
  // Copies the records of entries[*next ...] that are still in `group` (all, unless
  // recheck) into run, up to a bound; *next becomes the first entry not looked at.
  // REQUIRES: the group's read lock.
  Status CopyRun(unsigned group,
                 const std::vector<std::pair<uint64_t, typename HashWalker<S>::Trail>>& entries,
                 bool recheck, size_t* next, TraverseRun* run);

  // Traverse in hash order: one top-level group after another.
  Status TraverseInHashOrder(const TraverseFn& fn, uint64_t* count);
  // Traverse in address order, zone by zone: reads the space front to back instead of
  // waiting on a miss per record, for a storage where only the traversing thread writes.
  Status TraverseInSpaceOrder(const TraverseFn& fn, TraversePlacements* placements,
                              uint64_t* count);
  // The record at `off` in zone z: its decoded header (magic 0: a free record) and size.
  Status ReadZoneRecord(const Extent& z, uint64_t off, RecordInfo* info, uint64_t* size);
  // Copies the used records from *off on in zone z into run, up to a bound, passing over
  // those placements says to; *off becomes the first record not looked at.
  Status CopySpaceRun(const Extent& z, const TraversePlacements& placements, uint64_t* off,
                      TraverseRun* run);
  // The first record that starts at or after *off, found from its zone's start: the
  // records may have been merged or reset under a walk's cursor.
  Status FindRecordStart(uint64_t* off);

  S* s_;
  HashConfig hash_;
  StatCounters* stats_;
  FreeZones<S> zones_;
  HashTree<S> tree_;
  // Chain links the current FirstKey/NextKey iteration has crossed (HashWalker). Shared
  // by the handle's threads: concurrent iterations only add up, towards a bound (every
  // chain record in the file) that a looping chain passes and an honest walk does not.
  std::atomic<uint64_t> iteration_chain_links_{0};
  // Hints for InsertExpectingNew, shared by the handle's threads (relaxed: a stale one
  // costs a prefetch or a lookup, never a wrong answer). Whether the last kInsert found
  // its key absent, and the tree level its lookup ended at.
  std::atomic<bool> inserts_find_new_keys_{true};
  std::atomic<unsigned> insert_level_{0};
};

// ---- implementation ---------------------------------------------------------------

inline unsigned RecordHashBits(uint64_t h) {
  return unsigned(h & ((1u << format::kHashBitsInRecord) - 1));
}

template <class S>
Status Engine<S>::ReadRecordData(const HashLocation& loc, std::string* data) {
  const uint64_t len = loc.rec.data_len;
  // A caller fetching in a loop reuses its string, often for values of one size: then
  // there is nothing to resize, and resize() is a call into the library.
  if (data->size() != len) data->resize(len);
  const void* p = nullptr;
  PTDB_RETURN_IF_ERROR(
      s_->Read(loc.rec_off + format::kUsedHeaderSize + loc.rec.key_len, len, data->data(), &p));
  if (p != data->data()) std::memcpy(data->data(), p, len);
  return Status::OK();
}

template <class S>
template <class Read>
Status Engine<S>::ReadLocated(std::string_view key, Read&& read_loc) {
  const uint64_t h = tree_.Hash(key);
  {
    UnlockedRead<S> read(s_, GroupIndex(h));
    HashLocation loc;
    // A read that failed may have followed a tree being changed anywhere: the locked
    // path below decides what is true. A record's header was whole when its location
    // was valid, so its lengths are the record's; what read_loc copied is checked again.
    if (read.began()) {
      if (tree_.Locate(key, h, &loc).ok() && read.valid()) {
        Status st = read_loc(loc);
        if ((st.ok() || st.IsNoExist()) && read.valid()) {
          stats_->unlocked_reads++;
          return st;
        }
      }
      stats_->unlocked_read_retries++;
    }
  }
  ScopedLock<S> lock(s_, Group(h), LockType::kRead);
  PTDB_RETURN_IF_ERROR(lock.status());
  HashLocation loc;
  PTDB_RETURN_IF_ERROR(tree_.Locate(key, h, &loc));
  return read_loc(loc);
}

template <class S>
Status Engine<S>::Fetch(std::string_view key, std::string* data) {
  return ReadLocated(key, [&](const HashLocation& loc) {
    if (!loc.found) return Status(Error::kNoExist, "");
    return ReadRecordData(loc, data);
  });
}

template <class S>
Status Engine<S>::Parse(std::string_view key, const ParseFn& fn) {
  const uint64_t h = tree_.Hash(key);
  ScopedLock<S> lock(s_, Group(h), LockType::kRead);
  PTDB_RETURN_IF_ERROR(lock.status());
  HashLocation loc;
  PTDB_RETURN_IF_ERROR(tree_.Locate(key, h, &loc));
  if (!loc.found) return Status(Error::kNoExist, "");
  const uint64_t len = loc.rec.key_len + loc.rec.data_len;
  // Without a mapping the record is copied; the copy is this call's own, since fn may
  // read the database (parse or traverse) itself. Small records stay on the stack.
  char small[256];
  std::string large;
  void* buf = small;
  if (len > sizeof(small)) {
    large.resize(len);
    buf = large.data();
  }
  const void* p = nullptr;
  PTDB_RETURN_IF_ERROR(s_->Read(loc.rec_off + format::kUsedHeaderSize, len, buf, &p));
  const char* c = static_cast<const char*>(p);
  return fn(std::string_view(c, loc.rec.key_len),
            std::string_view(c + loc.rec.key_len, loc.rec.data_len));
}

template <class S>
Status Engine<S>::Exists(std::string_view key, bool* exists) {
  return ReadLocated(key, [&](const HashLocation& loc) {
    *exists = loc.found;
    return Status::OK();
  });
}

template <class S>
Status Engine<S>::WriteRecord(uint64_t off, uint64_t room, std::string_view key,
                              std::string_view data1, std::string_view data2, unsigned hash_bits,
                              bool grown, bool key_in_place) {
  RecordInfo info;
  info.magic = format::kUsedMagic;
  info.key_len = key.size();
  info.data_len = data1.size() + data2.size();
  info.padding = room - info.key_len - info.data_len;
  info.hash_bits = hash_bits;
  info.grown = grown;
  format::UsedHeader hdr;
  if (!EncodeUsedHeader(info, &hdr)) {
    return Err(Error::kEinval, "record of key %llu and data %llu bytes cannot be encoded",
               (unsigned long long)info.key_len, (unsigned long long)info.data_len);
  }
  // A small record is assembled here and written at once: one bounds check, one copy
  // (one undo-log range in a pool) instead of four. That includes a replace in place,
  // whose key is already there: writing its bytes again keeps the header and the data in
  // one range, where they were two whenever they fell in different 64-byte blocks.
  const uint64_t total =
      format::kUsedHeaderSize + info.key_len + info.data_len + (info.padding != 0 ? 1 : 0);
  if (total <= kSmallRecord) {
    uint8_t buf[kSmallRecord];
    uint8_t* p = buf;
    std::memcpy(p, &hdr, sizeof(hdr));
    p += sizeof(hdr);
    if (!key.empty()) std::memcpy(p, key.data(), key.size());
    p += key.size();
    if (!data1.empty()) std::memcpy(p, data1.data(), data1.size());
    p += data1.size();
    if (!data2.empty()) std::memcpy(p, data2.data(), data2.size());
    p += data2.size();
    if (info.padding != 0) *p++ = 0;  // "no header extension" (design: record headers)
    return s_->Write(off, buf, size_t(p - buf));
  }
  uint64_t pos = off + format::kUsedHeaderSize;
  if (!key.empty() && !key_in_place) PTDB_RETURN_IF_ERROR(s_->Write(pos, key.data(), key.size()));
  pos += key.size();
  if (!data1.empty()) PTDB_RETURN_IF_ERROR(s_->Write(pos, data1.data(), data1.size()));
  pos += data1.size();
  if (!data2.empty()) PTDB_RETURN_IF_ERROR(s_->Write(pos, data2.data(), data2.size()));
  pos += data2.size();
  if (info.padding) {
    const uint8_t zero = 0;  // marks "no header extension" (design: record headers)
    PTDB_RETURN_IF_ERROR(s_->Write(pos, &zero, 1));
  }
  return s_->Write(off, &hdr, sizeof(hdr));
}

template <class S>
Status Engine<S>::NewRecord(std::string_view key, std::string_view data1, std::string_view data2,
                            unsigned hash_bits, bool grown, uint64_t old_off, uint64_t* off) {
  uint64_t len = key.size() + data1.size() + data2.size();
  if (!CanEncode(key.size(), data1.size() + data2.size())) {
    return Err(Error::kEinval, "record of key %zu and data %zu bytes is too large", key.size(),
               data1.size() + data2.size());
  }
  // A record that outgrew its room once will likely grow again: give it half again.
  if (grown) len += len / 2;
  if (len > format::kMaxPadding + key.size() + data1.size() + data2.size()) {
    len = key.size() + data1.size() + data2.size() + format::kMaxPadding;
  }
  uint64_t room;
  PTDB_RETURN_IF_ERROR(zones_.Alloc(len, FreeZones<S>::Use::kRecord, off, &room));
  if (room - (key.size() + data1.size() + data2.size()) > format::kMaxPadding) {
    return Err(Error::kCorrupt, "allocator returned %llu bytes for %llu", (unsigned long long)room,
               (unsigned long long)len);
  }
  TraversePlacements::NotePlaced(this, key, old_off, *off);
  return WriteRecord(*off, room, key, data1, data2, hash_bits, grown, false);
}

// Links a new record into the tree. If that fails (the tree needed space and the disk
// is full), the record goes back to the free list, so the database stays consistent.
template <class S>
Status Engine<S>::InsertOrRelease(std::string_view key, uint64_t h, uint64_t rec_off,
                                  HashLocation* loc) {
  Status st = tree_.Insert(key, h, rec_off, loc);
  if (!st.ok() && st.code() != Error::kCorrupt) (void)ReleaseRecord(rec_off);
  return st;
}

template <class S>
Status Engine<S>::StoreHashed(std::string_view key, uint64_t h, std::string_view data,
                              StoreMode mode) {
  NoteLocalWrite();
  ScopedLock<S> lock(s_, Group(h), LockType::kWrite);
  PTDB_RETURN_IF_ERROR(lock.status());
  if (mode == StoreMode::kInsert && inserts_find_new_keys_.load(std::memory_order_relaxed)) {
    return InsertExpectingNew(key, h, data);
  }
  HashLocation loc;
  PTDB_RETURN_IF_ERROR(tree_.Locate(key, h, &loc));
  if (mode == StoreMode::kInsert)
    inserts_find_new_keys_.store(!loc.found, std::memory_order_relaxed);
  if (loc.found) {
    if (mode == StoreMode::kInsert) return Status(Error::kExists, "");
    if (loc.rec.Capacity() >= key.size() + data.size()) {
      // In place (the key is there already).
      return WriteRecord(loc.rec_off, loc.rec.Capacity(), key, data, {}, RecordHashBits(h),
                         loc.rec.grown, true);
    }
    uint64_t off;
    PTDB_RETURN_IF_ERROR(NewRecord(key, data, {}, RecordHashBits(h), true, loc.rec_off, &off));
    stats_->record_moves++;
    PTDB_RETURN_IF_ERROR(tree_.Repoint(loc, off));
    return zones_.Free(loc.rec_off, loc.rec.TotalSize());
  }
  if (mode == StoreMode::kModify) return Status(Error::kNoExist, "");
  uint64_t off;
  PTDB_RETURN_IF_ERROR(NewRecord(key, data, {}, RecordHashBits(h), false, 0, &off));
  return InsertOrRelease(key, h, off, &loc);
}

// A key stored with kInsert is nearly always new, and learning that costs a cache miss:
// the key's group in the tree's last level (docs/design.md, "The hash tree"). So the walk
// down asks for that group's line first, reading only the levels above it (the level the
// previous insert ended at), and the record is allocated and written while the line comes
// in; then the lookup. A key that was there after all gets the record freed again, and
// kInsert goes back to looking first until an insert finds its key absent.
template <class S>
Status Engine<S>::InsertExpectingNew(std::string_view key, uint64_t h, std::string_view data) {
  TreeCursor walk = TreeCursor::Top(h);
  const unsigned level = insert_level_.load(std::memory_order_relaxed);
  while (walk.level < level && tree_.PrefetchStep(&walk)) {
  }
  uint64_t off;
  const Status made = NewRecord(key, data, {}, RecordHashBits(h), false, 0, &off);
  HashLocation loc;
  Status st = tree_.Locate(key, h, &loc);
  if (st.ok() && !loc.found) {
    insert_level_.store(loc.level, std::memory_order_relaxed);
    return made.ok() ? InsertOrRelease(key, h, off, &loc) : made;
  }
  if (st.ok()) {
    inserts_find_new_keys_.store(false, std::memory_order_relaxed);
    st = Status(Error::kExists, "");
  }
  // As InsertOrRelease: a tree found corrupt is left to check() and rescue.
  if (!made.ok() || st.code() == Error::kCorrupt) return st;
  const Status freed = ReleaseRecord(off);
  return freed.ok() ? st : freed;
}

template <class S>
Status Engine<S>::StoreBatch(const DeferredStore* stores, size_t n) {
  // 16 keys cover a transaction's usual batch (DeferredStores holds back as many).
  constexpr size_t kWave = 16;
  for (size_t first = 0; first < n; first += kWave) {
    const size_t m = std::min(kWave, n - first);
    uint64_t hashes[kWave];
    TreeCursor walks[kWave];
    bool walking[kWave];
    for (size_t i = 0; i < m; i++) {
      hashes[i] = tree_.Hash(stores[first + i].key);
      walks[i] = TreeCursor::Top(hashes[i]);
      walking[i] = true;
    }
    for (bool any = true; any;) {
      any = false;
      for (size_t i = 0; i < m; i++) {
        if (walking[i]) any |= walking[i] = tree_.PrefetchStep(&walks[i]);
      }
    }
    for (size_t i = 0; i < m; i++) {
      const DeferredStore& st = stores[first + i];
      PTDB_RETURN_IF_ERROR(StoreHashed(st.key, hashes[i], st.data, StoreMode::kReplace));
    }
  }
  return Status::OK();
}

template <class S>
Status Engine<S>::Append(std::string_view key, std::string_view data) {
  NoteLocalWrite();
  const uint64_t h = tree_.Hash(key);
  ScopedLock<S> lock(s_, Group(h), LockType::kWrite);
  PTDB_RETURN_IF_ERROR(lock.status());
  HashLocation loc;
  PTDB_RETURN_IF_ERROR(tree_.Locate(key, h, &loc));
  if (!loc.found) {
    uint64_t off;
    PTDB_RETURN_IF_ERROR(NewRecord(key, data, {}, RecordHashBits(h), false, 0, &off));
    return InsertOrRelease(key, h, off, &loc);
  }
  const RecordInfo& r = loc.rec;
  if (r.Capacity() - r.key_len - r.data_len >= data.size()) {
    stats_->record_grows_in_place++;
    RecordInfo grown = r;
    grown.data_len += data.size();
    grown.padding -= data.size();
    format::UsedHeader hdr;
    if (!EncodeUsedHeader(grown, &hdr)) {
      return Err(Error::kEinval, "value of %llu bytes cannot be encoded",
                 (unsigned long long)grown.data_len);
    }
    const uint64_t end = loc.rec_off + format::kUsedHeaderSize + r.key_len + r.data_len;
    if (!data.empty()) PTDB_RETURN_IF_ERROR(s_->Write(end, data.data(), data.size()));
    if (grown.padding) {
      const uint8_t zero = 0;
      PTDB_RETURN_IF_ERROR(s_->Write(end + data.size(), &zero, 1));
    }
    return s_->Write(loc.rec_off, &hdr, sizeof(hdr));
  }
  // Move: copy the old value out first; allocation may remap the space.
  std::string old;
  PTDB_RETURN_IF_ERROR(ReadRecordData(loc, &old));
  uint64_t off;
  PTDB_RETURN_IF_ERROR(NewRecord(key, old, data, RecordHashBits(h), true, loc.rec_off, &off));
  stats_->record_moves++;
  PTDB_RETURN_IF_ERROR(tree_.Repoint(loc, off));
  return zones_.Free(loc.rec_off, loc.rec.TotalSize());
}

template <class S>
Status Engine<S>::Delete(std::string_view key) {
  NoteLocalWrite();
  const uint64_t h = tree_.Hash(key);
  ScopedLock<S> lock(s_, Group(h), LockType::kWrite);
  PTDB_RETURN_IF_ERROR(lock.status());
  HashLocation loc;
  PTDB_RETURN_IF_ERROR(tree_.Locate(key, h, &loc));
  if (!loc.found) return Status(Error::kNoExist, "");
  PTDB_RETURN_IF_ERROR(tree_.Remove(loc));
  return zones_.Free(loc.rec_off, loc.rec.TotalSize());
}

template <class S>
Status Engine<S>::Traverse(const TraverseFn& fn, uint64_t* count) {
  if (!OnlyTraverserWrites(s_, 0)) return TraverseInHashOrder(fn, count);
  // Watches what this thread's callback writes until the walk ends, however it ends.
  TraversePlacements placements(this);
  return TraverseInSpaceOrder(fn, &placements, count);
}

template <class S>
Status Engine<S>::TraverseInHashOrder(const TraverseFn& fn, uint64_t* count) {
  uint64_t visited = 0;
  // Locals, not members: threads share the engine, and the callback may traverse too.
  HashWalker<S> walker(s_);
  std::vector<std::pair<uint64_t, typename HashWalker<S>::Trail>> entries;  // (entry, trail)
  TraverseRun run;
  for (unsigned g = 0; g < format::kTopGroups; g++) {
    const LockId group{LockKind::kHashGroup, g};
    // A group's entries are collected under its read lock, and its records copied in
    // runs, each under the lock; the callback runs on the copies with no lock held, so
    // it may change the tree, and others may too. The first run is copied while the
    // lock is still held from collecting, so the entries are as collected. For every
    // later run the lock was dropped meanwhile: each entry's 8-slot group is searched
    // again first, so a record deleted or moved away is skipped. (A delete re-places the
    // entries after it within their group, which is why the check is "still in the
    // group", not "still in the slot".) The group is found again from the top, not from
    // the offset the walk saw: a sub-group that doubled meanwhile was freed, and its
    // stale slots would lead into freed space that others are reusing. The search is
    // skipped (a third of a traverse of big groups) while nothing can have changed the
    // group: this thread wrote nothing (its write epoch) and the storage saw no other
    // writer in the group (its change token).
    entries.clear();
    size_t next = 0;
    uint64_t token = 0;
    bool tracked = false;
    const uint64_t collect_epoch = LocalWriteEpoch();
    for (bool collect = true; collect || next < entries.size(); collect = false) {
      {
        ScopedLock<S> lock(s_, group, LockType::kRead);
        PTDB_RETURN_IF_ERROR(lock.status());
        bool recheck = false;
        if (collect) {
          tracked = GroupChangeToken(s_, g, &token, 0);
          walker.Start(g);
          PTDB_RETURN_IF_ERROR(walker.Collect(&entries));
        } else {
          uint64_t now;
          recheck = !tracked || LocalWriteEpoch() != collect_epoch ||
                    !GroupChangeToken(s_, g, &now, 0) || now != token;
        }
        PTDB_RETURN_IF_ERROR(CopyRun(g, entries, recheck, &next, &run));
      }
      // A record the callback deletes must not be visited later from a stale copy: once
      // this thread changed anything, the rest of the run is looked at again.
      const uint64_t epoch = LocalWriteEpoch();
      for (size_t k = 0; k < run.items.size(); k++) {
        const auto& item = run.items[k];
        if (k > 0 && LocalWriteEpoch() != epoch) {
          next = item.entry;
          break;
        }
        visited++;
        const char* p = run.bytes.get() + item.pos;
        if (!fn(std::string_view(p, item.key_len),
                std::string_view(p + item.key_len, item.data_len))) {
          if (count) *count = visited;
          return Status::OK();
        }
      }
    }
  }
  if (count) *count = visited;
  return Status::OK();
}

template <class S>
Status Engine<S>::CopyRun(
    unsigned group, const std::vector<std::pair<uint64_t, typename HashWalker<S>::Trail>>& entries,
    bool recheck, size_t* next, TraverseRun* run) {
  // A run is bounded so the group's lock is held for microseconds, not for the group.
  constexpr size_t kRunBytes = 64 * 1024, kRunEntries = 512, kPrefetchAhead = 16;
  run->Clear();
  HashWalker<S> checker(s_);
  size_t i = *next;
  // Records lie in no particular order: each costs a miss unless fetched ahead. Two
  // lines, as a typical record (16-byte header, key, value) spans more than one.
  auto prefetch = [&](size_t j) {
    const uint64_t off = format::EntryOffset(entries[j].first);
    s_->Prefetch(off);
    s_->Prefetch(off + 64);
  };
  for (size_t j = i; j < entries.size() && j < i + kPrefetchAhead; j++) prefetch(j);
  for (; i < entries.size() && run->items.size() < kRunEntries && run->used < kRunBytes; i++) {
    if (i + kPrefetchAhead < entries.size()) prefetch(i + kPrefetchAhead);
    if (recheck) {
      bool present;
      PTDB_RETURN_IF_ERROR(checker.Holds(group, entries[i].second, entries[i].first, &present));
      if (!present) continue;
    }
    const uint64_t off = format::EntryOffset(entries[i].first);
    RecordInfo r;
    const uint8_t* body;
    PTDB_RETURN_IF_ERROR(ReadUsedRecord(s_, off, &r, &body));
    // The callback gets its own copy, as in TDB2: the record may change or move once
    // the lock is dropped.
    const size_t len = size_t(r.key_len + r.data_len), pos = run->used;
    run->Reserve(len);
    char* copy = run->bytes.get() + pos;
    const void* p = body;
    if (body == nullptr) {
      PTDB_RETURN_IF_ERROR(s_->Read(off + format::kUsedHeaderSize, len, copy, &p));
    }
    if (p != copy) std::memcpy(copy, p, len);
    run->used += len;
    run->items.push_back({pos, r.key_len, r.data_len, i, 0});
  }
  *next = i;
  return Status::OK();
}

template <class S>
Status Engine<S>::TraverseInSpaceOrder(const TraverseFn& fn, TraversePlacements* placements,
                                       uint64_t* count) {
  uint64_t visited = 0;
  auto stop = [&] {
    if (count) *count = visited;
    return Status::OK();
  };
  // A kNoLock handle's caller may let other handles write between its calls: they may
  // have added zones this handle has not seen yet.
  PTDB_RETURN_IF_ERROR(zones_.Refresh());
  TraverseRun run;
  // Everything below the cursor has been visited (or was not there when the walk passed).
  uint64_t cursor = 0;
  uint64_t layout = zones_.layout_changes();
  for (Extent zone; zones_.ZoneEndingAfter(cursor, &zone);) {
    cursor = std::max(cursor, zone.off + format::kZoneRecordSize);
    uint64_t run_end = cursor;
    {
      // Free for a storage where only this thread writes, but it settles a recovery
      // that a handle without locks may owe (file/file_view.h).
      ScopedLock<S> lock(s_, {LockKind::kAllRecord, 0}, LockType::kRead);
      PTDB_RETURN_IF_ERROR(lock.status());
      PTDB_RETURN_IF_ERROR(CopySpaceRun(zone, *placements, &run_end, &run));
    }
    // Once the callback wrote anything, the copies after its record may be stale: the
    // walk goes on from the record after it, read again.
    const uint64_t epoch = LocalWriteEpoch();
    bool whole = true;
    for (size_t k = 0; k < run.items.size(); k++) {
      const auto& item = run.items[k];
      if (k > 0 && LocalWriteEpoch() != epoch) {
        whole = false;
        break;
      }
      cursor = item.end;
      placements->set_cursor(cursor);
      visited++;
      const char* p = run.bytes.get() + item.pos;
      if (!fn(std::string_view(p, item.key_len),
              std::string_view(p + item.key_len, item.data_len))) {
        return stop();
      }
    }
    if (whole) cursor = run_end;
    placements->set_cursor(cursor);
    if (zones_.layout_changes() != layout) {
      layout = zones_.layout_changes();
      PTDB_RETURN_IF_ERROR(FindRecordStart(&cursor));
    }
  }
  // Past every zone: the records that moved from ahead of the cursor to behind it.
  placements->set_cursor(UINT64_MAX);
  std::string data;
  for (const auto& [key, places] : placements->owed()) {
    HashLocation loc;
    const uint64_t h = tree_.Hash(key);
    {
      ScopedLock<S> lock(s_, Group(h), LockType::kRead);
      PTDB_RETURN_IF_ERROR(lock.status());
      PTDB_RETURN_IF_ERROR(tree_.Locate(key, h, &loc));
      if (!loc.found || std::find(places.begin(), places.end(), loc.rec_off) == places.end()) {
        continue;
      }
      PTDB_RETURN_IF_ERROR(ReadRecordData(loc, &data));
    }
    visited++;
    if (!fn(key, data)) return stop();
  }
  return stop();
}

template <class S>
Status Engine<S>::ReadZoneRecord(const Extent& z, uint64_t off, RecordInfo* info, uint64_t* size) {
  // Bytes from a file are never trusted: every length must keep the walk inside the zone.
  auto misfit = [&] {
    return Err(Error::kCorrupt, "record at %llu does not fit in its zone [%llu, %llu)",
               (unsigned long long)off, (unsigned long long)z.off, (unsigned long long)z.end());
  };
  const uint64_t left = z.end() - off;
  if (left < format::kMinRecord) return misfit();
  uint64_t w[2];
  const void* p = nullptr;
  PTDB_RETURN_IF_ERROR(s_->Read(off, sizeof(w), w, &p));
  if (p != w) std::memcpy(w, p, sizeof(w));
  bool fits;
  if (IsFreeRecord(w[0])) {
    const uint64_t len = FreeLen(format::FreeRecord{w[0], w[1], 0});
    info->magic = 0;
    *size = format::kUsedHeaderSize + len;
    fits = len >= format::kMinDataLen && len <= left - format::kUsedHeaderSize;
  } else {
    *info = DecodeUsedHeader(format::UsedHeader{w[0], w[1]});
    *size = info->TotalSize();
    fits = info->key_len <= left && info->data_len <= left && info->padding <= left &&
           *size <= left &&
           (info->magic == format::kUsedMagic || info->magic == format::kSubHashMagic ||
            info->magic == format::kChainMagic || info->magic == format::kCapMagic);
  }
  return fits && *size % format::kRecordAlign == 0 ? Status::OK() : misfit();
}

template <class S>
Status Engine<S>::CopySpaceRun(const Extent& z, const TraversePlacements& placements, uint64_t* off,
                               TraverseRun* run) {
  constexpr size_t kRunBytes = 64 * 1024, kRunEntries = 512;
  run->Clear();
  while (*off < z.end() && run->items.size() < kRunEntries && run->used < kRunBytes) {
    RecordInfo r;
    uint64_t size;
    PTDB_RETURN_IF_ERROR(ReadZoneRecord(z, *off, &r, &size));
    if (r.magic == format::kUsedMagic && !placements.Skip(*off)) {
      const size_t len = size_t(r.key_len + r.data_len), pos = run->used;
      run->Reserve(len);
      char* copy = run->bytes.get() + pos;
      const void* p = nullptr;
      PTDB_RETURN_IF_ERROR(s_->Read(*off + format::kUsedHeaderSize, len, copy, &p));
      if (p != copy) std::memcpy(copy, p, len);
      run->used += len;
      run->items.push_back({pos, r.key_len, r.data_len, 0, *off + size});
    }
    *off += size;
  }
  return Status::OK();
}

template <class S>
Status Engine<S>::FindRecordStart(uint64_t* off) {
  Extent z;
  if (!zones_.ZoneEndingAfter(*off, &z) || *off < z.off) return Status::OK();
  uint64_t at = z.off + format::kZoneRecordSize;
  while (at < *off) {
    RecordInfo r;
    uint64_t size;
    PTDB_RETURN_IF_ERROR(ReadZoneRecord(z, at, &r, &size));
    at += size;
  }
  *off = at;
  return Status::OK();
}

template <class S>
Status Engine<S>::ReadKey(uint64_t rec_off, std::string* key) {
  RecordInfo r;
  const uint8_t* body;
  PTDB_RETURN_IF_ERROR(ReadUsedRecord(s_, rec_off, &r, &body));
  key->resize(r.key_len);
  const void* p = body;
  if (body == nullptr) {
    PTDB_RETURN_IF_ERROR(s_->Read(rec_off + format::kUsedHeaderSize, r.key_len, key->data(), &p));
  }
  if (p != key->data()) std::memcpy(key->data(), p, r.key_len);
  return Status::OK();
}

template <class S>
Status Engine<S>::KeyFromGroup(HashWalker<S>* walker, unsigned group, std::string* key,
                               bool* found) {
  // `group` is exhausted; search the later ones, each under its own read lock.
  *found = false;
  while (!*found && ++group < format::kTopGroups) {
    ScopedLock<S> lock(s_, {LockKind::kHashGroup, group}, LockType::kRead);
    PTDB_RETURN_IF_ERROR(lock.status());
    walker->Start(group);
    PTDB_RETURN_IF_ERROR(KeyInGroup(walker, key, found));
  }
  return Status::OK();
}

template <class S>
Status Engine<S>::KeyInGroup(HashWalker<S>* walker, std::string* key, bool* found) {
  uint64_t e;
  bool done;
  PTDB_RETURN_IF_ERROR(walker->Next(&e, &done));
  *found = !done;
  return done ? Status::OK() : ReadKey(format::EntryOffset(e), key);
}

template <class S>
Status Engine<S>::FirstKey(std::string* key) {
  HashWalker<S> walker(s_);
  bool found;
  {
    ScopedLock<S> lock(s_, {LockKind::kHashGroup, 0}, LockType::kRead);
    PTDB_RETURN_IF_ERROR(lock.status());
    walker.Start(0);
    PTDB_RETURN_IF_ERROR(KeyInGroup(&walker, key, &found));
  }
  if (!found) PTDB_RETURN_IF_ERROR(KeyFromGroup(&walker, 0, key, &found));
  iteration_chain_links_.store(walker.chain_links(), std::memory_order_relaxed);
  return found ? Status::OK() : Status(Error::kNoExist, "");
}

template <class S>
Status Engine<S>::NextKey(std::string* key) {
  const uint64_t h = tree_.Hash(*key);
  const unsigned g = unsigned(HashBits(h, 0, format::kTopGroupBits));
  HashWalker<S> walker(s_);
  walker.set_chain_links(iteration_chain_links_.load(std::memory_order_relaxed));
  bool found;
  {
    ScopedLock<S> lock(s_, Group(h), LockType::kRead);
    PTDB_RETURN_IF_ERROR(lock.status());
    HashLocation loc;
    PTDB_RETURN_IF_ERROR(tree_.Locate(*key, h, &loc));
    walker.Resume(loc);
    PTDB_RETURN_IF_ERROR(KeyInGroup(&walker, key, &found));
  }
  if (!found) PTDB_RETURN_IF_ERROR(KeyFromGroup(&walker, g, key, &found));
  iteration_chain_links_.store(walker.chain_links(), std::memory_order_relaxed);
  return found ? Status::OK() : Status(Error::kNoExist, "");
}

template <class S>
Status Engine<S>::Wipe(const std::function<Status(uint64_t end)>& release) {
  NoteLocalWrite();
  ScopedLock<S> lock(s_, {LockKind::kAllRecord, 0}, LockType::kWrite);
  PTDB_RETURN_IF_ERROR(lock.status());
  // Forget the tree and hand every zone back as one free record: O(zones), not O(records).
  PTDB_RETURN_IF_ERROR(tree_.Clear());
  uint64_t end;
  PTDB_RETURN_IF_ERROR(zones_.ResetAll(release != nullptr, &end));
  return release ? release(end) : Status::OK();
}

template <class S>
Status Engine<S>::BumpSeqnum() {
  // Writers in different hash groups bump it concurrently; the expansion lock, the only
  // lock every writer may take, serialises the read-modify-write.
  ScopedLock<S> lock(s_, {LockKind::kExpansion, 0}, LockType::kWrite);
  PTDB_RETURN_IF_ERROR(lock.status());
  uint64_t seq;
  PTDB_RETURN_IF_ERROR(ReadWord(s_, format::kSeqnumOffset, &seq));
  // Wraps to 0 rather than going negative in the C API's int64.
  seq = seq + 1 > uint64_t(INT64_MAX) ? 0 : seq + 1;
  return WriteWord(s_, format::kSeqnumOffset, seq);
}

}  // namespace ptdb

#endif  // PTDB_COMMON_ENGINE_H_
