// Free space: zones, each with size-bucketed free lists, and delayed coalescing.
//
// The design ("TDB Freelist Is Highly Contended") splits free space into zones so that
// allocators in different zones never touch the same list. A zone is a contiguous run
// of records headed by a zone record holding its 56 bucket heads (format.h). New space
// always arrives as a new zone (the file grows, or the pool allocates a zone object).
//
// Freeing pushes the record on its bucket's list: no merging, so a delete costs two or
// three word writes. Merging of neighbours is delayed until an allocation finds nothing
// in its zone; then the zone is scanned once and adjacent free records are joined.
//
// Locks (common/locks.h): a zone's lists change only under its free-zone lock, and the
// zone list only under the expansion lock, so processes sharing a file can allocate in
// different zones at once. What this class caches (the zone list, which buckets are
// non-empty) may be stale after another process's writes: a bucket head is always read
// under the zone lock before use, the hint is re-read when it leads to nothing, and the
// zone list is re-read whenever an offset or an allocation goes past what we know. Threads sharing
// a handle take turns through mu_.
#ifndef PTDB_COMMON_FREE_ZONES_H_
#define PTDB_COMMON_FREE_ZONES_H_

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "common/format.h"
#include "common/locks.h"
#include "common/radix_sort.h"
#include "common/record.h"
#include "common/space_io.h"
#include "common/stat_counters.h"
#include "common/storage.h"
#include "ptdb/options.h"

namespace ptdb {

// The optional free-space reports of a Storage (common/storage.h), or nothing.
template <class S>
auto ReportSpaceFreed(S* s, uint64_t off, uint64_t len, int) -> decltype(s->SpaceFreed(off, len)) {
  s->SpaceFreed(off, len);
}
template <class S>
void ReportSpaceFreed(S*, uint64_t, uint64_t, long) {}
template <class S>
auto ReportSpaceReused(S* s, uint64_t off, uint64_t len, int)
    -> decltype(s->SpaceReused(off, len)) {
  s->SpaceReused(off, len);
}
template <class S>
void ReportSpaceReused(S*, uint64_t, uint64_t, long) {}

template <class S>
class FreeZones {
 public:
  FreeZones(S* storage, StatCounters* stats) : s_(storage), stats_(stats) {}

  // Reads the zone list from the header. Call after open and after the space changed
  // under us (wipe, growth).
  Status Load();
  // Brings the list up to date with the header, for a reader that walks every zone:
  // zones a wipe dropped, zones other handles added.
  Status Refresh() {
    std::lock_guard<std::mutex> g(mu_);
    PTDB_RETURN_IF_ERROR(ReloadIfZonesDropped());
    return LoadNewZonesUnderLock();
  }

  // Turns [ext.off, ext.end()) into a zone with one free record, linked after the last.
  Status AddZone(const Extent& ext);

  // What an allocation is for. Hash sub-groups and chains are allocated from a zone of
  // their own while it has room: they are freed and reallocated in a few sizes as they
  // double, and packed together those holes get reused (1M records: 179 -> 159 MB).
  enum class Use { kRecord, kHashTable };

  // Finds room for `len` bytes after a record header. On success *off is the record's
  // offset and *room the bytes after its header that belong to it (>= len).
  Status Alloc(uint64_t len, Use use, uint64_t* off, uint64_t* room);

  // Returns the record [off, off + total) to its zone's free list.
  Status Free(uint64_t off, uint64_t total);

  // Resets every zone to a single free record (wipe_all). With `keep_first_only`, the
  // zones after the first are dropped from the list instead, and *end is where the first
  // zone ends: the storage may give the rest back. REQUIRES: the allrecord lock.
  Status ResetAll(bool keep_first_only, uint64_t* end);

  // The first zone that ends after `off`, if any: a walk of every zone in address order,
  // which other threads walking too may make refresh the list meanwhile.
  bool ZoneEndingAfter(uint64_t off, Extent* zone) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = std::upper_bound(zones_.begin(), zones_.end(), off,
                               [](uint64_t o, const Extent& z) { return o < z.end(); });
    if (it == zones_.end()) return false;
    *zone = *it;
    return true;
  }

  // Moves whenever records may stop starting where they did: free records merged, every
  // zone reset, the list read again (after a rollback). A walk of the space in address
  // order (engine.h) finds its place again from its zone's start when it moved.
  uint64_t layout_changes() const { return layout_changes_.load(std::memory_order_relaxed); }

