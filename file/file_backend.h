// The file backend: the TDB2 format in a file (or, with kInternal, in memory).
#ifndef PTDB_FILE_FILE_BACKEND_H_
#define PTDB_FILE_FILE_BACKEND_H_

#include <memory>
#include <string>

#include "common/backend.h"
#include "common/engine.h"
#include "file/file_transaction.h"
#include "file/file_view.h"
#include "file/shared_file.h"
#include "ptdb/options.h"

namespace ptdb {

class FileBackend final : public Backend {
 public:
  // Opens or creates `name` as `options` say. *flags gets the flags the file forces on
  // the handle (kCantCheck, kRdonly). REQUIRES: options validated by the frontend.
  static Status Open(const std::string& name, const Options& options, StatCounters* stats,
                     unsigned* flags, std::unique_ptr<Backend>* out);
  ~FileBackend() override;

  Status Fetch(std::string_view key, std::string* data) override {
    return engine_.Fetch(key, data);
  }
  Status Parse(std::string_view key, const ParseFn& fn) override { return engine_.Parse(key, fn); }
  Status Exists(std::string_view key, bool* exists) override { return engine_.Exists(key, exists); }
  Status Store(std::string_view key, std::string_view data, StoreMode mode) override {
    return engine_.Store(key, data, mode);
  }
  Status StoreBatch(const DeferredStore* stores, size_t n) override {
    return engine_.StoreBatch(stores, n);
  }
  Status Append(std::string_view key, std::string_view data) override {
    return engine_.Append(key, data);
  }
  Status Delete(std::string_view key) override { return engine_.Delete(key); }
  Status Traverse(const TraverseFn& fn, uint64_t* count) override {
    return engine_.Traverse(fn, count);
  }
  Status FirstKey(std::string* key) override { return engine_.FirstKey(key); }
  Status NextKey(std::string* key) override { return engine_.NextKey(key); }
  Status Wipe() override;
  Status ChainLock(std::string_view key, LockType type) override;
  Status ChainUnlock(std::string_view key, LockType type) override;
  Status LockAll(LockType type) override;
  Status UnlockAll(LockType type) override;
  Status TransactionStart() override { return tx_.Start(); }
  Status TransactionPrepare(bool nosync) override { return tx_.Prepare(nosync); }
  Status TransactionCommit(bool nosync) override;
  Status TransactionCancel() override { return tx_.Cancel(); }
  Status ReadTransactionStart() override;
  Status ReadTransactionEnd() override;
  Status Check(const CheckFn& fn) override;
  Status Rescue(const RescueFn& fn, RescueReport* report, unsigned flags) override;
  Status Summary(bool histograms, std::string* report) override;
  Status ReadSeqnum(uint64_t* seqnum) override { return engine_.ReadSeqnum(seqnum); }
  uint64_t HashSeed() const override { return engine_.hash().seed; }
  Status ReadFeatures(uint64_t* used, uint64_t* offered) override {
    return engine_.ReadFeatures(used, offered);
  }
  Status BumpSeqnum() override { return engine_.BumpSeqnum(); }
  Status ApplyFlags(unsigned flags) override;
  int Fd() const override { return file_->storage()->fd(); }

 private:
  FileBackend(std::shared_ptr<SharedFile> file, const HashConfig& hash, StatCounters* stats)
      : file_(std::move(file)),
        view_(file_->storage(), file_->locks(), this),
        engine_(&view_, hash, stats),
        tx_(&view_, stats, [this] { return engine_.ReloadZones(); }) {}

  // Cuts the file to its space if no other process has it open (after a wipe or repack
  // gave space back).
  Status ShrinkFile();
  // Runs fn under the allrecord read lock (check, summary).
  template <class F>
  Status UnderAllRecordRead(F&& fn);

  std::shared_ptr<SharedFile> file_;
  FileView view_;
  Engine<FileView> engine_;
  FileTransaction tx_;
  ReadTxLock* read_tx_ = nullptr;  // the read-only transaction's lock, until it ends
};

}  // namespace ptdb

#endif  // PTDB_FILE_FILE_BACKEND_H_
