#include "frontend/db_impl.h"

#include <exception>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "common/errors.h"
#include "common/record.h"
#include "common/write_epoch.h"

namespace ptdb {
namespace {

// No exception may cross the noexcept API: allocation failures (a huge value, a
// callback's copies) become kOom, anything else thrown below us kIo.
template <class F>
Status Guard(F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return Status(Error::kOom, "out of memory");
  } catch (const std::exception& e) {
    return Err(Error::kIo, "unexpected exception: %s", e.what());
  }
}

}  // namespace

template <class F>
Status DbImpl::Run(F&& f) {
  if (tx_depth_.load(std::memory_order_acquire) != 0) {
    Status st = CheckTransactionOwner();
    // Whatever the call is, it sees the database with the replaces made before it.
    if (st.ok()) st = ApplyDeferred();
    if (!st.ok()) return st;
  }
  return Guard(std::forward<F>(f));
}

Status DbImpl::ApplyDeferred() {
  if (!OwnsTransaction() || deferred_.empty()) return Status::OK();
  Status st = Guard([&] { return backend_->StoreBatch(deferred_.stores(), deferred_.size()); });
  deferred_.Clear();
  if (st.ok()) return st;
  st = Status(st.code(), name_ + ": a store made earlier in this transaction failed, so it " +
                             "cannot commit: " + std::string(st.message()));
  if (tx_failure_.ok()) tx_failure_ = st;
  return st;
}

// Out of line: it anchors Db's vtable (and its export) in this library.
Db::~Db() = default;

DbImpl::DbImpl(std::string name, const Options& options, unsigned flags, bool opened_rdonly)
    : name_(std::move(name)), log_(options.log), flags_(flags), opened_rdonly_(opened_rdonly) {}

void DbImpl::Log(const Status& st) const {
  if (st.code() != Error::kNoExist && st.code() != Error::kExists && !st.IsWouldBlock() && log_) {
    const LogLevel level = st.code() == Error::kEinval || st.code() == Error::kRdonly
                               ? LogLevel::kUseError
                               : LogLevel::kError;
    log_(level, st.code(), st.message());
  }
}

Status DbImpl::CheckKey(std::string_view key) const {
  if (key.size() >> 32) {
    return Err(Error::kEinval, "%s: key of %zu bytes is too long (limit 2^32-1)", name_.c_str(),
               key.size());
  }
  return Status::OK();
}

Status DbImpl::CheckWritable(const char* op) const {
  if (flags_ & kRdonly)
    return Err(Error::kRdonly, "%s: %s on a read-only database", name_.c_str(), op);
  if (ro_thread_.load() == std::this_thread::get_id()) {
    return Err(Error::kEinval, "%s: %s inside a read-only transaction", name_.c_str(), op);
  }
  return Status::OK();
}

Status DbImpl::AfterWrite(Status st) {
  if (st.ok() && (flags_ & kSeqnum)) st = backend_->BumpSeqnum();
  return Report(st);
}

Status DbImpl::Store(std::string_view key, std::string_view data, StoreMode mode) noexcept {
  if (mode != StoreMode::kReplace && mode != StoreMode::kInsert && mode != StoreMode::kModify) {
    return Report(Err(Error::kEinval, "%s: store mode %d is not replace, insert or modify",
                      name_.c_str(), int(mode)));
  }
  Status st = CheckWritable("store");
  if (st.ok()) st = CheckKey(key);
  if (st.ok() && !CanEncode(key.size(), data.size())) {
    st = Err(Error::kEinval, "%s: record of %zu + %zu bytes is too large", name_.c_str(),
             key.size(), data.size());
  }
  if (!st.ok()) return Report(st);
  // Inside a write transaction a replace cannot fail for the key's sake (kExists,
  // kNoExist), so it is held back and applied with the next ones (DeferredStores).
  // Seqnum bumps are not: each store's must follow it.
  if (mode == StoreMode::kReplace && OwnsTransaction() && !(flags_.load() & kSeqnum) &&
      DeferredStores::Fits(key, data) && backend_->CanDeferReplace()) {
    // The first one allocates the handle's buffer.
    st = Guard([&] {
      deferred_.Add(key, data);
      return Status::OK();
    });
    if (st.ok() && deferred_.full()) st = ApplyDeferred();
    return Report(st);
  }
  return AfterWrite(Run([&] { return backend_->Store(key, data, mode); }));
}

Status DbImpl::Fetch(std::string_view key, std::string* data) noexcept {
  Status st = CheckKey(key);
  if (!st.ok()) return Report(st);
  return Report(Run([&] { return backend_->Fetch(key, data); }));
}