 private:
  struct FreeRef {
    uint64_t off;
    format::FreeRecord rec;
  };

  size_t ZoneOf(uint64_t off) const;
  // Reloads the zone list if a wipe gave zones back since we read it. REQUIRES: mu_ and
  // a lock that keeps wipes out (any hash group or the allrecord lock).
  // Inline: every allocation asks, and the answer is nearly always one load.
  Status ReloadIfZonesDropped() {
    uint64_t generation;
    PTDB_RETURN_IF_ERROR(ReadWord(s_, offsetof(format::Header, zone_generation), &generation));
    return generation == generation_ ? Status::OK() : LoadLocked();
  }
  Status LoadLocked();
  // Follows the zone chain past the last zone we know (others may have added zones).
  // REQUIRES: the expansion lock.
  Status LoadNewZones(bool* added);
  // The same, taking the expansion lock for it.
  Status LoadNewZonesUnderLock() {
    PTDB_RETURN_IF_ERROR(s_->Lock({LockKind::kExpansion, 0}, LockType::kWrite));
    bool added;
    Status st = LoadNewZones(&added);
    Status un = s_->Unlock({LockKind::kExpansion, 0}, LockType::kWrite);
    return st.ok() ? un : st;
  }
  // Re-reads zone z's bucket heads into its hint. REQUIRES: z's lock.
  Status RefreshHint(size_t zone);
  // Tries zone z under its lock, coalescing it first if that may help.
  Status TryZone(size_t zone, uint64_t len, Use use, uint64_t* off, uint64_t* room, bool* found);
  Status AppendZone(uint64_t off, const format::ZoneBody& body);
  uint64_t BucketHeadOffset(size_t zone, unsigned bucket) const {
    return zones_[zone].off + format::kUsedHeaderSize + offsetof(format::ZoneBody, buckets) +
           8 * uint64_t(bucket);
  }
  Status ReadFree(uint64_t off, format::FreeRecord* f);
  Status PushFree(size_t zone, uint64_t off, uint64_t len);
  Status Unlink(size_t zone, uint64_t off, const format::FreeRecord& f);
  // Moves free record `f` at `off` to `to`, `len` bytes long, keeping its place in its
  // list. REQUIRES: len falls in f's bucket.
  Status MoveFree(size_t zone, uint64_t off, const format::FreeRecord& f, uint64_t to,
                  uint64_t len);
  Status AllocInZone(size_t zone, uint64_t len, Use use, uint64_t* off, uint64_t* room,
                     bool* found);
  // Merges the zone's free records that touch.
  Status Coalesce(size_t zone);
  // A free record as Coalesce finds it, and what merging makes of it.
  struct FoundFree {
    uint64_t off;
    format::FreeRecord rec;
    uint64_t len;  // after the header; a run's first record takes the whole run's
    bool gone;     // merged into the record before it
  };
  // Rewrites the zone's free lists to hold the records of `frees` not gone, with their
  // new lengths.
  Status Relink(size_t zone, const std::vector<FoundFree>& frees);
  Status FormatZone(const Extent& ext);
  Status Grow(uint64_t len);  // REQUIRES: the expansion lock, zone list loaded

  S* s_;
  StatCounters* stats_;
  std::mutex mu_;                      // this handle's threads, one at a time
  std::vector<Extent> zones_;          // address order
  std::vector<uint64_t> freed_bytes_;  // per zone: bytes freed since its last coalescing
  // Per zone, bit b set if bucket b's list may be non-empty, re-read when the zone is
  // locked: it saves reading the heads of empty buckets while searching.
  std::vector<uint64_t> nonempty_;
  size_t hint_[2] = {0, 0};  // per Use: the zone we allocate from first
  uint64_t generation_ = 0;  // header.zone_generation when the list was read
  std::atomic<uint64_t> layout_changes_{0};
};

// ---- implementation ---------------------------------------------------------------

template <class S>
Status FreeZones<S>::AppendZone(uint64_t off, const format::ZoneBody& body) {
  // Make sure the whole zone is addressable before anyone trusts its size.
  const void* p = nullptr;
  uint64_t last;
  PTDB_RETURN_IF_ERROR(s_->Read(off + body.zone_size - 8, 8, &last, &p));
  zones_.push_back({off, body.zone_size});
  freed_bytes_.push_back(1);
  uint64_t mask = 0;
  for (unsigned b = 0; b < format::kFreeBuckets; b++) {
    if (body.buckets[b] != 0) mask |= 1ULL << b;
  }
  nonempty_.push_back(mask);
  return Status::OK();
}

