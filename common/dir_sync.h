// Making a new database's name durable. fsync/fdatasync of a file write back its bytes
// and size, not the directory entry that names it: after a power cut a database created
// and committed to could be gone, data and all, unless its directory is synced too.
#ifndef PTDB_COMMON_DIR_SYNC_H_
#define PTDB_COMMON_DIR_SYNC_H_

#include <string>

#include "ptdb/status.h"

namespace ptdb {

// Syncs the directory that holds `path` (the current directory for a bare name).
// REQUIRES: `path` names a file that exists.
Status SyncParentDirectory(const std::string& path);

}  // namespace ptdb

#endif  // PTDB_COMMON_DIR_SYNC_H_
