#include "pmem/pmem_pool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/dir_sync.h"
#include "common/errors.h"
#include "pmem/pmem_layout.h"

namespace ptdb {
namespace {

// libpmemobj's reason for refusing a pool, as a Status. err is the errno it left.
Status PoolError(const char* what, const std::string& name, int err) {
  const char* why = pmemobj_errormsg();
  if (err == EWOULDBLOCK) {
    return Err(Error::kLock,
               "cannot %s %s: pool in use by another process (libpmemobj lets one process, "
               "through one handle, open a pool): %s",
               what, name.c_str(), why);
  }
  if (err == ENOMEM || err == ENOSPC) {
    return Err(Error::kOom, "cannot %s %s: out of space: %s", what, name.c_str(), why);
  }
  if (err == EINVAL) {
    return Err(Error::kCorrupt, "cannot %s %s: not a ptdb pool: %s", what, name.c_str(), why);
  }
  return Err(Error::kIo, "cannot %s %s: %s", what, name.c_str(), why);
}

// Empties an existing file and gives it `size` allocated bytes, ready for pmemobj_create
// to build a pool in it. The same flock libpmemobj takes refuses a pool that a process
// has open; it is dropped before pmemobj_create takes its own.
Status PrepareFile(const std::string& name, uint64_t size) {
  const int fd = open(name.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Err(Error::kIo, "cannot open %s: %s", name.c_str(), strerror(errno));
  Status st;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    st =
        errno == EWOULDBLOCK
            ? Err(Error::kLock, "cannot re-create %s: pool in use by another process", name.c_str())
            : Err(Error::kIo, "cannot lock %s: %s", name.c_str(), strerror(errno));
  } else if (ftruncate(fd, 0) != 0) {
    st = Err(Error::kIo, "cannot truncate %s: %s", name.c_str(), strerror(errno));
  } else if (const int err = posix_fallocate(fd, 0, off_t(size)); err != 0) {
    st = Err(err == ENOSPC ? Error::kOom : Error::kIo, "cannot size %s to %llu bytes: %s",
             name.c_str(), (unsigned long long)size, strerror(err));
  }
  close(fd);
  return st;
}

Status CreatePool(const std::string& name, const Options& options, bool exists, PMEMobjpool** pop) {
  const uint64_t size = options.pool_size ? options.pool_size : pmem_layout::kDefaultPoolSize;
  if (size < pmem_layout::kMinPoolSize) {
    return Err(
        Error::kEinval, "%s: pool_size %llu is below libpmemobj's minimum pool size of %llu bytes",
        name.c_str(), (unsigned long long)size, (unsigned long long)pmem_layout::kMinPoolSize);
  }
  if (exists) {
    PTDB_RETURN_IF_ERROR(PrepareFile(name, size));
    // Size 0: build the pool in the file as it is.
    *pop = pmemobj_create(name.c_str(), pmem_layout::kLayoutName, 0, 0);
  } else {
    *pop = pmemobj_create(name.c_str(), pmem_layout::kLayoutName, size, mode_t(options.mode));
  }
  if (*pop == nullptr) return PoolError("create", name, errno);
  // libpmemobj makes the pool's bytes durable, not the directory entry that names it.
  Status st = SyncParentDirectory(name);
  if (!st.ok()) {
    pmemobj_close(*pop);
    *pop = nullptr;
  }
  return st;
}

}  // namespace

Status OpenPool(const std::string& name, const Options& options, PMEMobjpool** pop, bool* created) {
  *created = false;
  const int flags = options.open_flags;
  const bool writable = (flags & O_ACCMODE) == O_RDWR;
  const bool create = flags & O_CREAT;
  struct stat sb;
  if (stat(name.c_str(), &sb) != 0) {
    if (errno != ENOENT || !create)
      return Err(Error::kIo, "cannot open %s: %s", name.c_str(), strerror(errno));
    if (!writable) return Err(Error::kEinval, "%s: creating a pool needs O_RDWR", name.c_str());
    PTDB_RETURN_IF_ERROR(CreatePool(name, options, false, pop));
    *created = true;
    return Status::OK();
  }
  if (create && (flags & O_EXCL))
    return Err(Error::kIo, "cannot open %s: %s", name.c_str(), strerror(EEXIST));
  if (flags & O_TRUNC) {
    if (!create || !writable)
      return Err(Error::kEinval, "%s: O_TRUNC re-creates a pool, which needs O_CREAT and O_RDWR",
                 name.c_str());
  } else if (sb.st_size != 0) {
    *pop = pmemobj_open(name.c_str(), pmem_layout::kLayoutName);
    if (*pop == nullptr) return PoolError("open", name, errno);
    return Status::OK();
  } else if (!create || !writable) {
    return Err(Error::kCorrupt, "%s is empty: not a ptdb database", name.c_str());
  }
  // O_TRUNC, or an empty file to create in: as with a file, it becomes a new database.
  PTDB_RETURN_IF_ERROR(CreatePool(name, options, true, pop));
  *created = true;
  return Status::OK();
}

}  // namespace ptdb