template <class S>
Status FreeZones<S>::Load() {
  std::lock_guard<std::mutex> g(mu_);
  return LoadLocked();
}

template <class S>
Status FreeZones<S>::LoadLocked() {
  layout_changes_++;
  zones_.clear();
  freed_bytes_.clear();
  nonempty_.clear();
  PTDB_RETURN_IF_ERROR(ReadWord(s_, offsetof(format::Header, zone_generation), &generation_));
  bool added;
  PTDB_RETURN_IF_ERROR(LoadNewZones(&added));
  if (zones_.empty()) return Err(Error::kCorrupt, "database has no zones");
  hint_[0] = hint_[1] = zones_.size() - 1;
  return Status::OK();
}

template <class S>
Status FreeZones<S>::LoadNewZones(bool* added) {
  *added = false;
  uint64_t off;
  if (zones_.empty()) {
    PTDB_RETURN_IF_ERROR(ReadWord(s_, offsetof(format::Header, first_zone), &off));
  } else {
    PTDB_RETURN_IF_ERROR(ReadWord(
        s_, zones_.back().off + format::kUsedHeaderSize + offsetof(format::ZoneBody, next_zone),
        &off));
  }
  // Zones come in address order. A file's zones are contiguous; a pool's zone objects
  // have the allocator's gaps between them. Whether they cover exactly the storage's
  // extents is the checker's question, not the allocator's.
  uint64_t prev_end = zones_.empty() ? format::kHeaderSize : zones_.back().end();
  while (off != 0) {
    if (off < prev_end)
      return Err(Error::kCorrupt, "zone at %llu is not after the previous one (ends %llu)",
                 (unsigned long long)off, (unsigned long long)prev_end);
    format::UsedHeader h;
    format::ZoneBody body;
    PTDB_RETURN_IF_ERROR(ReadStruct(s_, off, &h));
    PTDB_RETURN_IF_ERROR(ReadStruct(s_, off + format::kUsedHeaderSize, &body));
    if (RecordMagic(h.magic_and_meta) != format::kZoneMagic ||
        body.zone_size < format::kZoneRecordSize + format::kMinRecord ||
        body.zone_size % format::kRecordAlign) {
      return Err(Error::kCorrupt, "bad zone record at %llu", (unsigned long long)off);
    }
    PTDB_RETURN_IF_ERROR(AppendZone(off, body));
    *added = true;
    prev_end = off + body.zone_size;
    off = body.next_zone;
    if (zones_.size() > (prev_end >> 9)) return Err(Error::kCorrupt, "zone list loops");
  }
  return Status::OK();
}

template <class S>
Status FreeZones<S>::RefreshHint(size_t zone) {
  uint64_t heads[format::kFreeBuckets];
  const void* p = nullptr;
  PTDB_RETURN_IF_ERROR(s_->Read(BucketHeadOffset(zone, 0), sizeof(heads), heads, &p));
  const uint64_t* h = static_cast<const uint64_t*>(p);
  uint64_t mask = 0;
  for (unsigned b = 0; b < format::kFreeBuckets; b++) {
    if (h[b] != 0) mask |= 1ULL << b;
  }
  nonempty_[zone] = mask;
  return Status::OK();
}

template <class S>
size_t FreeZones<S>::ZoneOf(uint64_t off) const {
  auto it = std::upper_bound(zones_.begin(), zones_.end(), off,
                             [](uint64_t o, const Extent& z) { return o < z.off; });
  return size_t(it - zones_.begin()) - 1;
}

template <class S>
Status FreeZones<S>::ReadFree(uint64_t off, format::FreeRecord* f) {
  PTDB_RETURN_IF_ERROR(ReadStruct(s_, off, f));
  if (!IsFreeRecord(f->magic_and_prev)) {
    return Err(Error::kCorrupt, "record at %llu on a free list is not free",
               (unsigned long long)off);
  }
  return Status::OK();
}