Status DbImpl::Append(std::string_view key, std::string_view data) noexcept {
  Status st = CheckWritable("append");
  if (st.ok()) st = CheckKey(key);
  if (st.ok() && !CanEncode(key.size(), data.size())) {
    st = Err(Error::kEinval, "%s: append of %zu bytes is too large", name_.c_str(), data.size());
  }
  if (!st.ok()) return Report(st);
  return AfterWrite(Run([&] { return backend_->Append(key, data); }));
}

Status DbImpl::Delete(std::string_view key) noexcept {
  Status st = CheckWritable("delete");
  if (st.ok()) st = CheckKey(key);
  if (!st.ok()) return Report(st);
  return AfterWrite(Run([&] { return backend_->Delete(key); }));
}

Status DbImpl::Exists(std::string_view key, bool* exists) noexcept {
  *exists = false;
  Status st = CheckKey(key);
  if (!st.ok()) return Report(st);
  return Report(Run([&] { return backend_->Exists(key, exists); }));
}

Status DbImpl::ParseRecord(std::string_view key, const ParseFn& fn) noexcept {
  if (!fn) return Report(Err(Error::kEinval, "%s: parse_record without a function", name_.c_str()));
  Status st = CheckKey(key);
  if (!st.ok()) return Report(st);
  return Report(Run([&] { return backend_->Parse(key, fn); }));
}

Status DbImpl::Traverse(const TraverseFn& fn, uint64_t* count) noexcept {
  return Report(Run([&] {
    if (fn) return backend_->Traverse(fn, count);
    return backend_->Traverse([](std::string_view, std::string_view) { return true; }, count);
  }));
}

Status DbImpl::FirstKey(std::string* key) noexcept {
  return Report(Run([&] { return backend_->FirstKey(key); }));
}

Status DbImpl::NextKey(std::string* key) noexcept {
  Status st = CheckKey(*key);
  if (!st.ok()) return Report(st);
  return Report(Run([&] { return backend_->NextKey(key); }));
}

Status DbImpl::WipeAll() noexcept {
  Status st = CheckWritable("wipe_all");
  if (st.ok()) st = CheckTransactionThread();
  if (!st.ok()) return Report(st);
  // A transaction of its own, as Repack: a wipe cut short by a crash must not leave half
  // a tree, and one that returns is durable. Not under the caller's chain lock or lockall,
  // where no transaction may start: there it is a plain write, as any other.
  const auto wipe = [&] { return backend_->Wipe(); };
  if (tx_depth_.load() != 0 || LockSet::ThreadHoldsRecordLocks()) return AfterWrite(Run(wipe));
  return InOwnTransaction(wipe);
}

Status DbImpl::InOwnTransaction(const std::function<Status()>& change) {
  PTDB_RETURN_IF_ERROR(TransactionStart());
  Status st = Guard(change);
  if (st.ok() && (flags_ & kSeqnum)) st = backend_->BumpSeqnum();
  if (!st.ok()) {
    (void)TransactionCancel();
    return Report(st);
  }
  return TransactionCommit();
}

Status DbImpl::GetFeatures(uint64_t* used, uint64_t* offered) noexcept {
  return Report(Run([&] { return backend_->ReadFeatures(used, offered); }));
}

Status DbImpl::Repack(const ProgressFn& progress) noexcept {
  Status st = CheckWritable("repack");
  if (st.ok()) st = CheckTransactionThread();
  if (st.ok()) st = ApplyDeferred();
  if (!st.ok()) return Report(st);
  const auto rebuild = [&]() -> Status {
    constexpr uint64_t kProgressEvery = 4096;
    std::vector<std::pair<std::string, std::string>> records;
    PTDB_RETURN_IF_ERROR(backend_->Traverse(
        [&](std::string_view key, std::string_view data) {
          records.emplace_back(key, data);
          if (progress && records.size() % kProgressEvery == 0) progress(records.size(), 0);
          return true;
        },
        nullptr));
    PTDB_RETURN_IF_ERROR(backend_->Wipe());
    // Last first, each freed once stored: the peak stays one copy of the records.
    const uint64_t total = records.size();
    while (!records.empty()) {
      PTDB_RETURN_IF_ERROR(
          backend_->Store(records.back().first, records.back().second, StoreMode::kInsert));
      records.pop_back();
      const uint64_t done = total - records.size();
      if (progress && (done % kProgressEvery == 0 || done == total)) progress(done, total);
    }
    return Status::OK();
  };
  if (tx_depth_.load() == 0) return InOwnTransaction(rebuild);
  st = Guard(rebuild);
  if (st.ok() && (flags_ & kSeqnum)) st = backend_->BumpSeqnum();
  return Report(st);
}

