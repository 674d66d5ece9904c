// The I/O seam of commit and recovery: every write, sync and resize they make goes
// through one of these calls, so a test can fail any one of them, or cut the power there
// (tests/crash/). The real one works on a FileStorage.
#ifndef PTDB_FILE_COMMIT_IO_H_
#define PTDB_FILE_COMMIT_IO_H_

#include <cstdint>

#include "file/file_storage.h"
#include "ptdb/status.h"

namespace ptdb {

class CommitIo {
 public:
  virtual ~CommitIo() = default;
  virtual Status Read(uint64_t off, size_t len, void* buf) = 0;
  virtual Status Write(uint64_t off, const void* data, size_t len) = 0;
  // Makes every write so far durable.
  virtual Status Sync() = 0;
  // Extends the file to at least `size` bytes (blocks allocated, zeros).
  virtual Status Extend(uint64_t size) = 0;
  virtual uint64_t Size() = 0;
};

// Writes through the mapping when there is one (the kernel's page cache is one copy
// either way, and a memcpy is cheaper than a syscall per run), else pwrite.
class FileCommitIo final : public CommitIo {
 public:
  explicit FileCommitIo(FileStorage* file) : file_(file) {}

  Status Read(uint64_t off, size_t len, void* buf) override;
  Status Write(uint64_t off, const void* data, size_t len) override;
  Status Sync() override { return file_->Sync(); }
  Status Extend(uint64_t size) override { return file_->ExtendTo(size); }
  uint64_t Size() override { return file_->size(); }

 private:
  FileStorage* file_;
};

}  // namespace ptdb

#endif  // PTDB_FILE_COMMIT_IO_H_
