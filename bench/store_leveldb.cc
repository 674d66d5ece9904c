// LevelDB configured like the peer harness's "leveldb" store: default Options (an LSM tree
// with its write-ahead log, 4 MiB write buffer, 8 MiB block cache, no bloom filter). LevelDB
// has no insert-only write, so Insert is a blind Put, as in the peer harness: it skips the
// existence check every other store makes. A transaction is one WriteBatch, applied
// atomically at TxCommit; SetSync(true) makes writes use WriteOptions::sync (the log is
// synced before the write returns), the peers' txn-sync.
#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <memory>

#include "bench/store.h"

namespace ptdb {
namespace bench {
namespace {

leveldb::Slice ToSlice(std::string_view s) { return leveldb::Slice(s.data(), s.size()); }

std::string_view View(const leveldb::Slice& s) { return std::string_view(s.data(), s.size()); }

// A thread's reads: a LevelDB handle is safe to share between threads.
class LevelDbReader : public Reader {
 public:
  explicit LevelDbReader(leveldb::DB* db) : db_(db) {}

  Result Fetch(std::string_view key, std::string* value) override {
    const leveldb::Status s = db_->Get(leveldb::ReadOptions(), ToSlice(key), value);
    if (s.IsNotFound()) return Result::kNoExist;
    if (!s.ok()) return Fail("Get: " + s.ToString());
    return Result::kOk;
  }

 private:
  leveldb::DB* const db_;
};

class LevelDbStore : public Store {
 public:
  using Store::Store;
  ~LevelDbStore() override { Close(); }

  Result Open() override {
    leveldb::Options options;
    options.create_if_missing = config().create;
    leveldb::DB* db = nullptr;
    const leveldb::Status s = leveldb::DB::Open(options, config().dir, &db);
    if (!s.ok()) return Fail("DB::Open", s);
    db_.reset(db);
    return Result::kOk;
  }

  Result Insert(std::string_view key, std::string_view value) override { return Put(key, value); }

  Result Replace(std::string_view key, std::string_view value) override { return Put(key, value); }

  Result TxBegin() override {
    if (in_tx_) return Fail("transaction already open");
    batch_.Clear();
    in_tx_ = true;
    return Result::kOk;
  }

  Result TxCommit() override {
    if (!in_tx_) return Fail("no transaction open");
    in_tx_ = false;
    const leveldb::Status s = db_->Write(WriteOptions(), &batch_);
    return s.ok() ? Result::kOk : Fail("Write(batch)", s);
  }

  Result SetSync(bool on) override {
    sync_ = on;
    return Result::kOk;
  }

  StoreTraits Traits() const override {
    StoreTraits traits = StoreTraits::DurableTransactions();
    traits.shared_reads = true;
    return traits;
  }

  std::unique_ptr<Reader> NewReader() override {
    return std::make_unique<LevelDbReader>(db_.get());
  }

  Result Fetch(std::string_view key, std::string_view* value) override {
    const leveldb::Status s = db_->Get(leveldb::ReadOptions(), ToSlice(key), &value_);
    if (s.IsNotFound()) return Result::kNoExist;
    if (!s.ok()) return Fail("Get", s);
    *value = value_;
    return Result::kOk;
  }

  // A blind Delete, like Put: LevelDB does not say whether the key was there.
  Result Delete(std::string_view key) override {
    if (in_tx_) {
      batch_.Delete(ToSlice(key));
      return Result::kOk;
    }
    const leveldb::Status s = db_->Delete(WriteOptions(), ToSlice(key));
    return s.ok() ? Result::kOk : Fail("Delete", s);
  }

  // LevelDB has no append: read, extend and write back.
  Result Append(std::string_view key, std::string_view data) override {
    const leveldb::Status s = db_->Get(leveldb::ReadOptions(), ToSlice(key), &value_);
    if (s.IsNotFound()) return Result::kNoExist;
    if (!s.ok()) return Fail("Get", s);
    value_.append(data);
    return Put(key, value_);
  }

  Result Traverse(TraverseTally* tally) override {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next())
      tally->Visit(View(it->key()), View(it->value()));
    return it->status().ok() ? Result::kOk : Fail("Iterator", it->status());
  }

  void Close() override {
    in_tx_ = false;
    db_.reset();
  }

  std::string Backend() const override { return "leveldb"; }

 private:
  using Store::Fail;
  Result Fail(const char* call, const leveldb::Status& s) {
    return Fail(std::string("leveldb ") + call + ": " + s.ToString());
  }

  leveldb::WriteOptions WriteOptions() const {
    leveldb::WriteOptions options;
    options.sync = sync_;
    return options;
  }

  Result Put(std::string_view key, std::string_view value) {
    if (in_tx_) {
      batch_.Put(ToSlice(key), ToSlice(value));
      return Result::kOk;
    }
    const leveldb::Status s = db_->Put(WriteOptions(), ToSlice(key), ToSlice(value));
    return s.ok() ? Result::kOk : Fail("Put", s);
  }

  std::unique_ptr<leveldb::DB> db_;
  leveldb::WriteBatch batch_;  // the open transaction's writes
  bool in_tx_ = false;
  bool sync_ = false;
  std::string value_;
};

}  // namespace

std::unique_ptr<Store> MakeLevelDbStore(const StoreConfig& config) {
  return std::make_unique<LevelDbStore>(config);
}

}  // namespace bench
}  // namespace ptdb
