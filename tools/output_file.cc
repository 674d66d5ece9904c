#include "tools/output_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/dir_sync.h"

namespace ptdb::cli {
namespace {

Status IoError(const char* what, const std::string& path) {
  return Status(Error::kIo, std::string("cannot ") + what + " " + path + ": " + strerror(errno));
}

}  // namespace

Status WriteOutputFile(const std::string& path, const std::function<Status(FILE*)>& fill) {
  FILE* out = fopen(path.c_str(), "w");
  if (out == nullptr) return IoError("create", path);
  Status st = fill(out);
  if (st.ok() && fflush(out) != 0) st = IoError("write", path);
  if (st.ok() && fsync(fileno(out)) != 0) st = IoError("sync", path);
  if (fclose(out) != 0 && st.ok()) st = IoError("write", path);
  if (st.ok()) st = SyncParentDirectory(path);
  if (!st.ok()) unlink(path.c_str());
  return st;
}

}  // namespace ptdb::cli
