#include "file/file_storage.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/format.h"

namespace ptdb {
namespace {

constexpr uint64_t kPage = 4096;
// Address space only (PROT_NONE, MAP_NORESERVE): it costs no memory, and 64-bit Linux
// has 128 TiB of it, room for thousands of open databases.
constexpr uint64_t kMinReservation = uint64_t(4) << 30;

#ifdef MADV_POPULATE_WRITE
constexpr int kPopulateWrite = MADV_POPULATE_WRITE;
#else
constexpr int kPopulateWrite = 23;  // Linux 5.14's value; older kernels answer EINVAL
#endif

uint64_t RoundUp(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

}  // namespace

Status FileStorage::OpenFile(int fd, uint64_t size, uint64_t space_start, bool writable,
                             bool want_map, std::unique_ptr<FileStorage>* out) {
  std::unique_ptr<FileStorage> s(new FileStorage);
  s->fd_ = fd;
  s->writable_ = writable;
  s->space_start_ = space_start;
  s->size_.store(size);
  if (want_map) (void)s->EnsureMapped();  // pread/pwrite if it fails
  *out = std::move(s);
  return Status::OK();
}

Status FileStorage::OpenMemory(uint64_t size, std::unique_ptr<FileStorage>* out) {
  std::unique_ptr<FileStorage> s(new FileStorage);
  s->writable_ = true;
  s->space_start_ = format::kHeaderSize;
  std::lock_guard<std::mutex> g(s->map_mu_);
  PTDB_RETURN_IF_ERROR(s->MapLocked(size));
  s->size_.store(size);
  *out = std::move(s);
  return Status::OK();
}

FileStorage::~FileStorage() {
  if (uint8_t* b = base_.load()) munmap(b, reserved_);
  for (const auto& [b, len] : retired_) munmap(b, len);
  if (fd_ >= 0) close(fd_);
}

Status FileStorage::MapLocked(uint64_t size) {
  const uint64_t need = RoundUp(std::max<uint64_t>(size, 1), kPage);
  const int prot = writable_ ? PROT_READ | PROT_WRITE : PROT_READ;
  uint8_t* const old_base = base_.load();
  if (old_base != nullptr && need <= mapped_) return Status::OK();
  uint8_t* base = old_base;
  uint64_t reserved = reserved_, mapped = mapped_;
  if (base == nullptr || need > reserved) {
    const uint64_t reserve = RoundUp(std::max(kMinReservation, 4 * need), kPage);
    void* r = mmap(nullptr, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED) {
      return Err(Error::kIo, "cannot reserve %llu bytes of address space: %s",
                 (unsigned long long)reserve, strerror(errno));
    }
    base = static_cast<uint8_t*>(r);
    reserved = reserve;
    mapped = 0;
  }
  void* p =
      memory()
          ? mmap(base + mapped, need - mapped, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
          : mmap(base + mapped, need - mapped, prot, MAP_SHARED | MAP_FIXED, fd_, off_t(mapped));
  if (p == MAP_FAILED) {
    const int err = errno;
    if (base != old_base) munmap(base, reserved);
    return Err(Error::kIo, "mmap of %llu bytes failed: %s", (unsigned long long)need,
               strerror(err));
  }
  // Map the new pages now, in one call, rather than taking a fault on each first touch.
  // Only a hint: older kernels lack it and nothing depends on it.
  if (writable_ && mapped > 0) (void)madvise(base + mapped, need - mapped, kPopulateWrite);
  if (old_base != nullptr && base != old_base) retired_.push_back({old_base, reserved_});
  reserved_ = reserved;
  mapped_ = need;
  base_.store(base, std::memory_order_release);
  return Status::OK();
}

Status FileStorage::EnsureMapped() {
  std::lock_guard<std::mutex> g(map_mu_);
  return MapLocked(size());
}

Status FileStorage::Refresh() {
  if (memory()) return Status::OK();
  struct stat sb;
  if (fstat(fd_, &sb) != 0) return Err(Error::kIo, "fstat failed: %s", strerror(errno));
  const uint64_t now = uint64_t(sb.st_size);
  std::lock_guard<std::mutex> g(map_mu_);
  if (now < size()) size_.store(now, std::memory_order_release);
  if (now <= size()) return Status::OK();
  if (base() != nullptr) PTDB_RETURN_IF_ERROR(MapLocked(now));
  size_.store(now, std::memory_order_release);
  return Status::OK();
}

Status FileStorage::PRead(uint64_t off, size_t len, void* buf, const void** out) const {
  uint8_t* p = static_cast<uint8_t*>(buf);
  while (len > 0) {
    const ssize_t n = pread(fd_, p, len, off_t(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return Err(Error::kIo, "read of %zu bytes at %llu failed: %s", len, (unsigned long long)off,
                 n == 0 ? "end of file" : strerror(errno));
    p += n;
    off += uint64_t(n);
    len -= size_t(n);
  }
  *out = buf;
  return Status::OK();
}

Status FileStorage::PWrite(uint64_t off, const void* src, size_t len) const {
  const uint8_t* p = static_cast<const uint8_t*>(src);
  while (len > 0) {
    const ssize_t n = pwrite(fd_, p, len, off_t(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return Err(Error::kIo, "write of %zu bytes at %llu failed: %s", len, (unsigned long long)off,
                 n == 0 ? "no progress" : strerror(errno));
    p += n;
    off += uint64_t(n);
    len -= size_t(n);
  }
  return Status::OK();
}

Status FileStorage::ExtendTo(uint64_t size) {
  if (!writable_) return Err(Error::kRdonly, "cannot grow a read-only database");
  if (size >= format::kOffsetLimit) return Err(Error::kOom, "database would exceed 2^56 bytes");
  // A file only shrinks when one process has it open (SharedFile::ShrinkIfAlone), so the
  // size we know is never more than it has.
  if (size <= this->size()) return Status::OK();
  PTDB_RETURN_IF_ERROR(Refresh());
  std::lock_guard<std::mutex> g(map_mu_);
  const uint64_t old_size = this->size();
  if (size <= old_size) return Status::OK();
  if (!memory()) {
    // Allocate the blocks now: a write through the mapping into a hole on a full file
    // system would be a SIGBUS, not an error we could return.
    const int err = posix_fallocate(fd_, off_t(old_size), off_t(size - old_size));
    if (err != 0)
      return Err(err == ENOSPC ? Error::kOom : Error::kIo, "cannot grow the file to %llu bytes: %s",
                 (unsigned long long)size, strerror(err));
  }
  if (base() != nullptr) PTDB_RETURN_IF_ERROR(MapLocked(size));
  size_.store(size, std::memory_order_release);
  return Status::OK();
}

Status FileStorage::Truncate(uint64_t size) {
  if (memory()) return Status::OK();
  std::lock_guard<std::mutex> g(map_mu_);
  // Threads of this process may still read the cut part without a lock (a fetch that
  // checks a change count afterwards, docs/locking.md): past the end of a file a shared
  // mapping faults (SIGBUS), so zero pages take its place first.
  const uint64_t keep = RoundUp(size, kPage);
  if (base() != nullptr && keep < mapped_) {
    if (mmap(base() + keep, mapped_ - keep, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
             0) == MAP_FAILED) {
      return Err(Error::kIo, "cannot unmap the end of the file: %s", strerror(errno));
    }
    mapped_ = keep;
  }
  if (ftruncate(fd_, off_t(size)) != 0) {
    return Err(Error::kIo, "cannot shrink the file to %llu bytes: %s", (unsigned long long)size,
               strerror(errno));
  }
  size_.store(size, std::memory_order_release);
  return Status::OK();
}

Status FileStorage::OutOfBounds(uint64_t off, size_t len) const {
  return Err(Error::kCorrupt, "access to %zu bytes at %llu is outside the database (%llu bytes)",
             len, (unsigned long long)off, (unsigned long long)size());
}

Status FileStorage::Sync() {
  if (memory()) return Status::OK();
  // One call: on Linux fdatasync also writes back the pages dirtied through the shared
  // mapping (they are the file's page cache), so an msync first would be a second,
  // redundant flush.
  syncs_.fetch_add(1, std::memory_order_relaxed);
  if (fdatasync(fd_) != 0) {
    const int err = errno;
    NoteSyncFailed();
    return Err(Error::kIo, "fdatasync failed: %s", strerror(err));
  }
  return Status::OK();
}

Status FileStorage::SyncFailedError() const {
  return Err(Error::kIo,
             "an earlier sync of this database failed, so data written before it may not be "
             "on the disk: writes are refused until the database is closed (every handle in "
             "this process) and opened again, which recovers what the last commits wrote");
}

}  // namespace ptdb
