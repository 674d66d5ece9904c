#include "common/dir_sync.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/errors.h"

namespace ptdb {

Status SyncParentDirectory(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return Err(Error::kIo, "cannot open directory %s to make the new %s durable: %s", dir.c_str(),
               path.c_str(), strerror(errno));
  }
  // EINVAL: a file system with nothing to sync for a directory (some FUSE and network
  // ones); its entries are as durable as it makes them.
  const int rc = fsync(fd);
  const int err = errno;
  close(fd);
  if (rc != 0 && err != EINVAL) {
    return Err(Error::kIo, "cannot sync directory %s after creating %s: %s", dir.c_str(),
               path.c_str(), strerror(err));
  }
  return Status::OK();
}

}  // namespace ptdb
