// What a ptdb pool holds besides the database's own bytes: the libpmemobj layout name,
// the root object and the type of the zone objects. Changing any of them needs a new
// layout name, so an older library refuses the pool instead of misreading it.
//
// Database offsets map onto the pool like this (docs/pmem.md):
//   [0, format::kHeaderSize)  the TDB2 header, kept inside the root object;
//   every other offset        a pool offset (PMEMoid.off) inside a zone object.
// libpmemobj's own metadata (pool header, lanes, heap headers) fills the first megabytes
// of the pool, so no zone object can start inside [0, kHeaderSize); PmemStorage still
// checks every allocation rather than trust that.
#ifndef PTDB_PMEM_PMEM_LAYOUT_H_
#define PTDB_PMEM_PMEM_LAYOUT_H_

#include <libpmemobj.h>

#include <cstddef>
#include <cstdint>

#include "common/format.h"

namespace ptdb::pmem_layout {

// libpmemobj compares it at open: a pool of another layout is refused.
inline constexpr char kLayoutName[] = "ptdb-1";

// The type number of every zone object. The pool holds nothing else but the root.
inline constexpr uint64_t kZoneType = 1;

// The root object holds the header at its first cache-line boundary, so the top-level
// hash groups (512 bytes into the header) each sit in one cache line, as in a file.
inline constexpr uint64_t kCacheLine = 64;
inline constexpr size_t kRootSize = format::kHeaderSize + kCacheLine;
// Where in the root object (at pool offset root_off) the header starts.
constexpr uint64_t HeaderInRoot(uint64_t root_off) {
  return (kCacheLine - root_off % kCacheLine) % kCacheLine;
}

// libpmemobj's smallest pool; a smaller pool_size is refused before libpmemobj sees it.
inline constexpr uint64_t kMinPoolSize = PMEMOBJ_MIN_POOL;
// Options::pool_size 0 creates this: room for roughly 250k small records.
inline constexpr uint64_t kDefaultPoolSize = 64ULL << 20;

// The bytes every pool file starts with (libpmemobj's pool header signature).
inline constexpr char kPoolSignature[] = "PMEMOBJ";

}  // namespace ptdb::pmem_layout

#endif  // PTDB_PMEM_PMEM_LAYOUT_H_
