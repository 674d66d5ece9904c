// A database file as this process sees it: the descriptor, a mapping, and the size.
// One FileStorage serves every handle of the file in the process (file/shared_file.h);
// each handle reads and writes through its own FileView (file/file_view.h).
//
// The mapping never moves while the file is open: a large range of address space is
// reserved up front and the file is mapped into its start, extended in place as the file
// grows. So a thread may keep reading through a pointer while another thread (or, after
// a remap, this one) grows the file. Should the file outgrow the reservation, a bigger
// one takes over and the old one stays mapped until close, still valid for any reader
// that loaded the old base.
#ifndef PTDB_FILE_FILE_STORAGE_H_
#define PTDB_FILE_FILE_STORAGE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "common/errors.h"
#include "common/storage.h"

namespace ptdb {

class FileStorage {
 public:
  // Takes ownership of fd (closed on destruction). `size` is the file's current size and
  // `space_start` the offset of its first zone. Maps the file when want_map (falling back
  // to pread/pwrite, as tdb does, if mmap fails).
  static Status OpenFile(int fd, uint64_t size, uint64_t space_start, bool writable, bool want_map,
                         std::unique_ptr<FileStorage>* out);
  // Anonymous memory of `size` zero bytes (kInternal).
  static Status OpenMemory(uint64_t size, std::unique_ptr<FileStorage>* out);

  ~FileStorage();
  FileStorage(const FileStorage&) = delete;
  FileStorage& operator=(const FileStorage&) = delete;

  // The bytes this process knows of; only grows. Acquire: a reader that sees a size also
  // sees a base mapping that covers it.
  uint64_t size() const { return size_.load(std::memory_order_acquire); }
  // The mapping, or null when the file is not mapped.
  uint8_t* base() const { return base_.load(std::memory_order_acquire); }

  // Learns whether another process grew the file, and maps the new part; or shrank it
  // (a repack while this process was joining), so that growing it again allocates.
  Status Refresh();
  // Maps the file if it is not (a handle without kNoMmap, or the mutex area, needs it).
  Status EnsureMapped();

  Status PRead(uint64_t off, size_t len, void* buf, const void** out) const;
  Status PWrite(uint64_t off, const void* src, size_t len) const;

  // Extends the file to at least `size` bytes (allocated zeros) and maps them.
  Status ExtendTo(uint64_t size);
  // Cuts the file to `size` bytes. The mapping stays reserved (pointers into the rest
  // must not be used; growing again maps the same addresses). REQUIRES: no other process
  // has the file open, no thread here uses the bytes past `size`.
  Status Truncate(uint64_t size);
  // fdatasync calls made so far (commits count theirs).
  uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }

  Status OutOfBounds(uint64_t off, size_t len) const;
  uint64_t space_start() const { return space_start_; }
  int fd() const { return fd_; }
  bool memory() const { return fd_ < 0; }
  bool writable() const { return writable_; }

  // Makes every write so far durable (fdatasync; it covers writes through the mapping).
  Status Sync();

  // A sync of this file failed in this process (here, or one a CommitIo reported). Linux
  // marks the pages it could not write back as clean, so a later sync that succeeds does
  // not make them durable, and nothing may be declared durable on its word any more:
  // writes are refused until every handle of the file in this process is closed and the
  // file opened again, when recovery replays the bundles that cover what may have been
  // lost (docs/transactions.md, "A failed sync").
  void NoteSyncFailed() { sync_failed_.store(true, std::memory_order_release); }
  // kIo once a sync has failed, else OK. Inline: every plain write's lock asks.
  Status CheckNoSyncFailed() const {
    if (__builtin_expect(!sync_failed_.load(std::memory_order_acquire), 1)) return Status::OK();
    return SyncFailedError();
  }

 private:
  FileStorage() = default;
  // Makes the mapping cover [0, size). REQUIRES: map_mu_.
  Status MapLocked(uint64_t size);
  Status SyncFailedError() const;

  int fd_ = -1;
  bool writable_ = false;
  uint64_t space_start_ = 0;
  std::atomic<uint64_t> size_{0};
  std::atomic<uint8_t*> base_{nullptr};
  std::mutex map_mu_;      // serialises mapping changes within this process
  uint64_t reserved_ = 0;  // bytes of address space reserved at base_
  uint64_t mapped_ = 0;    // bytes of the reservation mapped (whole pages)
  std::vector<std::pair<uint8_t*, uint64_t>> retired_;  // outgrown reservations
  std::atomic<uint64_t> syncs_{0};
  std::atomic<bool> sync_failed_{false};
};

}  // namespace ptdb

#endif  // PTDB_FILE_FILE_STORAGE_H_
