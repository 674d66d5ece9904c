// One handle's way into a shared FileStorage: the Storage the engine runs on
// (common/storage.h). Reads and writes go through the mapping unless this handle has
// kNoMmap (or the file could not be mapped); an access past the end this process knows
// of first asks whether another process grew the file, and only then is it corrupt.
#ifndef PTDB_FILE_FILE_VIEW_H_
#define PTDB_FILE_FILE_VIEW_H_

#include <cstring>

#include "common/locks.h"
#include "file/file_storage.h"

namespace ptdb {

class FileView {
 public:
  // locks is null for a handle that takes no locks (kNoLock, kInternal).
  FileView(FileStorage* storage, LockSet* locks, const void* owner)
      : fs_(storage), locks_(locks), owner_(owner), use_map_(storage->base() != nullptr) {}

  Status Read(uint64_t off, size_t len, void* buf, const void** out) {
    if (!Inside(off, len)) PTDB_RETURN_IF_ERROR(Recheck(off, len));
    if (use_map_) {
      *out = fs_->base() + off;
      return Status::OK();
    }
    return fs_->PRead(off, len, buf, out);
  }

  Status Write(uint64_t off, const void* src, size_t len) {
    if (!Inside(off, len)) PTDB_RETURN_IF_ERROR(Recheck(off, len));
    if (use_map_) {
      std::memcpy(fs_->base() + off, src, len);
      return Status::OK();
    }
    return fs_->PWrite(off, src, len);
  }

  void Prefetch(uint64_t off) const {
    if (use_map_ && off < fs_->size()) __builtin_prefetch(fs_->base() + off);
  }

  Status Grow(uint64_t min_bytes, Extent* added) { return fs_->Grow(min_bytes, added); }
  std::vector<Extent> Extents() const { return fs_->Extents(); }
  uint64_t size() const { return fs_->size(); }

  // The lock set (common/locks.h), for this handle; nothing when it takes no locks.
  Status Lock(LockId id, LockType type) {
    return locks_ ? locks_->Lock(owner_, id, type) : Status::OK();
  }
  Status Unlock(LockId id, LockType type) {
    return locks_ ? locks_->Unlock(owner_, id, type) : Status::OK();
  }

  // Reads and writes through the mapping (mapping the file if needed), or not.
  Status SetMmap(bool on) {
    if (on && fs_->base() == nullptr) PTDB_RETURN_IF_ERROR(fs_->EnsureMapped());
    use_map_ = on && fs_->base() != nullptr;
    return Status::OK();
  }
  bool mapped() const { return use_map_; }
  FileStorage* file() const { return fs_; }
  void set_locks(LockSet* locks) { locks_ = locks; }
  LockSet* locks() const { return locks_; }
  const void* owner() const { return owner_; }

 private:
  bool Inside(uint64_t off, size_t len) const {
    const uint64_t size = fs_->size();
    return len <= size && off <= size - len;
  }
  Status Recheck(uint64_t off, size_t len) {
    PTDB_RETURN_IF_ERROR(fs_->Refresh());
    return Inside(off, len) ? Status::OK() : fs_->OutOfBounds(off, len);
  }

  FileStorage* fs_;
  LockSet* locks_;
  const void* owner_;
  bool use_map_;
};

}  // namespace ptdb

#endif  // PTDB_FILE_FILE_VIEW_H_
