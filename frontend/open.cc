// Db::Open: the composition root. Validates the options, picks the backend, and wires
// it to the frontend. The only file that knows which backends exist.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <new>

#include "common/errors.h"
#include "common/format.h"
#include "file/file_backend.h"
#include "file/file_rescue.h"
#include "file/shared_file.h"
#include "frontend/db_impl.h"
#include "pmem/pmem_backend.h"
#include "pmem/pmem_layout.h"

namespace ptdb {
namespace {

Status ValidateOptions(std::string_view name, const Options& o) {
  if (o.flags & ~kOpenFlagsMask) {
    return Err(Error::kEinval, "unknown open flags %#x", o.flags & ~kOpenFlagsMask);
  }
  if (o.flags & kInternal) return Status::OK();
  if (name.empty()) return Err(Error::kEinval, "a database name is required (or kInternal)");
  const int acc = o.open_flags & O_ACCMODE;
  if (acc != O_RDONLY && acc != O_RDWR) {
    return Err(Error::kEinval, "%.*s: open flags must be O_RDONLY or O_RDWR (not O_WRONLY)",
               int(name.size()), name.data());
  }
  if ((o.flags & kRdonly) && acc == O_RDWR) {
    return Err(Error::kEinval,
               "%.*s: kRdonly with O_RDWR; open O_RDONLY, or add kRdonly after opening",
               int(name.size()), name.data());
  }
  if (o.seed && !(o.open_flags & O_CREAT)) {
    return Err(Error::kEinval, "%.*s: a seed can only be given with O_CREAT", int(name.size()),
               name.data());
  }
  return Status::OK();
}

enum class Content { kNothing, kFile, kPool, kOther };

// What `name` holds, from its first bytes: nothing (absent, unreadable or empty), a ptdb
// file, a libpmemobj pool, or something else.
Content Probe(const std::string& name) {
  // Closing any descriptor of a file drops every POSIX lock this process holds on it, so
  // a file this process has open is recognised without opening it again; and the probe
  // waits for any open in progress (which holds the open lock).
  std::lock_guard<std::mutex> opening(SharedFile::OpenMutex());
  struct stat sb;
  if (stat(name.c_str(), &sb) == 0 && SharedFile::Find(sb.st_dev, sb.st_ino)) {
    return Content::kFile;
  }
  const int fd = open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Content::kNothing;
  char buf[sizeof(format::kMagicFood) - 1];
  const ssize_t n = pread(fd, buf, sizeof(buf), 0);
  close(fd);
  if (n <= 0) return Content::kNothing;
  const size_t got = size_t(n);
  constexpr size_t kSignature = sizeof(pmem_layout::kPoolSignature);  // with its NUL
  if (got >= kSignature && std::memcmp(buf, pmem_layout::kPoolSignature, kSignature) == 0) {
    return Content::kPool;
  }
  if (got == sizeof(buf) && std::memcmp(buf, format::kMagicFood, sizeof(buf)) == 0) {
    return Content::kFile;
  }
  return Content::kOther;
}

// An existing database keeps its backend; Options::backend chooses for a new one (and for
// one O_TRUNC re-creates). Bytes that are neither go to the backend asked for, which
// reports them as not a database of its kind.
bool UsePmem(const std::string& name, const Options& options) {
  const bool asked = options.backend == BackendKind::kPmem;
  if (options.flags & kInternal) return asked;
  const Content content = Probe(name);
  if ((content == Content::kFile || content == Content::kPool) &&
      !((options.open_flags & O_TRUNC) && options.backend != BackendKind::kAuto)) {
    return content == Content::kPool;
  }
  return asked;
}

Status OpenDb(std::string_view name, const Options& options, std::unique_ptr<Db>* db) {
  Status st = ValidateOptions(name, options);
  if (!st.ok()) {
    if (options.log) options.log(LogLevel::kUseError, st.code(), st.message());
    return st;
  }
  unsigned flags = options.flags;
  const bool opened_rdonly = !(flags & kInternal) && (options.open_flags & O_ACCMODE) == O_RDONLY;
  if (opened_rdonly) flags |= kRdonly;
  if (flags & kInternal) flags |= kNoMmap;

  auto impl = std::make_unique<DbImpl>(std::string(name), options, flags, opened_rdonly);
  std::unique_ptr<Backend> backend;
  unsigned forced = 0;
  const std::string path(name);
  st = UsePmem(path, options) ? PmemBackend::Open(path, options, impl->stats(), &forced, &backend)
                              : FileBackend::Open(path, options, impl->stats(), &forced, &backend);
  if (!st.ok()) return impl->Report(st);
  impl->AddForcedFlags(forced);
  impl->SetBackend(std::move(backend));
  *db = std::move(impl);
  return Status::OK();
}

}  // namespace

Status Db::Open(std::string_view name, const Options& options, std::unique_ptr<Db>* db) {
  db->reset();
  try {
    return OpenDb(name, options, db);
  } catch (const std::bad_alloc&) {
    return Err(Error::kOom, "out of memory opening %.*s", int(name.size()), name.data());
  } catch (const std::exception& e) {
    return Err(Error::kIo, "opening %.*s: unexpected exception: %s", int(name.size()), name.data(),
               e.what());
  }
}

Status Db::RescueFile(std::string_view name, const Options& options, const RescueFn& fn,
                      RescueReport* report, unsigned flags) {
  const std::string path(name);
  Status st;
  try {
    if (!fn) {
      st = Err(Error::kEinval, "%s: rescue without a function", path.c_str());
    } else if (flags & ~unsigned(kRescueUnreachable)) {
      st = Err(Error::kEinval, "%s: unknown rescue flags %#x", path.c_str(),
               flags & ~unsigned(kRescueUnreachable));
    } else if (Probe(path) == Content::kPool) {
      st = Err(Error::kEinval, "%s is a pool: open it and call Rescue on the handle", path.c_str());
    } else {
      st = RescueDatabaseFile(path, options, fn, report, flags);
    }
  } catch (const std::bad_alloc&) {
    st = Err(Error::kOom, "out of memory rescuing %s", path.c_str());
  }
  if (!st.ok() && options.log) options.log(LogLevel::kError, st.code(), st.message());
  return st;
}

}  // namespace ptdb
