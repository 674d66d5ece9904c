// Salvage of a damaged database: the records its hash tree still leads to soundly.
//
// Where the checker stops at the first thing wrong, the rescue passes over it: an entry
// that leads outside the space, to a malformed record, to a key that does not hash to
// where it was found, or round a loop is counted as lost and the walk goes on. Like the
// checker it only reads, through a SpaceReader, so it serves both backends.
#ifndef PTDB_COMMON_RESCUE_H_
#define PTDB_COMMON_RESCUE_H_

#include "common/format.h"
#include "common/space_reader.h"
#include "ptdb/db.h"
#include "ptdb/status.h"

namespace ptdb {

// Whether h begins as a ptdb header does (magic and version): what a rescue needs to
// trust the rest of it at all.
bool IsPtdbHeader(const format::Header& h);

// Hands fn every sound record the tree leads to, each key once, in address order (with
// kRescueUnreachable also the unreachable records that flag describes), and fills in
// *report. kCorrupt only if the header cannot be read or is not a ptdb header;
// a non-OK result of fn is returned as is.
Status RescueDatabase(SpaceReader& space, const KeyHasher& hash, const RescueFn& fn,
                      RescueReport* report, unsigned flags = 0);

}  // namespace ptdb

#endif  // PTDB_COMMON_RESCUE_H_