Status DbImpl::ChainOp(std::string_view key, LockType type, bool lock) {
  Status st = CheckKey(key);
  if (st.ok() && lock && type == LockType::kWrite) st = CheckWritable("chainlock");
  if (!st.ok()) return Report(st);
  return Report(Run(
      [&] { return lock ? backend_->ChainLock(key, type) : backend_->ChainUnlock(key, type); }));
}

Status DbImpl::ChainLock(std::string_view key) noexcept {
  return ChainOp(key, LockType::kWrite, true);
}
Status DbImpl::ChainUnlock(std::string_view key) noexcept {
  return ChainOp(key, LockType::kWrite, false);
}
Status DbImpl::ChainLockRead(std::string_view key) noexcept {
  return ChainOp(key, LockType::kRead, true);
}
Status DbImpl::ChainUnlockRead(std::string_view key) noexcept {
  return ChainOp(key, LockType::kRead, false);
}

Status DbImpl::LockAll() noexcept {
  Status st = CheckWritable("lockall");
  if (!st.ok()) return Report(st);
  return Report(Run([&] { return backend_->LockAll(LockType::kWrite); }));
}
Status DbImpl::UnlockAll() noexcept {
  return Report(Run([&] { return backend_->UnlockAll(LockType::kWrite); }));
}
Status DbImpl::LockAllRead() noexcept {
  return Report(Run([&] { return backend_->LockAll(LockType::kRead); }));
}
Status DbImpl::UnlockAllRead() noexcept {
  return Report(Run([&] { return backend_->UnlockAll(LockType::kRead); }));
}

Status DbImpl::CheckTransactionOwner() const {
  if (tx_depth_.load(std::memory_order_acquire) > 0 &&
      tx_thread_.load(std::memory_order_relaxed) != std::this_thread::get_id()) {
    return Err(Error::kLock, "%s: another thread has this handle in a transaction", name_.c_str());
  }
  return Status::OK();
}

void DbImpl::EndTransaction() {
  // Before the handle is free: the next owner starts with nothing held back.
  deferred_.Clear();
  tx_failure_ = Status::OK();
  // Committed or rolled back, the database this thread sees changed: a traverse it runs
  // in (a transaction inside a callback) must look again at records it copied.
  NoteLocalWrite();
  tx_depth_.store(0);
  tx_claimed_.store(false);
}

Status DbImpl::TransactionStart() noexcept {
  Status st = CheckWritable("transaction_start");
  if (st.ok()) st = CheckTransactionThread();
  if (!st.ok()) return Report(st);
  if (tx_depth_.load() > 0 && tx_thread_.load() == std::this_thread::get_id()) {
    if (!(flags_.load() & kAllowNesting)) {
      return Report(Err(Error::kEinval,
                        "%s: a transaction is already open (nesting needs "
                        "kAllowNesting)",
                        name_.c_str()));
    }
    tx_depth_++;
    return Status::OK();
  }
  // Two threads may both have seen no transaction: one claims the handle, the other
  // gets what it would have got a moment later.
  bool unclaimed = false;
  if (!tx_claimed_.compare_exchange_strong(unclaimed, true)) {
    return Report(
        Err(Error::kLock, "%s: another thread has this handle in a transaction", name_.c_str()));
  }
  tx_thread_.store(std::this_thread::get_id());
  st = Guard([&] { return backend_->TransactionStart(); });
  if (!st.ok()) {
    tx_claimed_.store(false);
    return Report(st);
  }
  tx_inner_cancelled_ = false;
  tx_depth_.store(1, std::memory_order_release);
  return Status::OK();
}

Status DbImpl::TransactionPrepareCommit() noexcept {
  Status st = CheckTransactionThread();
  if (st.ok() && tx_depth_.load() == 0) {
    st = Err(Error::kEinval, "%s: transaction_prepare_commit without a transaction", name_.c_str());
  }
  if (st.ok() && tx_inner_cancelled_) {
    st = Err(Error::kEinval, "%s: an inner transaction was cancelled", name_.c_str());
  }
  if (!st.ok() || tx_depth_.load() > 1) return Report(st);
  st = ApplyDeferred();
  if (st.ok()) st = tx_failure_;
  if (!st.ok()) return Report(st);
  return Report(Guard([&] { return backend_->TransactionPrepare(flags_.load() & kNoSync); }));
}