template <class S>
Status FreeZones<S>::PushFree(size_t zone, uint64_t off, uint64_t len) {
  const unsigned b = SizeToBucket(len);
  const uint64_t head_off = BucketHeadOffset(zone, b);
  uint64_t head;
  PTDB_RETURN_IF_ERROR(ReadWord(s_, head_off, &head));
  format::FreeRecord rec;
  rec.bucket_and_len = FreeWord1(b, len);
  rec.next = head;
  if (head == 0) {
    rec.magic_and_prev = FreeWord0(off);  // a one-element list: head.prev is itself
  } else {
    format::FreeRecord h;
    PTDB_RETURN_IF_ERROR(ReadFree(head, &h));
    rec.magic_and_prev = FreeWord0(FreePrev(h));  // inherit the tail
    PTDB_RETURN_IF_ERROR(WriteWord(s_, head, FreeWord0(off)));
  }
  PTDB_RETURN_IF_ERROR(s_->Write(off, &rec, sizeof(rec)));
  nonempty_[zone] |= 1ULL << b;
  return WriteWord(s_, head_off, off);
}

template <class S>
Status FreeZones<S>::Unlink(size_t zone, uint64_t off, const format::FreeRecord& f) {
  const uint64_t head_off = BucketHeadOffset(zone, FreeBucket(f));
  uint64_t head;
  PTDB_RETURN_IF_ERROR(ReadWord(s_, head_off, &head));
  const uint64_t prev = FreePrev(f), next = f.next;
  if (head == off) {
    if (next == 0) nonempty_[zone] &= ~(1ULL << FreeBucket(f));
    PTDB_RETURN_IF_ERROR(WriteWord(s_, head_off, next));
    if (next)
      PTDB_RETURN_IF_ERROR(WriteWord(s_, next, FreeWord0(prev)));  // new head keeps the tail
    return Status::OK();
  }
  // prev is a real predecessor here; it takes over our next.
  PTDB_RETURN_IF_ERROR(WriteWord(s_, prev + offsetof(format::FreeRecord, next), next));
  if (next) return WriteWord(s_, next, FreeWord0(prev));
  return WriteWord(s_, head, FreeWord0(prev));  // we were the tail
}

template <class S>
Status FreeZones<S>::MoveFree(size_t zone, uint64_t off, const format::FreeRecord& f, uint64_t to,
                              uint64_t len) {
  const unsigned b = FreeBucket(f);
  assert(SizeToBucket(len) == b);
  const uint64_t head_off = BucketHeadOffset(zone, b);
  uint64_t head;
  PTDB_RETURN_IF_ERROR(ReadWord(s_, head_off, &head));
  const uint64_t prev = FreePrev(f), next = f.next;
  format::FreeRecord rec;
  rec.bucket_and_len = FreeWord1(b, len);
  rec.next = next;
  // A head's prev is the list's tail (itself when alone); anyone else's, its predecessor.
  rec.magic_and_prev = FreeWord0(prev == off ? to : prev);
  PTDB_RETURN_IF_ERROR(s_->Write(to, &rec, sizeof(rec)));
  if (head == off) {
    PTDB_RETURN_IF_ERROR(WriteWord(s_, head_off, to));
  } else {
    PTDB_RETURN_IF_ERROR(WriteWord(s_, prev + offsetof(format::FreeRecord, next), to));
  }
  if (next != 0) return WriteWord(s_, next, FreeWord0(to));
  if (head != off) return WriteWord(s_, head, FreeWord0(to));  // we were the tail
  return Status::OK();
}

