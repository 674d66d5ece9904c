#include "file/file_backend.h"

#include "common/check.h"
#include "common/format.h"
#include "common/rescue.h"
#include "common/space_reader.h"
#include "common/summary.h"

namespace ptdb {

FileBackend::~FileBackend() {
  // A handle closed with locks still held (a chainlock, lockall) gives them back.
  if (LockSet* locks = view_.locks()) locks->ReleaseAll(this);
  // And a read-only transaction still open: writers of other handles wait for it.
  if (read_tx_ != nullptr) (void)read_tx_->End();
}

Status FileBackend::ChainLock(std::string_view key, LockType type) {
  if (view_.locks() == nullptr) return Status::OK();
  // Through the view: the stores the caller makes under a write chainlock nest inside it,
  // so it is the chainlock that must wait out another's transaction (its writer gate).
  return view_.Acquire({LockKind::kHashGroup, engine_.GroupOf(key)}, type);
}

Status FileBackend::ChainUnlock(std::string_view key, LockType type) {
  LockSet* locks = view_.locks();
  if (locks == nullptr) return Status::OK();
  return locks->Unlock(this, {LockKind::kHashGroup, engine_.GroupOf(key)}, type);
}

Status FileBackend::LockAll(LockType type) {
  // Through the view: a write lockall must wait out a transaction's writer gate, and a
  // first read lockall must find the file whole (a committer may have died applying).
  if (type == LockType::kWrite) return view_.Acquire({LockKind::kAllRecord, 0}, type);
  LockSet* locks = view_.locks();
  if (locks == nullptr) return Status::OK();
  const bool fresh = !locks->HoldsAny(this);
  PTDB_RETURN_IF_ERROR(locks->LockAll(this, type));
  if (!fresh || view_.transaction() != nullptr) return Status::OK();
  return view_.AfterFreshReadLock({LockKind::kAllRecord, 0}, type);
}

Status FileBackend::Wipe() {
  // Only the first zone stays: a wiped database gives its space back.
  PTDB_RETURN_IF_ERROR(engine_.Wipe([this](uint64_t end) { return view_.EndSpaceAt(end); }));
  return view_.transaction() != nullptr ? Status::OK() : ShrinkFile();
}

Status FileBackend::TransactionCommit(bool nosync) {
  uint64_t before = 0, after = 0;
  (void)view_.ReadFileWord(offsetof(format::Header, space_end), &before);
  PTDB_RETURN_IF_ERROR(tx_.Commit(nosync));
  PTDB_RETURN_IF_ERROR(view_.ReadFileWord(offsetof(format::Header, space_end), &after));
  return after < before ? ShrinkFile() : Status::OK();
}

Status FileBackend::ShrinkFile() {
  if (file_->storage()->memory() || !file_->storage()->writable()) return Status::OK();
  LockSet* locks = view_.locks();
  if (locks == nullptr) return file_->ShrinkIfAlone();
  // Under the caller's own lockall the locks below would be out of order; the last close
  // cuts the file instead.
  if (locks->HoldsAny(this)) return Status::OK();
  // No thread of this process may use the records meanwhile.
  PTDB_RETURN_IF_ERROR(locks->Lock(this, {LockKind::kTransaction, 0}, LockType::kWrite));
  Status st = locks->Lock(this, {LockKind::kAllRecord, 0}, LockType::kWrite);
  if (st.ok()) {
    st = file_->ShrinkIfAlone();
    Status un = locks->Unlock(this, {LockKind::kAllRecord, 0}, LockType::kWrite);
    if (st.ok()) st = un;
  }
  Status un = locks->Unlock(this, {LockKind::kTransaction, 0}, LockType::kWrite);
  return st.ok() ? un : st;
}

Status FileBackend::ReadTransactionStart() {
  ReadTxLock* ro = view_.read_tx();
  if (ro == nullptr) return Status::OK();  // kNoLock: the caller keeps writers away
  LockSet* locks = view_.locks();
  if (locks->HoldsAny(this)) {
    return Err(Error::kLock, "a read-only transaction cannot start while this handle holds locks");
  }
  PTDB_RETURN_IF_ERROR(ro->Begin());
  // Writers check for readers right after taking their lock: one already inside a group
  // finishes before we pass it.
  Status st = locks->Sweep(LockType::kRead);
  if (!st.ok()) {
    (void)ro->End();
    return st;
  }
  read_tx_ = ro;
  return Status::OK();
}

Status FileBackend::ReadTransactionEnd() {
  if (read_tx_ == nullptr) return Status::OK();  // started under kNoLock
  ReadTxLock* ro = read_tx_;
  read_tx_ = nullptr;
  return ro->End();
}

Status FileBackend::UnlockAll(LockType type) {
  LockSet* locks = view_.locks();
  return locks ? locks->UnlockAll(this, type) : Status::OK();
}

template <class F>
Status FileBackend::UnderAllRecordRead(F&& fn) {
  PTDB_RETURN_IF_ERROR(LockAll(LockType::kRead));
  Status st = fn();
  Status un = UnlockAll(LockType::kRead);
  return st.ok() ? un : st;
}

Status FileBackend::Check(const CheckFn& fn) {
  return UnderAllRecordRead([&] {
    StorageReader<FileView> reader(&view_);
    const HashConfig hash = engine_.hash();
    return CheckDatabase(
        reader, [&hash](const void* key, size_t len) { return hash(key, len); }, fn);
  });
}

Status FileBackend::Rescue(const RescueFn& fn, RescueReport* report, unsigned flags) {
  return UnderAllRecordRead([&] {
    StorageReader<FileView> reader(&view_);
    const HashConfig hash = engine_.hash();
    return RescueDatabase(
        reader, [&hash](const void* key, size_t len) { return hash(key, len); }, fn, report, flags);
  });
}

Status FileBackend::Summary(bool histograms, std::string* report) {
  return UnderAllRecordRead([&] {
    StorageReader<FileView> reader(&view_);
    return SummarizeDatabase(reader, histograms, report);
  });
}

Status FileBackend::ApplyFlags(unsigned flags) {
  const bool memory = file_->storage()->memory();
  LockSet* want = (flags & kNoLock) ? nullptr : file_->locks();
  if (want != view_.locks() && view_.locks() != nullptr && view_.locks()->HoldsAny(this)) {
    return Err(Error::kLock, "kNoLock cannot change while this handle holds locks");
  }
  PTDB_RETURN_IF_ERROR(view_.SetMmap(memory || (flags & kNoMmap) == 0));
  view_.set_locks(want);
  view_.set_read_tx(want != nullptr ? file_->read_tx() : nullptr);
  // Without locks there is no one to race with: reads need no change counts either. With
  // lock hooks every read goes through the caller's functions, as they expect.
  const bool hooked = file_->bytes() != nullptr && file_->bytes()->has_hooks();
  view_.set_change_counts(want != nullptr && !hooked ? file_->change_counts() : nullptr);
  return Status::OK();
}

}  // namespace ptdb
