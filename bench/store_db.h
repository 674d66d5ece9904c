// A store that is a ptdb::Db: every operation through the public API. The ptdb stores
// (file backend in its locking variants, pmem backend) differ only in how they open it
// and what they can do (Traits).
#ifndef PTDB_BENCH_STORE_DB_H_
#define PTDB_BENCH_STORE_DB_H_

#include <memory>
#include <string>
#include <string_view>

#include "bench/store.h"
#include "ptdb/db.h"

namespace ptdb {
namespace bench {

// A ptdb::Db is safe to share between threads; every Fetch returns its own status.
class DbReader : public Reader {
 public:
  explicit DbReader(Db* db) : db_(db) {}
  Result Fetch(std::string_view key, std::string* value) override {
    const Status status = db_->Fetch(key, value);
    if (status.ok()) return Result::kOk;
    if (status.IsNoExist()) return Result::kNoExist;
    return Fail(status.ToString());
  }

 private:
  Db* const db_;
};

class DbStore : public Store {
 public:
  using Store::Store;

  Result Insert(std::string_view key, std::string_view value) override {
    return Check(db_->Store(key, value, StoreMode::kInsert));
  }

  Result Replace(std::string_view key, std::string_view value) override {
    return Check(db_->Store(key, value, StoreMode::kReplace));
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

  Result TxBegin() override { return Check(db_->TransactionStart()); }
  Result TxCommit() override { return Check(db_->TransactionCommit()); }
  Result SetSync(bool on) override {
    return Check(on ? db_->RemoveFlag(kNoSync) : db_->AddFlag(kNoSync));
  }

  std::unique_ptr<Reader> NewReader() override {
    return Traits().shared_reads ? std::make_unique<DbReader>(db_.get()) : nullptr;
  }

  void Close() override { db_.reset(); }

 protected:
  Result OpenDb(const std::string& path, const Options& options) {
    return Check(Db::Open(path, options, &db_));
  }

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

 private:
  std::unique_ptr<Db> db_;
  std::string fetched_;
};

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_STORE_DB_H_
