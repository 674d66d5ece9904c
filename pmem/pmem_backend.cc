#include "pmem/pmem_backend.h"

#include <libpmemobj/tx_base.h>

#include <shared_mutex>

#include "common/check.h"
#include "common/rescue.h"
#include "common/space_reader.h"
#include "common/summary.h"

namespace ptdb {

PmemBackend::~PmemBackend() {
  // A handle closed inside its transaction cancels it, as a file handle does. Only the
  // transaction's own thread can: libpmemobj keeps a transaction per thread.
  if (storage_->in_user_transaction() && tx_thread_ == std::this_thread::get_id()) {
    storage_->AbortUserTransaction();
    EndHold();
  }
  // A handle closed with a chainlock or lockall still held gives it back.
  locks_.ReleaseAll(this);
}

template <class Op>
Status PmemBackend::RunTx(Op&& op) {
  Status st = storage_->Transaction(std::forward<Op>(op));
  return st.ok() ? st : Reload(st);
}

Status PmemBackend::Reload(const Status& failure) {
  Status st = storage_->Refresh();
  if (st.ok()) st = engine_.Load();
  if (st.ok()) return failure;
  return Err(st.code(), "%.*s; reloading after the rollback then failed: %.*s",
             int(failure.message().size()), failure.message().data(), int(st.message().size()),
             st.message().data());
}

Status PmemBackend::Fetch(std::string_view key, std::string* data) {
  std::shared_lock<HandleMutex> lock(mu_);
  return engine_.Fetch(key, data);
}

Status PmemBackend::Parse(std::string_view key, const ParseFn& fn) {
  std::lock_guard<HandleMutex> lock(mu_);
  return engine_.Parse(key, fn);
}

Status PmemBackend::Exists(std::string_view key, bool* exists) {
  std::shared_lock<HandleMutex> lock(mu_);
  return engine_.Exists(key, exists);
}

Status PmemBackend::Store(std::string_view key, std::string_view data, StoreMode mode) {
  std::lock_guard<HandleMutex> lock(mu_);
  return RunTx([&] { return engine_.Store(key, data, mode); });
}

Status PmemBackend::StoreBatch(const DeferredStore* stores, size_t n) {
  std::lock_guard<HandleMutex> lock(mu_);
  return RunTx([&] { return engine_.StoreBatch(stores, n); });
}

bool PmemBackend::CanDeferReplace() const {
  return Backend::CanDeferReplace() && pmemobj_tx_stage() == TX_STAGE_WORK;
}

Status PmemBackend::Append(std::string_view key, std::string_view data) {
  std::lock_guard<HandleMutex> lock(mu_);
  return RunTx([&] { return engine_.Append(key, data); });
}

Status PmemBackend::Delete(std::string_view key) {
  std::lock_guard<HandleMutex> lock(mu_);
  return RunTx([&] { return engine_.Delete(key); });
}

Status PmemBackend::Traverse(const TraverseFn& fn, uint64_t* count) {
  std::lock_guard<HandleMutex> lock(mu_);
  return engine_.Traverse(fn, count);
}

Status PmemBackend::FirstKey(std::string* key) {
  std::shared_lock<HandleMutex> lock(mu_);
  return engine_.FirstKey(key);
}

Status PmemBackend::NextKey(std::string* key) {
  std::shared_lock<HandleMutex> lock(mu_);
  return engine_.NextKey(key);
}

Status PmemBackend::Wipe() {
  std::lock_guard<HandleMutex> lock(mu_);
  // Only the first zone stays; the pool gets the others' space back (at commit).
  return RunTx(
      [&] { return engine_.Wipe([this](uint64_t end) { return storage_->ReleaseFrom(end); }); });
}

Status PmemBackend::ChainLock(std::string_view key, LockType type) {
  LockSet* locks = storage_->locks();
  return locks ? locks->Lock(this, {LockKind::kHashGroup, engine_.GroupOf(key)}, type)
               : Status::OK();
}

Status PmemBackend::ChainUnlock(std::string_view key, LockType type) {
  LockSet* locks = storage_->locks();
  return locks ? locks->Unlock(this, {LockKind::kHashGroup, engine_.GroupOf(key)}, type)
               : Status::OK();
}

Status PmemBackend::LockAll(LockType type) {
  LockSet* locks = storage_->locks();
  return locks ? locks->LockAll(this, type) : Status::OK();
}

Status PmemBackend::UnlockAll(LockType type) {
  LockSet* locks = storage_->locks();
  return locks ? locks->UnlockAll(this, type) : Status::OK();
}

// The handle mutex is held from here to the commit or cancel: every other thread's call
// waits, so none sees a change before it is committed, and no other operation's writes
// land among the transaction's (the undo log's blocks and OpUndo rely on that).
Status PmemBackend::TransactionStart() {
  mu_.lock();
  Status st = locks_.HoldsAny(this)
                  ? Status(Error::kLock,
                           "a transaction cannot start while this handle holds locks (a "
                           "chainlock or lockall)")
                  : storage_->BeginUserTransaction();
  if (!st.ok()) {
    mu_.unlock();
    return st;
  }
  tx_thread_ = std::this_thread::get_id();
  return Status::OK();
}

Status PmemBackend::TransactionPrepare(bool) {
  std::lock_guard<HandleMutex> lock(mu_);
  if (!storage_->in_user_transaction()) return Status(Error::kEinval, "no transaction to prepare");
  // Nothing to make durable ahead of the commit: the undo log already is, and the commit
  // is one step that cannot fail half way. Only a transaction libpmemobj aborted cannot
  // commit.
  return storage_->UserTransactionAborted("only transaction_cancel can end it");
}

Status PmemBackend::TransactionCommit(bool) {
  std::lock_guard<HandleMutex> lock(mu_);
  if (!storage_->in_user_transaction()) return Status(Error::kEinval, "no transaction to commit");
  Status st = storage_->CommitUserTransaction();
  if (st.ok()) {
    stats_->transactions++;
  } else {
    st = Reload(st);
  }
  EndHold();
  return st;
}

Status PmemBackend::TransactionCancel() {
  std::lock_guard<HandleMutex> lock(mu_);
  if (!storage_->in_user_transaction()) return Status(Error::kEinval, "no transaction to cancel");
  storage_->AbortUserTransaction();
  stats_->transaction_cancels++;
  // The engine cached zones the abort freed.
  Status st = Reload(Status::OK());
  EndHold();
  return st;
}

Status PmemBackend::Check(const CheckFn& fn) {
  std::lock_guard<HandleMutex> lock(mu_);
  StorageReader<PmemStorage> reader(storage_.get());
  const HashConfig hash = engine_.hash();
  return CheckDatabase(
      reader, [&hash](const void* key, size_t len) { return hash(key, len); }, fn);
}

Status PmemBackend::Rescue(const RescueFn& fn, RescueReport* report, unsigned flags) {
  std::lock_guard<HandleMutex> lock(mu_);
  StorageReader<PmemStorage> reader(storage_.get());
  const HashConfig hash = engine_.hash();
  return RescueDatabase(
      reader, [&hash](const void* key, size_t len) { return hash(key, len); }, fn, report, flags);
}

Status PmemBackend::Summary(bool histograms, std::string* report) {
  std::lock_guard<HandleMutex> lock(mu_);
  StorageReader<PmemStorage> reader(storage_.get());
  return SummarizeDatabase(reader, histograms, report);
}

Status PmemBackend::ReadSeqnum(uint64_t* seqnum) {
  std::lock_guard<HandleMutex> lock(mu_);
  return engine_.ReadSeqnum(seqnum);
}

Status PmemBackend::ReadFeatures(uint64_t* used, uint64_t* offered) {
  std::lock_guard<HandleMutex> lock(mu_);
  return engine_.ReadFeatures(used, offered);
}

Status PmemBackend::BumpSeqnum() {
  std::lock_guard<HandleMutex> lock(mu_);
  return RunTx([&] { return engine_.BumpSeqnum(); });
}

Status PmemBackend::ApplyFlags(unsigned flags) {
  std::lock_guard<HandleMutex> lock(mu_);
  // The pool is always mapped: libpmemobj has no pread/pwrite mode to fall back to.
  if (flags & kNoMmap) {
    return Status(Error::kEinval, "a pmem pool is always mapped: kNoMmap does not apply");
  }
  LockSet* want = (flags & kNoLock) ? nullptr : &locks_;
  if (want != storage_->locks() && locks_.HoldsAny(this)) {
    return Err(Error::kLock, "kNoLock cannot change while this handle holds locks");
  }
  storage_->SetLocks(want, this);
  return Status::OK();
}

}  // namespace ptdb
