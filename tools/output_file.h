// A file a command leaves behind as its result (a dump): durable before the command
// reports success, as a backup must be. Closing a file does not write it to the disk, so
// a power cut soon after could otherwise leave an empty or missing "backup" of a database
// the user has since dropped.
#ifndef PTDB_TOOLS_OUTPUT_FILE_H_
#define PTDB_TOOLS_OUTPUT_FILE_H_

#include <cstdio>
#include <functional>
#include <string>

#include "ptdb/status.h"

namespace ptdb::cli {

// Creates (or truncates) `path`, lets `fill` write it, then syncs it and the directory
// that names it. On any failure the file is removed: a partial result is no result.
Status WriteOutputFile(const std::string& path, const std::function<Status(FILE*)>& fill);

}  // namespace ptdb::cli

#endif  // PTDB_TOOLS_OUTPUT_FILE_H_
