// The file backend's storage: a database file reached through mmap, through
// pread/pwrite (kNoMmap, or when mmap fails), or a heap buffer (kInternal).
//
// Every byte the engine reads or writes goes through Read and Write, mapped or not, so
// the bounds check happens in one place and tests can see every write. Both are inline:
// they sit on every lookup's path.
#ifndef PTDB_FILE_FILE_STORAGE_H_
#define PTDB_FILE_FILE_STORAGE_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "common/errors.h"
#include "common/storage.h"

namespace ptdb {

class FileStorage {
 public:
  enum class Mode { kMmap, kPread, kMemory };

  // Takes ownership of fd (closed on destruction). `size` is the file's current size.
  static Status OpenFile(int fd, uint64_t size, bool writable, bool want_mmap,
                         std::unique_ptr<FileStorage>* out);
  // A heap buffer of `size` zero bytes.
  static std::unique_ptr<FileStorage> OpenMemory(uint64_t size);

  ~FileStorage();
  FileStorage(const FileStorage&) = delete;
  FileStorage& operator=(const FileStorage&) = delete;

  Status Read(uint64_t off, size_t len, void* buf, const void** out) {
    if (len > size_ || off > size_ - len) return OutOfBounds(off, len);
    if (base_ != nullptr) {
      *out = base_ + off;
      return Status::OK();
    }
    return PRead(off, len, buf, out);
  }

  Status Write(uint64_t off, const void* src, size_t len) {
    if (len > size_ || off > size_ - len) return OutOfBounds(off, len);
    if (base_ != nullptr) {
      std::memcpy(base_ + off, src, len);
      return Status::OK();
    }
    return PWrite(off, src, len);
  }

  void Prefetch(uint64_t off) const {
    if (base_ != nullptr && off < size_) __builtin_prefetch(base_ + off);
  }

  // Grows the space by at least min_bytes (and by an eighth of its size, so growth is
  // geometric but the unused tail stays small) and reports the new extent.
  Status Grow(uint64_t min_bytes, Extent* added);

  std::vector<Extent> Extents() const;
  uint64_t size() const { return size_; }
  int fd() const { return fd_; }
  Mode mode() const { return mode_; }

  // Switches between mmap and pread/pwrite (kNoMmap at run time). No-op for memory.
  Status SetMmap(bool on);
  // Makes every write so far durable (fdatasync; msync first when mapped).
  Status Sync();

 private:
  FileStorage() = default;
  Status Map();
  void Unmap();
  Status PRead(uint64_t off, size_t len, void* buf, const void** out);
  Status PWrite(uint64_t off, const void* src, size_t len);
  Status OutOfBounds(uint64_t off, size_t len) const;

  Mode mode_ = Mode::kPread;
  int fd_ = -1;
  bool writable_ = false;
  uint8_t* base_ = nullptr;  // the mapping or the heap buffer; null for pread
  uint64_t size_ = 0;
};

}  // namespace ptdb

#endif  // PTDB_FILE_FILE_STORAGE_H_
