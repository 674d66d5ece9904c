#include "file/read_tx_lock.h"

#include <fcntl.h>

#include <cstddef>

#include "common/errors.h"
#include "common/format.h"
#include "file/file_locks.h"

namespace ptdb {
namespace {

constexpr size_t kFlag = offsetof(format::Header, ro_readers);
thread_local int t_read_transactions = 0;

}  // namespace

int ReadTxLock::HeldByThisThread() { return t_read_transactions; }

uint64_t* ReadTxLock::FlagWord() const {
  if (header_map_ != nullptr) return reinterpret_cast<uint64_t*>(header_map_ + kFlag);
  if (storage_->writable() && storage_->base() != nullptr) {
    return reinterpret_cast<uint64_t*>(storage_->base() + kFlag);
  }
  return nullptr;
}

bool ReadTxLock::ReadersPresent() const {
  if (uint64_t* w = FlagWord()) return __atomic_load_n(w, __ATOMIC_ACQUIRE) != 0;
  uint64_t v = 0;
  const void* p;
  // Unreadable is "maybe": the writer then waits on the byte, which decides.
  if (!storage_->PRead(kFlag, sizeof(v), &v, &p).ok()) return true;
  return v != 0;
}

Status ReadTxLock::WriteFlag(uint64_t v) {
  if (uint64_t* w = FlagWord()) {
    __atomic_store_n(w, v, __ATOMIC_RELEASE);
    return Status::OK();
  }
  return storage_->PWrite(kFlag, &v, sizeof(v));
}

Status ReadTxLock::Begin() {
  if (FlagWord() == nullptr && !storage_->writable()) {
    return Err(Error::kRdonly,
               "a read-only transaction on a read-only handle needs a kMutex file (this one "
               "locks with fcntl): open it read-write");
  }
  std::lock_guard<std::mutex> g(mu_);
  if (local_readers_ == 0 && !storage_->memory()) {
    PTDB_RETURN_IF_ERROR(bytes_.Lock(F_RDLCK, lock_bytes::kReadTransaction, 1, true));
  }
  local_readers_++;
  t_read_transactions++;
  // Set while holding the byte shared: a writer clears it only holding the byte
  // exclusively, so it cannot wipe out a reader that is still running.
  return WriteFlag(1);
}

Status ReadTxLock::End() {
  std::lock_guard<std::mutex> g(mu_);
  if (local_readers_ == 0) return Err(Error::kEinval, "no read-only transaction to end");
  t_read_transactions--;
  Status st;
  if (--local_readers_ == 0 && !storage_->memory()) {
    st = bytes_.Unlock(lock_bytes::kReadTransaction, 1);
  }
  cv_.notify_all();
  return st;
}

Status ReadTxLock::WaitForReaders() {
  if (t_read_transactions > 0) {
    return Err(Error::kLock,
               "this thread holds a read-only transaction: it cannot wait for readers to "
               "finish before writing");
  }
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [this] { return local_readers_ == 0; });
  if (storage_->memory()) return WriteFlag(0);  // no other process
  // Exclusively only once no process holds the byte shared: every reader is gone (a
  // dead one's lock went with it), so the word may be cleared. Held under mu_, so no
  // reader of this process turns our lock into a shared one meanwhile.
  PTDB_RETURN_IF_ERROR(bytes_.Lock(F_WRLCK, lock_bytes::kReadTransaction, 1, true));
  Status st = WriteFlag(0);
  Status un = bytes_.Unlock(lock_bytes::kReadTransaction, 1);
  return st.ok() ? un : st;
}

}  // namespace ptdb
