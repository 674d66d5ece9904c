// The integrity checker: the oracle every randomized, crash and fuzz test ends with.
//
// It reads the whole space through a SpaceReader and accounts for every byte: the header,
// the zones and every record in them, the free lists, the capability list and the hash
// tree, rehashing every key. It never writes, never crashes on any bytes and bounds every
// walk, so it can be pointed at anything.
#ifndef PTDB_COMMON_CHECK_H_
#define PTDB_COMMON_CHECK_H_

#include <cstdint>
#include <vector>

#include "common/space_reader.h"
#include "common/space_scan.h"
#include "ptdb/db.h"
#include "ptdb/status.h"

namespace ptdb {

// Returns OK, or kCorrupt with a message naming the offset and what was expected vs found.
// fn (may be null) sees every record; its first non-OK result stops the check and is
// returned as is.
Status CheckDatabase(SpaceReader& space, const KeyHasher& hash, const CheckFn& fn);

}  // namespace ptdb

#endif  // PTDB_COMMON_CHECK_H_
