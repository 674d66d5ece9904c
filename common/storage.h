// The storage seam: what the engine, the checker and the summary need from a backend.
//
// They are templates over a Storage class rather than callers of a virtual interface,
// because a lookup makes several small reads and a virtual call on each would cost more
// than the DRAM misses we are trying to save. Each backend provides one class with these
// members (file/file_storage.h; the pmem backend will add its own):
//
//   // Makes [off, off + len) readable at *out. With a mapping, *out points into it and
//   // buf is not touched; otherwise the bytes are copied to buf, which has room for len.
//   // kCorrupt (never a crash) if the range is not inside the database's space.
//   Status Read(uint64_t off, size_t len, void* buf, const void** out);
//
//   // A pointer to `off` and the bytes from there that may be read through it, or null
//   // when the storage cannot hand one out now (no mapping, a write transaction's
//   // overlay, `off` outside the space): the caller then uses Read. A loop over records
//   // checks each record's bounds against *avail once instead of on every read.
//   const uint8_t* Span(uint64_t off, uint64_t* avail);
//
//   // Hints, for walks that overlap their DRAM misses (a traverse's copies, a batch of
//   // stores): ask the CPU to load the line at `off` (never faults, whatever `off`), and
//   // [off, off + len) in place as this handle sees it, or null where that would take a
//   // copy or a system call. Neither ever fails.
//   void Prefetch(uint64_t off) const;
//   const uint8_t* Peek(uint64_t off, size_t len) const;
//
//   // Writes [off, off + len). REQUIRES: the range is inside the database's space.
//   Status Write(uint64_t off, const void* src, size_t len);
//
//   // Adds at least `min_bytes` of space as one new extent and reports it. The engine
//   // turns it into a free zone. File: extends the file; pmem: allocates a zone object.
//   Status Grow(uint64_t min_bytes, Extent* added);
//
//   // Bytes of address space; every valid offset is below it. Bounds loop walks.
//   uint64_t size() const;
//
//   // The lock set's locks (common/locks.h) for this handle; OK at once when it takes
//   // none. Hash groups, free zones, expansion and allrecord go through these.
//   Status Lock(LockId id, LockType type);
//   Status Unlock(LockId id, LockType type);
//
//   // The extents of raw space after the header, in address order. Every byte of each
//   // must belong to exactly one zone (the checker verifies this).
//   const std::vector<Extent>& Extents() const;
//
// Optional, for a storage that undoes writes from snapshots of the old bytes (pmem); the
// free-space allocator calls them when the storage has them (free_zones.h):
//
//   // [off, off + len), which held a record or a free record's header, is free space now.
//   void SpaceFreed(uint64_t off, uint64_t len);
//
//   // [off, off + len), inside a free record's body (never its header), is about to be
//   // written as a record or as the header of a free record split off. Unless this
//   // transaction freed some of it, nothing there needs to come back on abort.
//   void SpaceReused(uint64_t off, uint64_t len);
//
// Optional, for a traverse (engine.h), which copies a big group's records in runs and
// drops the group's lock between them:
//
//   // With the group's read lock held: a token that stays the same until another
//   // thread or process changes the group's records or tables, or false if the storage
//   // cannot tell (the traverse then searches the group again before each run). Changes
//   // the calling thread makes need not move it: the engine counts those itself.
//   bool GroupChangeToken(unsigned group, uint64_t* token);
//
//   // True if no thread or process but the one traversing can write while it does: the
//   // traverse then reads the space in address order instead of the tree's order.
//   bool OnlyTraverserWrites() const;
//
// Pointers returned by Read and Span are valid until the next Write or Grow.
#ifndef PTDB_COMMON_STORAGE_H_
#define PTDB_COMMON_STORAGE_H_

#include <cstdint>

namespace ptdb {

struct Extent {
  uint64_t off = 0;
  uint64_t len = 0;
  uint64_t end() const { return off + len; }
};

}  // namespace ptdb

#endif  // PTDB_COMMON_STORAGE_H_
