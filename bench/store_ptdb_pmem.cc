// ptdb's pmem backend through the public API: the database in a libpmemobj pool in the
// run's directory (emulated pmem, pmem_env.h). kNoLock, as the ptdb store.
//
// Transactions are the pool's user transactions (one libpmemobj transaction from start
// to commit). A commit always persists (cache flushes; kNoSync changes nothing), so the
// tx10-nosync and bulk phases run; tx10-durable does not: a pool on the disk directory
// is not pmem, and the emulation's cache flushes make nothing durable there.
//
// A pool does not grow, so it is sized for the workload up front. The database takes what
// a file database takes (175 MB for 1M records of 16 + 100 bytes, through every phase);
// on top come libpmemobj's ~5 MiB of lanes and heap metadata and room for undo logs.
#include <fcntl.h>

#include "bench/pmem_env.h"
#include "bench/store.h"
#include "ptdb/db.h"

namespace ptdb {
namespace bench {
namespace {

constexpr uint64_t kPoolSlack = 32ULL << 20;
constexpr uint64_t kPoolOverheadPerRecord = 84;

class PtdbPmemStore : public Store {
 public:
  using Store::Store;

  Result Open() override {
    backend_ = UseEmulatedPmem();
    Options options;
    options.flags = kNoLock;
    options.backend = BackendKind::kPmem;
    options.open_flags = O_RDWR | O_CREAT | O_TRUNC;
    options.pool_size = kPoolSlack + config().n * (kPoolOverheadPerRecord + config().key_size +
                                                   config().value_size);
    return Check(Db::Open(config().dir + "/bench.pool", options, &db_));
  }

  Result Insert(std::string_view key, std::string_view value) override {
    return Check(db_->Store(key, value, StoreMode::kInsert));
  }

  Result Replace(std::string_view key, std::string_view value) override {
    return Check(db_->Store(key, value, StoreMode::kReplace));
  }

  Result TxBegin() override { return Check(db_->TransactionStart()); }
  Result TxCommit() override { return Check(db_->TransactionCommit()); }
  Result SetSync(bool on) override {
    return Check(on ? db_->RemoveFlag(kNoSync) : db_->AddFlag(kNoSync));
  }

  StoreTraits Traits() const override {
    StoreTraits traits;
    traits.transactions = true;
    return traits;
  }

  Result Fetch(std::string_view key, std::string_view* value) override {
    const Result result = Check(db_->Fetch(key, &fetched_));
    if (result == Result::kOk) *value = fetched_;
    return result;
  }

  Result Delete(std::string_view key) override { return Check(db_->Delete(key)); }

  Result Append(std::string_view key, std::string_view data) override {
    return Check(db_->Append(key, data));
  }

  Result Traverse(TraverseTally* tally) override {
    return Check(db_->Traverse([tally](std::string_view key, std::string_view data) {
      tally->Visit(key, data);
      return true;
    }));
  }

  void Close() override { db_.reset(); }

  std::string Backend() const override { return backend_; }

 private:
  Result Check(const Status& status) {
    switch (status.code()) {
      case Error::kSuccess:
        return Result::kOk;
      case Error::kNoExist:
        return Result::kNoExist;
      case Error::kExists:
        return Result::kExists;
      default:
        return Fail(status.ToString());
    }
  }

  std::unique_ptr<Db> db_;
  std::string fetched_;
  std::string backend_;
};

}  // namespace

std::unique_ptr<Store> MakePtdbPmemStore(const StoreConfig& config) {
  return std::make_unique<PtdbPmemStore>(config);
}

}  // namespace bench
}  // namespace ptdb