template <class S>
Status FreeZones<S>::AllocInZone(size_t zone, uint64_t len, Use use, uint64_t* off, uint64_t* room,
                                 bool* found) {
  *found = false;
  const unsigned first = SizeToBucket(len);
  // Visit only the buckets the hint says are non-empty, from the first that may fit.
  for (uint64_t mask = nonempty_[zone] & (~0ULL << first); mask != 0; mask &= mask - 1) {
    const unsigned b = unsigned(__builtin_ctzll(mask));
    uint64_t cur;
    PTDB_RETURN_IF_ERROR(ReadWord(s_, BucketHeadOffset(zone, b), &cur));
    if (cur == 0) {
      nonempty_[zone] &= ~(1ULL << b);
      continue;
    }
    // In the first bucket an entry may be too small; above it the head always fits.
    // Walk a little only: a long walk costs more than splitting a bigger record.
    const int max_tries = b == first ? 32 : 1;
    for (int tries = 0; cur != 0 && tries < max_tries; tries++) {
      format::FreeRecord f;
      PTDB_RETURN_IF_ERROR(ReadFree(cur, &f));
      // Unlinking and moving it find its list by the bucket it names.
      if (FreeBucket(f) != b) {
        return Err(Error::kCorrupt, "free record at %llu on list %u says it belongs on list %u",
                   (unsigned long long)cur, b, FreeBucket(f));
      }
      const uint64_t have = FreeLen(f);
      if (have < len) {
        cur = f.next;
        continue;
      }
      *off = cur;
      *room = have;
      const bool split = have - len >= format::kMinRecord;
      if (split) *room = len;
      if (split && use == Use::kRecord) {
        // A record is cut from the free record's end, which keeps its place and shrinks:
        // only its length word changes (the free record stays in its list while it stays
        // in its bucket). In a pool that word is the one range logged, where moving the
        // free record would log its list neighbours and the zone's list head too.
        const uint64_t rest_len = have - len - format::kUsedHeaderSize;
        *off = cur + format::kUsedHeaderSize + rest_len;
        ReportSpaceReused(s_, *off, format::kUsedHeaderSize + len, 0);
        if (SizeToBucket(rest_len) == b) {
          PTDB_RETURN_IF_ERROR(WriteWord(s_, cur + offsetof(format::FreeRecord, bucket_and_len),
                                         FreeWord1(b, rest_len)));
        } else {
          PTDB_RETURN_IF_ERROR(Unlink(zone, cur, f));
          PTDB_RETURN_IF_ERROR(PushFree(zone, cur, rest_len));
        }
        stats_->alloc_leftover++;
      } else if (split) {
        // A table is cut from the front, the other end from records: in a zone both use,
        // the tables then lie together at the start of its space instead of one between
        // every few records, and a lookup's walk down them stays on a few pages. What the
        // caller writes past the free record's header (its body), and the header of the
        // rest split off, were all this free record's body. A rest that stays in the
        // bucket takes over its place in the list.
        ReportSpaceReused(s_, cur + format::kMinRecord, format::kUsedHeaderSize + len, 0);
        const uint64_t rest = cur + format::kUsedHeaderSize + len;
        const uint64_t rest_len = have - len - format::kUsedHeaderSize;
        if (SizeToBucket(rest_len) == b) {
          PTDB_RETURN_IF_ERROR(MoveFree(zone, cur, f, rest, rest_len));
        } else {
          PTDB_RETURN_IF_ERROR(Unlink(zone, cur, f));
          PTDB_RETURN_IF_ERROR(PushFree(zone, rest, rest_len));
        }
        stats_->alloc_leftover++;
      } else {
        ReportSpaceReused(s_, cur + format::kMinRecord,
                          have - (format::kMinRecord - format::kUsedHeaderSize), 0);
        PTDB_RETURN_IF_ERROR(Unlink(zone, cur, f));
      }
      // Mark the space used before the zone lock goes: a coalescing scan by another
      // thread or process must not take it for a free record while the caller fills it.
      RecordInfo placeholder;
      placeholder.magic = format::kUsedMagic;
      placeholder.data_len = *room;
      format::UsedHeader used;
      if (!EncodeUsedHeader(placeholder, &used)) {
        return Err(Error::kCorrupt, "free record at %llu is too large (%llu bytes)",
                   (unsigned long long)cur, (unsigned long long)*room);
      }
      PTDB_RETURN_IF_ERROR(s_->Write(*off, &used, sizeof(used)));
      if (b == first) {
        stats_->alloc_bucket_exact++;
      } else if (b == format::kFreeBuckets - 1) {
        stats_->alloc_bucket_max++;
      }
      *found = true;
      return Status::OK();
    }
  }
  return Status::OK();
}

