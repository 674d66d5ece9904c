#include "file/commit_io.h"

#include <cstring>

namespace ptdb {

Status FileCommitIo::Read(uint64_t off, size_t len, void* buf) {
  if (len > file_->size() || off > file_->size() - len) PTDB_RETURN_IF_ERROR(file_->Refresh());
  if (len > file_->size() || off > file_->size() - len) return file_->OutOfBounds(off, len);
  if (uint8_t* base = file_->base()) {
    if (len == sizeof(uint64_t) && off % sizeof(uint64_t) == 0) {
      const uint64_t v = __atomic_load_n(reinterpret_cast<uint64_t*>(base + off), __ATOMIC_ACQUIRE);
      std::memcpy(buf, &v, sizeof(v));
    } else {
      std::memcpy(buf, base + off, len);
    }
    return Status::OK();
  }
  const void* p;
  return file_->PRead(off, len, buf, &p);
}

Status FileCommitIo::Write(uint64_t off, const void* data, size_t len) {
  if (len > file_->size() || off > file_->size() - len) return file_->OutOfBounds(off, len);
  if (uint8_t* base = file_->base()) {
    if (len == sizeof(uint64_t) && off % sizeof(uint64_t) == 0) {
      // A header word others may read or write meanwhile (under other groups' locks):
      // one atomic access, as FileView makes them.
      uint64_t v;
      std::memcpy(&v, data, sizeof(v));
      __atomic_store_n(reinterpret_cast<uint64_t*>(base + off), v, __ATOMIC_RELEASE);
    } else {
      std::memcpy(base + off, data, len);
    }
    return Status::OK();
  }
  return file_->PWrite(off, data, len);
}

}  // namespace ptdb
