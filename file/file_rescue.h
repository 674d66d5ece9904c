// Rescue from a database file that cannot be opened: a damaged zone record, or a free
// list the open path refuses, while the hash tree and the records are whole.
#ifndef PTDB_FILE_FILE_RESCUE_H_
#define PTDB_FILE_FILE_RESCUE_H_

#include <string>

#include "ptdb/db.h"
#include "ptdb/options.h"
#include "ptdb/status.h"

namespace ptdb {

// Maps the file read-only and runs the shared rescue (common/rescue.h) over it, without
// opening it as a database: no locks, no recovery, nothing written. Of the options only
// `hash` is used; the seed comes from the header, whose hash check value must match.
Status RescueDatabaseFile(const std::string& name, const Options& options, const RescueFn& fn,
                          RescueReport* report, unsigned flags);

}  // namespace ptdb

#endif  // PTDB_FILE_FILE_RESCUE_H_