template <class S>
Status FreeZones<S>::Coalesce(size_t zone) {
  stats_->alloc_coalesce_tried++;
  freed_bytes_[zone] = 0;
  const Extent z = zones_[zone];
  // Only the zone's free lists are read, never its used records: holders of hash group
  // locks rewrite those in place meanwhile (a store that fits), under no zone lock.
  std::vector<FoundFree> frees;  // list by list, each in list order
  const uint64_t max_records = z.len / format::kMinRecord;
  for (unsigned b = 0; b < format::kFreeBuckets; b++) {
    uint64_t cur;
    PTDB_RETURN_IF_ERROR(ReadWord(s_, BucketHeadOffset(zone, b), &cur));
    while (cur != 0) {
      if (cur < z.off + format::kZoneRecordSize || cur >= z.end() || frees.size() > max_records) {
        return Err(Error::kCorrupt, "free list of zone %llu leaves the zone or loops at %llu",
                   (unsigned long long)z.off, (unsigned long long)cur);
      }
      format::FreeRecord f;
      PTDB_RETURN_IF_ERROR(ReadFree(cur, &f));
      if (FreeBucket(f) != b || format::kUsedHeaderSize + FreeLen(f) > z.end() - cur) {
        return Err(Error::kCorrupt, "free record at %llu on list %u: bucket %u, %llu bytes",
                   (unsigned long long)cur, b, FreeBucket(f), (unsigned long long)FreeLen(f));
      }
      frees.push_back({cur, f, FreeLen(f), false});
      cur = f.next;
    }
  }
  std::vector<std::pair<uint64_t, uint32_t>> by_address(frees.size());  // (offset, index)
  for (uint32_t i = 0; i < by_address.size(); i++) by_address[i] = {frees[i].off, i};
  static_assert(format::kRecordAlign == 8);
  SortByOffset(&by_address, z.off, z.len, 3);
  uint64_t merged = 0;
  for (size_t i = 0; i < by_address.size();) {
    FoundFree& first = frees[by_address[i].second];
    uint64_t end = first.off + format::kUsedHeaderSize + first.len;
    size_t j = i + 1;
    for (; j < by_address.size() && frees[by_address[j].second].off <= end; j++) {
      FoundFree& next = frees[by_address[j].second];
      if (next.off < end) {
        return Err(Error::kCorrupt, "free records at %llu and %llu overlap",
                   (unsigned long long)frees[by_address[j - 1].second].off,
                   (unsigned long long)next.off);
      }
      end += format::kUsedHeaderSize + next.len;
      next.gone = true;
    }
    // The headers merged away become body, and they were live. Reported as one range
    // with the bodies between them (free already, so only logged if reused before the
    // commit): one range per record was a tree insert each, 2 ms for a run of 78,000.
    if (j > i + 1) {
      const uint64_t merged_from = frees[by_address[i + 1].second].off;
      ReportSpaceFreed(s_, merged_from, end - merged_from, 0);
    }
    first.len = end - first.off - format::kUsedHeaderSize;
    merged += j - i - 1;
    i = j;
  }
  if (merged == 0) return Status::OK();
  PTDB_RETURN_IF_ERROR(Relink(zone, frees));
  stats_->alloc_coalesce_num_merged += merged;
  stats_->alloc_coalesce_succeeded++;
  layout_changes_++;
  return Status::OK();
}

template <class S>
Status FreeZones<S>::Relink(size_t zone, const std::vector<FoundFree>& frees) {
  // Each list keeps its survivors in their order, after the runs' first records that
  // grew into it from a smaller bucket. Only the words that change are written: a long
  // run costs the writes around it, not one unlink per record merged away (in a pool,
  // one undo-log entry each: a run of 105,000 took 0.13 s).
  std::vector<uint32_t> lists[format::kFreeBuckets];
  for (uint32_t i = 0; i < frees.size(); i++) {
    const FoundFree& f = frees[i];
    if (f.gone) continue;
    const unsigned b = SizeToBucket(f.len);
    if (b != FreeBucket(f.rec)) lists[b].push_back(i);
  }
  for (uint32_t i = 0; i < frees.size(); i++) {
    const FoundFree& f = frees[i];
    if (!f.gone && SizeToBucket(f.len) == FreeBucket(f.rec)) {
      lists[FreeBucket(f.rec)].push_back(i);
    }
  }
  for (unsigned b = 0; b < format::kFreeBuckets; b++) {
    const std::vector<uint32_t>& list = lists[b];
    const uint64_t head_off = BucketHeadOffset(zone, b);
    uint64_t head;
    PTDB_RETURN_IF_ERROR(ReadWord(s_, head_off, &head));
    const uint64_t new_head = list.empty() ? 0 : frees[list.front()].off;
    if (head != new_head) PTDB_RETURN_IF_ERROR(WriteWord(s_, head_off, new_head));
    if (list.empty()) {
      nonempty_[zone] &= ~(1ULL << b);
      continue;
    }
    nonempty_[zone] |= 1ULL << b;
    for (size_t k = 0; k < list.size(); k++) {
      const FoundFree& f = frees[list[k]];
      // A head's prev is the list's tail; anyone else's, its predecessor.
      format::FreeRecord want;
      want.magic_and_prev = FreeWord0(frees[list[k == 0 ? list.size() - 1 : k - 1]].off);
      want.bucket_and_len = FreeWord1(b, f.len);
      want.next = k + 1 == list.size() ? 0 : frees[list[k + 1]].off;
      if (want.magic_and_prev != f.rec.magic_and_prev) {
        PTDB_RETURN_IF_ERROR(WriteWord(s_, f.off, want.magic_and_prev));
      }
      if (want.bucket_and_len != f.rec.bucket_and_len) {
        PTDB_RETURN_IF_ERROR(WriteWord(s_, f.off + offsetof(format::FreeRecord, bucket_and_len),
                                       want.bucket_and_len));
      }
      if (want.next != f.rec.next) {
        PTDB_RETURN_IF_ERROR(WriteWord(s_, f.off + offsetof(format::FreeRecord, next), want.next));
      }
    }
  }
  return Status::OK();
}

