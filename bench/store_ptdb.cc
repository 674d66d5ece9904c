// ptdb through its public API only. The backend is the file with mmap (default), the file
// with pread/pwrite ("file-nommap"), or memory alone ("internal"). Always kNoLock: the peers
// run single-process without locks too (tdb with TDB_NOLOCK).
#include <fcntl.h>

#include "bench/store.h"
#include "ptdb/db.h"

namespace ptdb {
namespace bench {
namespace {

class PtdbStore : public Store {
 public:
  using Store::Store;

  Result Open() override {
    Options options;
    options.flags = kNoLock;
    if (config().ptdb_backend == "file-nommap") {
      options.flags |= kNoMmap;
    } else if (config().ptdb_backend == "internal") {
      options.flags |= kInternal;
    } else if (config().ptdb_backend != "file") {
      return Fail("unknown ptdb backend " + config().ptdb_backend);
    }
    options.open_flags = O_RDWR | O_CREAT | O_TRUNC;
    return Check(Db::Open(config().dir + "/bench.ptdb", options, &db_));
  }

  Result Insert(std::string_view key, std::string_view value) override {
    return Check(db_->Store(key, value, StoreMode::kInsert));
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

  std::string Backend() const override { return config().ptdb_backend; }

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
};

}  // namespace

std::unique_ptr<Store> MakePtdbStore(const StoreConfig& config) {
  return std::make_unique<PtdbStore>(config);
}

}  // namespace bench
}  // namespace ptdb