Status DbImpl::TransactionCommit() noexcept {
  Status st = CheckTransactionThread();
  if (st.ok() && tx_depth_.load() == 0) {
    st = Err(Error::kEinval, "%s: transaction_commit without a transaction", name_.c_str());
  }
  if (!st.ok()) return Report(st);
  if (tx_depth_.load() > 1) {
    tx_depth_--;
    return Status::OK();
  }
  if (tx_inner_cancelled_) {
    (void)Guard([&] { return backend_->TransactionCancel(); });
    EndTransaction();
    return Report(Err(Error::kEinval,
                      "%s: an inner transaction was cancelled; nothing was "
                      "committed",
                      name_.c_str()));
  }
  st = ApplyDeferred();
  if (st.ok()) st = tx_failure_;
  if (!st.ok()) {
    (void)Guard([&] { return backend_->TransactionCancel(); });
    EndTransaction();
    return Report(st);
  }
  st = Guard([&] { return backend_->TransactionCommit(flags_.load() & kNoSync); });
  EndTransaction();
  return Report(st);
}

Status DbImpl::ReadTransactionStart() noexcept {
  Status st = CheckTransactionThread();
  if (st.ok() && tx_depth_.load() > 0) {
    st = Err(Error::kEinval, "%s: a read-only transaction cannot start inside a write one",
             name_.c_str());
  }
  if (st.ok() && ro_thread_.load() != std::thread::id()) {
    st = Err(Error::kEinval, "%s: a read-only transaction is already open on this handle",
             name_.c_str());
  }
  if (st.ok()) st = Guard([&] { return backend_->ReadTransactionStart(); });
  if (st.ok()) ro_thread_.store(std::this_thread::get_id());
  return Report(st);
}

Status DbImpl::ReadTransactionEnd() noexcept {
  if (ro_thread_.load() != std::this_thread::get_id()) {
    return Report(
        Err(Error::kEinval, "%s: no read-only transaction of this thread to end", name_.c_str()));
  }
  ro_thread_.store(std::thread::id());
  return Report(Guard([&] { return backend_->ReadTransactionEnd(); }));
}

Status DbImpl::TransactionCancel() noexcept {
  Status st = CheckTransactionThread();
  if (st.ok() && tx_depth_.load() == 0) {
    st = Err(Error::kEinval, "%s: transaction_cancel without a transaction", name_.c_str());
  }
  if (!st.ok()) return Report(st);
  if (tx_depth_.load() > 1) {
    tx_depth_--;
    tx_inner_cancelled_ = true;
    return Status::OK();
  }
  st = Guard([&] { return backend_->TransactionCancel(); });
  EndTransaction();
  return Report(st);
}

Status DbImpl::Check(const CheckFn& fn) noexcept {
  if (flags_ & kCantCheck) {
    if (log_)
      log_(LogLevel::kWarning, Error::kSuccess,
           name_ + ": has a capability check() does not understand; not checked");
    return Status::OK();
  }
  return Report(Run([&] { return backend_->Check(fn); }));
}

Status DbImpl::Rescue(const RescueFn& fn, RescueReport* report, unsigned flags) noexcept {
  if (flags & ~unsigned(kRescueUnreachable)) {
    return Report(Err(Error::kEinval, "%s: unknown rescue flags %#x", name_.c_str(),
                      flags & ~unsigned(kRescueUnreachable)));
  }
  if (flags_ & kCantCheck) {
    return Report(Status(Error::kEinval,
                         name_ + ": has a capability rescue does not understand; not rescued"));
  }
  return Report(Run([&] { return backend_->Rescue(fn, report, flags); }));
}

Status DbImpl::Summary(bool histograms, std::string* report) noexcept {
  return Report(Run([&] { return backend_->Summary(histograms, report); }));
}

Status DbImpl::GetSeqnum(uint64_t* seqnum) noexcept {
  return Report(Run([&] { return backend_->ReadSeqnum(seqnum); }));
}

Status DbImpl::ChangeFlag(unsigned flag, bool add) {
  if (flags_ & kInternal) {
    return Err(Error::kEinval, "%s: flags of an in-memory database cannot change", name_.c_str());
  }
  if (flag == 0 || (flag & ~kSettableFlagsMask)) {
    return Err(Error::kEinval, "%s: flag %#x cannot be %s", name_.c_str(), flag,
               add ? "added" : "removed");
  }
  if (!add && (flag & kRdonly) && opened_rdonly_) {
    return Err(Error::kRdonly, "%s: opened read-only, so kRdonly cannot be removed", name_.c_str());
  }
  const unsigned cur = flags_.load();
  const unsigned next = add ? cur | flag : cur & ~flag;
  PTDB_RETURN_IF_ERROR(Run([&] { return backend_->ApplyFlags(next); }));
  flags_ = next;
  return Status::OK();
}

Status DbImpl::AddFlag(unsigned flag) noexcept { return Report(ChangeFlag(flag, true)); }
Status DbImpl::RemoveFlag(unsigned flag) noexcept { return Report(ChangeFlag(flag, false)); }

Status DbImpl::GetStats(Stats* stats) const noexcept {
  stats_.CopyTo(stats);
  return Status::OK();
}

}  // namespace ptdb