template <class S>
Status FreeZones<S>::FormatZone(const Extent& ext) {
  struct {
    format::UsedHeader h;
    format::ZoneBody body;
  } zone{};
  RecordInfo info;
  info.magic = format::kZoneMagic;
  info.data_len = sizeof(format::ZoneBody);
  EncodeUsedHeader(info, &zone.h);
  zone.body.zone_size = ext.len;
  PTDB_RETURN_IF_ERROR(s_->Write(ext.off, &zone, sizeof(zone)));
  return Status::OK();
}

template <class S>
Status FreeZones<S>::AddZone(const Extent& ext) {
  if (ext.len < format::kZoneRecordSize + format::kMinRecord) {
    return Err(Error::kEinval, "zone of %llu bytes is too small", (unsigned long long)ext.len);
  }
  PTDB_RETURN_IF_ERROR(FormatZone(ext));
  const uint64_t link = zones_.empty() ? offsetof(format::Header, first_zone)
                                       : zones_.back().off + format::kUsedHeaderSize +
                                             offsetof(format::ZoneBody, next_zone);
  zones_.push_back(ext);
  freed_bytes_.push_back(0);
  nonempty_.push_back(0);
  const uint64_t free_off = ext.off + format::kZoneRecordSize;
  PTDB_RETURN_IF_ERROR(
      PushFree(zones_.size() - 1, free_off, ext.end() - free_off - format::kUsedHeaderSize));
  // Linked last: another process sees the zone only once it is complete.
  return WriteWord(s_, link, ext.off);
}

template <class S>
Status FreeZones<S>::Grow(uint64_t len) {
  Extent ext;
  PTDB_RETURN_IF_ERROR(s_->Grow(format::kZoneRecordSize + format::kUsedHeaderSize + len, &ext));
  stats_->expands++;
  return AddZone(ext);
}

template <class S>
Status FreeZones<S>::TryZone(size_t z, uint64_t len, Use use, uint64_t* off, uint64_t* room,
                             bool* found) {
  PTDB_RETURN_IF_ERROR(s_->Lock({LockKind::kFreeZone, uint32_t(z)}, LockType::kWrite));
  // The hint first, as it stands: a bucket it calls non-empty is read before use anyway,
  // and one another process filled since is only found a little later, below (reading
  // all 56 heads before every allocation cost 5% of an insert).
  Status st = AllocInZone(z, len, use, off, room, found);
  if (st.ok() && !*found) {
    st = RefreshHint(z);
    if (st.ok()) st = AllocInZone(z, len, use, off, room, found);
  }
  // Coalescing costs a scan of the zone, so it waits until a sixteenth of the zone
  // has been freed since the last one: O(1) scanned records per freed record.
  if (st.ok() && !*found && freed_bytes_[z] >= std::max(len, zones_[z].len / 16)) {
    st = Coalesce(z);
    if (st.ok()) st = AllocInZone(z, len, use, off, room, found);
  }
  Status un = s_->Unlock({LockKind::kFreeZone, uint32_t(z)}, LockType::kWrite);
  return st.ok() ? un : st;
}

