// The pmem backend: the TDB2 format in a libpmemobj pool (fs-dax pmem, or emulated pmem:
// a pool file in /dev/shm with PMEM_IS_PMEM_FORCE=1). docs/pmem.md describes it.
//
// Every operation that writes is one pmem::obj::flat_transaction: it commits whole or,
// on any error (or a crash), leaves nothing behind. Reads go straight to the pool. A user
// transaction is the outermost pmemobj transaction; the operations inside it flatten into
// it, and the handle stays locked from its start to its end.
#ifndef PTDB_PMEM_PMEM_BACKEND_H_
#define PTDB_PMEM_PMEM_BACKEND_H_

#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/backend.h"
#include "common/engine.h"
#include "common/locks.h"
#include "pmem/pmem_locks.h"
#include "pmem/pmem_storage.h"
#include "ptdb/options.h"

namespace ptdb {

class PmemBackend final : public Backend {
 public:
  // Opens or creates the pool `name` as `options` say. *flags gets the flags the database
  // forces on the handle (kCantCheck). REQUIRES: options validated by the frontend.
  static Status Open(const std::string& name, const Options& options, StatCounters* stats,
                     unsigned* flags, std::unique_ptr<Backend>* out);
  ~PmemBackend() override;

  Status Fetch(std::string_view key, std::string* data) override;
  Status Parse(std::string_view key, const ParseFn& fn) override;
  Status Exists(std::string_view key, bool* exists) override;
  Status Store(std::string_view key, std::string_view data, StoreMode mode) override;
  Status StoreBatch(const DeferredStore* stores, size_t n) override;
  // Not once libpmemobj has aborted the transaction: every store must then say so.
  bool CanDeferReplace() const override;
  Status Append(std::string_view key, std::string_view data) override;
  Status Delete(std::string_view key) override;
  Status Traverse(const TraverseFn& fn, uint64_t* count) override;
  Status FirstKey(std::string* key) override;
  Status NextKey(std::string* key) override;
  Status Wipe() override;
  Status ChainLock(std::string_view key, LockType type) override;
  Status ChainUnlock(std::string_view key, LockType type) override;
  Status LockAll(LockType type) override;
  Status UnlockAll(LockType type) override;
  // The frontend calls these from the thread that started the transaction (libpmemobj's
  // transactions are per thread). kNoSync changes nothing: a commit always persists.
  Status TransactionStart() override;
  Status TransactionPrepare(bool nosync) override;
  Status TransactionCommit(bool nosync) override;
  Status TransactionCancel() override;
  Status Check(const CheckFn& fn) override;
  Status Rescue(const RescueFn& fn, RescueReport* report, unsigned flags) override;
  Status Summary(bool histograms, std::string* report) override;
  Status ReadSeqnum(uint64_t* seqnum) override;
  uint64_t HashSeed() const override { return engine_.hash().seed; }
  Status ReadFeatures(uint64_t* used, uint64_t* offered) override;
  Status BumpSeqnum() override;
  Status ApplyFlags(unsigned flags) override;
  // A pool has no descriptor the caller could use (libpmemobj keeps its own).
  int Fd() const override { return -1; }

 private:
  PmemBackend(std::unique_ptr<PmemStorage> storage, const HashConfig& hash, StatCounters* stats,
              bool lock)
      : stats_(stats), storage_(std::move(storage)), engine_(storage_.get(), hash, stats) {
    storage_->SetLocks(lock ? &locks_ : nullptr, this);
    storage_->CountLogsIn(stats);
  }

  // Runs op (an engine call that writes) as one transaction. If op fails or anything
  // throws, the transaction is aborted and the error returned. REQUIRES: mu_.
  template <class Op>
  Status RunTx(Op&& op);
  // After an abort: the engine's cached zone list may name a zone whose allocation was
  // undone, so it and the storage's extents are read again.
  Status Reload(const Status& failure);
  // Ends the user transaction's hold on mu_ (TransactionStart took it). REQUIRES: the
  // transaction's thread.
  void EndHold() { mu_.unlock(); }

  // Serializes the handle's writes, each with its whole transaction (pmem_locks.h), and
  // lets point reads share it (pmem_handle_mutex.h).
  HandleMutex mu_;
  StatCounters* stats_;
  std::thread::id tx_thread_;  // the user transaction's thread
  HandleLock primitive_{&mu_};
  LockSet locks_{&primitive_};
  std::unique_ptr<PmemStorage> storage_;
  Engine<PmemStorage> engine_;
};

}  // namespace ptdb

#endif  // PTDB_PMEM_PMEM_BACKEND_H_
