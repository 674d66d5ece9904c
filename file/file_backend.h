// The file backend: the TDB2 format in a file (or, with kInternal, in memory).
#ifndef PTDB_FILE_FILE_BACKEND_H_
#define PTDB_FILE_FILE_BACKEND_H_

#include <memory>
#include <string>

#include "common/backend.h"
#include "common/engine.h"
#include "file/file_storage.h"
#include "ptdb/options.h"

namespace ptdb {

class FileBackend final : public Backend {
 public:
  // Opens or creates `name` as `options` say. *flags gets the flags the file forces on
  // the handle (kCantCheck, kRdonly). REQUIRES: options validated by the frontend.
  static Status Open(const std::string& name, const Options& options, Stats* stats, unsigned* flags,
                     std::unique_ptr<Backend>* out);

  Status Fetch(std::string_view key, std::string* data) override {
    return engine_.Fetch(key, data);
  }
  Status Parse(std::string_view key, const ParseFn& fn) override { return engine_.Parse(key, fn); }
  Status Exists(std::string_view key, bool* exists) override { return engine_.Exists(key, exists); }
  Status Store(std::string_view key, std::string_view data, StoreMode mode) override {
    return engine_.Store(key, data, mode);
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
  Status Wipe() override { return engine_.Wipe(); }
  Status Check(const CheckFn& fn) override;
  Status Summary(bool histograms, std::string* report) override;
  Status ReadSeqnum(uint64_t* seqnum) override { return engine_.ReadSeqnum(seqnum); }
  Status BumpSeqnum() override { return engine_.BumpSeqnum(); }
  Status ApplyFlags(unsigned flags) override;
  int Fd() const override { return storage_->fd(); }

 private:
  FileBackend(std::unique_ptr<FileStorage> storage, const HashConfig& hash, Stats* stats)
      : storage_(std::move(storage)), engine_(storage_.get(), hash, stats) {}

  std::unique_ptr<FileStorage> storage_;
  Engine<FileStorage> engine_;
};

}  // namespace ptdb

#endif  // PTDB_FILE_FILE_BACKEND_H_