template <class S>
Status FreeZones<S>::Alloc(uint64_t len, Use use, uint64_t* off, uint64_t* room) {
  len = std::max(AlignRecord(len), format::kMinDataLen);
  std::lock_guard<std::mutex> g(mu_);
  PTDB_RETURN_IF_ERROR(ReloadIfZonesDropped());
  size_t& hint = hint_[use == Use::kHashTable];
  bool found = false;
  // The hint zone first, then every other zone, so space is reused before the file
  // grows. Records and hash tables keep separate hints, so each fills its own zones
  // while there is room at their end, and the holes doubled sub-groups leave behind are
  // refilled by later sub-groups.
  for (size_t n = 0; !found && n < zones_.size(); n++) {
    const size_t z = (hint + n) % zones_.size();
    PTDB_RETURN_IF_ERROR(TryZone(z, len, use, off, room, &found));
    if (found) hint = z;
  }
  // Every zone we know is full: under the expansion lock, look for zones others added,
  // else add one. The new zone is searched after the expansion lock is released (zone
  // locks rank before it); if others took its space meanwhile, go round again.
  for (int round = 0; !found; round++) {
    if (round == 8) return Err(Error::kOom, "no space after growing the database 8 times");
    const size_t known = zones_.size();
    PTDB_RETURN_IF_ERROR(s_->Lock({LockKind::kExpansion, 0}, LockType::kWrite));
    bool added;
    Status st = LoadNewZones(&added);
    if (st.ok() && !added) st = Grow(len);
    Status un = s_->Unlock({LockKind::kExpansion, 0}, LockType::kWrite);
    PTDB_RETURN_IF_ERROR(st);
    PTDB_RETURN_IF_ERROR(un);
    for (size_t z = known; !found && z < zones_.size(); z++) {
      PTDB_RETURN_IF_ERROR(TryZone(z, len, use, off, room, &found));
      if (found) hint = z;
    }
  }
  stats_->allocs++;
  return Status::OK();
}

template <class S>
Status FreeZones<S>::Free(uint64_t off, uint64_t total) {
  std::lock_guard<std::mutex> g(mu_);
  PTDB_RETURN_IF_ERROR(ReloadIfZonesDropped());
  if (off >= zones_.back().end()) {
    // In a zone another process added since we last looked.
    PTDB_RETURN_IF_ERROR(LoadNewZonesUnderLock());
  }
  const size_t zone = ZoneOf(off);
  if (zone >= zones_.size() || off + total > zones_[zone].end()) {
    return Err(Error::kCorrupt, "freed record [%llu, +%llu) is not inside a zone",
               (unsigned long long)off, (unsigned long long)total);
  }
  stats_->frees++;
  freed_bytes_[zone] += total;
  ReportSpaceFreed(s_, off, total, 0);
  PTDB_RETURN_IF_ERROR(s_->Lock({LockKind::kFreeZone, uint32_t(zone)}, LockType::kWrite));
  Status st = PushFree(zone, off, total - format::kUsedHeaderSize);
  Status un = s_->Unlock({LockKind::kFreeZone, uint32_t(zone)}, LockType::kWrite);
  return st.ok() ? un : st;
}

template <class S>
Status FreeZones<S>::ResetAll(bool keep_first_only, uint64_t* end) {
  std::lock_guard<std::mutex> g(mu_);
  PTDB_RETURN_IF_ERROR(ReloadIfZonesDropped());
  PTDB_RETURN_IF_ERROR(LoadNewZonesUnderLock());
  layout_changes_++;
  if (keep_first_only && zones_.size() > 1) {
    zones_.resize(1);
    freed_bytes_.resize(1);
    nonempty_.resize(1);
    // Other handles must not allocate in a zone that is gone: they compare this word
    // before every allocation and free.
    generation_++;
    PTDB_RETURN_IF_ERROR(WriteWord(s_, offsetof(format::Header, zone_generation), generation_));
  }
  for (size_t i = 0; i < zones_.size(); i++) {
    const Extent z = zones_[i];
    ReportSpaceFreed(s_, z.off, z.len, 0);
    uint64_t next = i + 1 < zones_.size() ? zones_[i + 1].off : 0;
    PTDB_RETURN_IF_ERROR(FormatZone(z));
    nonempty_[i] = 0;
    PTDB_RETURN_IF_ERROR(WriteWord(
        s_, z.off + format::kUsedHeaderSize + offsetof(format::ZoneBody, next_zone), next));
    const uint64_t free_off = z.off + format::kZoneRecordSize;
    PTDB_RETURN_IF_ERROR(PushFree(i, free_off, z.end() - free_off - format::kUsedHeaderSize));
    freed_bytes_[i] = 0;
  }
  hint_[0] = hint_[1] = 0;
  *end = zones_.back().end();
  return Status::OK();
}

}  // namespace ptdb

#endif  // PTDB_COMMON_FREE_ZONES_H_
