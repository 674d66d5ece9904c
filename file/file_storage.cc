#include "file/file_storage.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "common/format.h"

namespace ptdb {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMinGrowth = 64 << 10;
constexpr uint64_t kMaxGrowth = 64 << 20;

#ifdef MADV_POPULATE_WRITE
constexpr int kPopulateWrite = MADV_POPULATE_WRITE;
#else
constexpr int kPopulateWrite = 23;  // Linux 5.14's value; older kernels answer EINVAL
#endif

uint64_t RoundUp(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

}  // namespace

Status FileStorage::OpenFile(int fd, uint64_t size, bool writable, bool want_mmap,
                             std::unique_ptr<FileStorage>* out) {
  std::unique_ptr<FileStorage> s(new FileStorage);
  s->fd_ = fd;
  s->writable_ = writable;
  s->size_ = size;
  s->mode_ = Mode::kPread;
  // A failed mmap (e.g. a 32-bit address space) falls back to pread, as tdb does.
  if (want_mmap && s->Map().ok()) s->mode_ = Mode::kMmap;
  *out = std::move(s);
  return Status::OK();
}

std::unique_ptr<FileStorage> FileStorage::OpenMemory(uint64_t size) {
  std::unique_ptr<FileStorage> s(new FileStorage);
  s->mode_ = Mode::kMemory;
  s->writable_ = true;
  s->base_ = static_cast<uint8_t*>(std::calloc(1, size));
  if (s->base_ == nullptr) return nullptr;
  s->size_ = size;
  return s;
}

FileStorage::~FileStorage() {
  if (mode_ == Mode::kMemory) {
    std::free(base_);
  } else {
    Unmap();
    if (fd_ >= 0) close(fd_);
  }
}

Status FileStorage::Map() {
  if (size_ == 0) return Err(Error::kIo, "cannot map an empty file");
  void* p =
      mmap(nullptr, size_, writable_ ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED)
    return Err(Error::kIo, "mmap of %llu bytes failed: %s", (unsigned long long)size_,
               strerror(errno));
  base_ = static_cast<uint8_t*>(p);
  return Status::OK();
}

void FileStorage::Unmap() {
  if (mode_ != Mode::kMemory && base_ != nullptr) {
    munmap(base_, size_);
    base_ = nullptr;
  }
}

Status FileStorage::PRead(uint64_t off, size_t len, void* buf, const void** out) {
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

Status FileStorage::PWrite(uint64_t off, const void* src, size_t len) {
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

Status FileStorage::OutOfBounds(uint64_t off, size_t len) const {
  return Err(Error::kCorrupt, "access to %zu bytes at %llu is outside the database (%llu bytes)",
             len, (unsigned long long)off, (unsigned long long)size_);
}

Status FileStorage::Grow(uint64_t min_bytes, Extent* added) {
  if (!writable_) return Err(Error::kRdonly, "cannot grow a read-only database");
  const uint64_t step = std::clamp<uint64_t>(size_ / 8, kMinGrowth, kMaxGrowth);
  const uint64_t grow = RoundUp(std::max(min_bytes, step), kPage);
  const uint64_t new_size = size_ + grow;
  if (new_size >= format::kOffsetLimit) return Err(Error::kOom, "database would exceed 2^56 bytes");
  if (mode_ == Mode::kMemory) {
    void* p = std::realloc(base_, new_size);
    if (p == nullptr)
      return Err(Error::kOom, "cannot grow the in-memory database to %llu bytes",
                 (unsigned long long)new_size);
    base_ = static_cast<uint8_t*>(p);
    std::memset(base_ + size_, 0, grow);
  } else {
    // Allocate the blocks now: a write through the mapping into a hole on a full file
    // system would be a SIGBUS, not an error we could return.
    const int err = posix_fallocate(fd_, off_t(size_), off_t(grow));
    if (err != 0)
      return Err(err == ENOSPC ? Error::kOom : Error::kIo, "cannot grow the file by %llu bytes: %s",
                 (unsigned long long)grow, strerror(err));
    if (base_ != nullptr) {
      void* p = mremap(base_, size_, new_size, MREMAP_MAYMOVE);
      if (p == MAP_FAILED) {
        Unmap();
        mode_ = Mode::kPread;
      } else {
        base_ = static_cast<uint8_t*>(p);
        // Map the new pages now, in one call, rather than taking a fault on each first
        // touch. Only a hint: older kernels lack it and nothing depends on it.
        const uint64_t from = size_ & ~(kPage - 1);
        (void)madvise(base_ + from, new_size - from, kPopulateWrite);
      }
    }
  }
  *added = {size_, grow};
  size_ = new_size;
  return Status::OK();
}

std::vector<Extent> FileStorage::Extents() const {
  if (size_ <= format::kHeaderSize) return {};
  return {Extent{format::kHeaderSize, size_ - format::kHeaderSize}};
}

Status FileStorage::SetMmap(bool on) {
  if (mode_ == Mode::kMemory) return Status::OK();
  if (on && base_ == nullptr) {
    PTDB_RETURN_IF_ERROR(Map());
    mode_ = Mode::kMmap;
  } else if (!on && base_ != nullptr) {
    Unmap();
    mode_ = Mode::kPread;
  }
  return Status::OK();
}

Status FileStorage::Sync() {
  if (mode_ == Mode::kMemory) return Status::OK();
  if (base_ != nullptr && msync(base_, size_, MS_SYNC) != 0) {
    return Err(Error::kIo, "msync failed: %s", strerror(errno));
  }
  if (fdatasync(fd_) != 0) return Err(Error::kIo, "fdatasync failed: %s", strerror(errno));
  return Status::OK();
}

}  // namespace ptdb
