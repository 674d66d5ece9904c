// DbImpl: everything about a Db that is not storage. It validates arguments, enforces
// read-only handles, keeps the flags and counters, bumps the seqnum and reports every
// error through the log hook; the Backend does the rest.
#ifndef PTDB_FRONTEND_DB_IMPL_H_
#define PTDB_FRONTEND_DB_IMPL_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/backend.h"
#include "common/stat_counters.h"
#include "frontend/deferred_stores.h"
#include "ptdb/db.h"

namespace ptdb {

class DbImpl final : public Db {
 public:
  DbImpl(std::string name, const Options& options, unsigned flags, bool opened_rdonly);
  // Takes the backend once it is open; stats_ must already be where it will stay.
  void SetBackend(std::unique_ptr<Backend> backend) { backend_ = std::move(backend); }
  StatCounters* stats() { return &stats_; }
  // Flags the file imposes (kCantCheck).
  void AddForcedFlags(unsigned flags) { flags_.fetch_or(flags); }

  Status Store(std::string_view key, std::string_view data, StoreMode mode) noexcept override;
  Status Fetch(std::string_view key, std::string* data) noexcept override;
  Status Append(std::string_view key, std::string_view data) noexcept override;
  Status Delete(std::string_view key) noexcept override;
  Status Exists(std::string_view key, bool* exists) noexcept override;
  Status ParseRecord(std::string_view key, const ParseFn& fn) noexcept override;
  Status Traverse(const TraverseFn& fn, uint64_t* count) noexcept override;
  Status FirstKey(std::string* key) noexcept override;
  Status NextKey(std::string* key) noexcept override;
  Status WipeAll() noexcept override;
  using Db::Repack;
  Status Repack(const ProgressFn& progress) noexcept override;
  Status ChainLock(std::string_view key) noexcept override;
  Status ChainUnlock(std::string_view key) noexcept override;
  Status ChainLockRead(std::string_view key) noexcept override;
  Status ChainUnlockRead(std::string_view key) noexcept override;
  Status LockAll() noexcept override;
  Status UnlockAll() noexcept override;
  Status LockAllRead() noexcept override;
  Status UnlockAllRead() noexcept override;
  Status TransactionStart() noexcept override;
  Status TransactionPrepareCommit() noexcept override;
  Status TransactionCommit() noexcept override;
  Status TransactionCancel() noexcept override;
  Status ReadTransactionStart() noexcept override;
  Status ReadTransactionEnd() noexcept override;
  Status Check(const CheckFn& fn) noexcept override;
  Status Rescue(const RescueFn& fn, RescueReport* report, unsigned flags) noexcept override;
  Status Summary(bool histograms, std::string* report) noexcept override;
  Status GetSeqnum(uint64_t* seqnum) noexcept override;
  unsigned GetFlags() const noexcept override { return flags_.load(std::memory_order_relaxed); }
  Status AddFlag(unsigned flag) noexcept override;
  Status RemoveFlag(unsigned flag) noexcept override;
  Status GetStats(Stats* stats) const noexcept override;
  const std::string& Name() const noexcept override { return name_; }
  uint64_t HashSeed() const noexcept override { return backend_->HashSeed(); }
  Status GetFeatures(uint64_t* used, uint64_t* offered) noexcept override;
  int Fd() const noexcept override { return backend_->Fd(); }

  // Sends a failed status to the log hook (not kNoExist/kExists: those are answers).
  // Inline, so that a success passes through every call without a call of its own.
  Status Report(Status st) const {
    if (!st.ok()) Log(st);
    return st;
  }

 private:
  Status CheckKey(std::string_view key) const;
  Status CheckWritable(const char* op) const;
  // The outermost transaction is over: the handle is free for any thread's start.
  void EndTransaction();
  Status AfterWrite(Status st);
  Status ChangeFlag(unsigned flag, bool add);
  Status ChainOp(std::string_view key, LockType type, bool lock);
  // Runs a backend call: refused while another thread holds the handle's transaction;
  // no exception escapes.
  template <class F>
  Status Run(F&& f);
  // A whole-database change (wipe, repack) as a transaction of its own, with the seqnum
  // bumped inside it: a crash cannot leave half of it, and one that returns is committed.
  Status InOwnTransaction(const std::function<Status()>& change);
  // kLock when another thread has this handle in a transaction. Inline for every call
  // made outside a transaction.
  Status CheckTransactionThread() const {
    if (tx_depth_.load(std::memory_order_acquire) == 0) return Status::OK();
    return CheckTransactionOwner();
  }
  // The rest of CheckTransactionThread: whose transaction it is.
  Status CheckTransactionOwner() const;
  // Whether the calling thread has the handle in a write transaction: only that thread
  // touches deferred_ and tx_failure_.
  bool OwnsTransaction() const {
    return tx_depth_.load(std::memory_order_acquire) > 0 &&
           tx_thread_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }
  // Applies the replaces held back (if the calling thread owns the transaction). A
  // failure also fails the transaction: the caller was told those stores succeeded.
  Status ApplyDeferred();
  // Report's out-of-line part: the log hook, for a failure that is not an answer.
  void Log(const Status& st) const;

  std::string name_;
  LogFn log_;
  std::atomic<unsigned> flags_;
  bool opened_rdonly_;
  StatCounters stats_;
  std::unique_ptr<Backend> backend_;

  // The open write transaction: nesting depth (0: none), the thread that owns it, and
  // whether an inner transaction was cancelled (the outer commit must then fail).
  std::atomic<int> tx_depth_{0};
  std::atomic<std::thread::id> tx_thread_{};
  bool tx_inner_cancelled_ = false;
  DeferredStores deferred_;
  Status tx_failure_;                    // why the open transaction can no longer commit
  std::atomic<bool> tx_claimed_{false};  // an outermost start is under way or done
  // The open read-only transaction's thread (none: a default id).
  std::atomic<std::thread::id> ro_thread_{};
};

}  // namespace ptdb

#endif  // PTDB_FRONTEND_DB_IMPL_H_
