// Kyoto Cabinet HashDB configured like the peer harness's "kyoto" store: opened
// OWRITER|OCREATE|OTRUNCATE without auto-transactions or auto-sync, buckets
// max(1048583, 2n) and an mmap region of about the final file size, as Kyoto's docs advise.
// Transactions are Kyoto's own (a write-ahead log beside the file); with SetSync(true) they
// are "hard" (synced to the device), otherwise soft, the peers' txn-sync / txn-nosync.
#include <kchashdb.h>

#include <algorithm>

#include "bench/store.h"

namespace ptdb {
namespace bench {
namespace {

namespace kc = kyotocabinet;

// HashDB's default bucket count (private in the header).
constexpr int64_t kDefaultBuckets = 1048583;

// A thread's reads: HashDB locks itself (a reader-writer lock over its buckets), so
// threads share one handle; each Reader has its own buffer, as the store's Fetch.
class KyotoReader : public Reader {
 public:
  KyotoReader(kc::HashDB* db, size_t buffer_size) : db_(db), buffer_(buffer_size, '\0') {}

  Result Fetch(std::string_view key, std::string* value) override {
    const int32_t size = db_->get(key.data(), key.size(), buffer_.data(), buffer_.size());
    if (size < 0) {
      const kc::BasicDB::Error error = db_->error();  // the calling thread's
      if (error.code() == kc::BasicDB::Error::NOREC) return Result::kNoExist;
      return Fail(std::string("kyoto get: ") + error.name() + ": " + error.message());
    }
    if (static_cast<size_t>(size) > buffer_.size()) {
      buffer_.resize(size);
      return Fetch(key, value);
    }
    value->assign(buffer_.data(), size);
    return Result::kOk;
  }

 private:
  kc::HashDB* const db_;
  std::string buffer_;
};

class KyotoStore : public Store {
 public:
  using Store::Store;
  ~KyotoStore() override { Close(); }

  Result Open() override {
    const int64_t n = static_cast<int64_t>(config().n);
    const int64_t buckets = std::max(kDefaultBuckets, 2 * n);
    const int64_t record = static_cast<int64_t>(config().key_size + config().value_size) + 64;
    db_.tune_buckets(buckets);
    db_.tune_map(n * record + buckets * 8);
    // Values grow by the append phase; the slack spares most fetches a second call.
    buffer_.resize(config().value_size + 64);
    if (!db_.open(config().dir + "/bench.kch",
                  kc::HashDB::OWRITER | kc::HashDB::OCREATE | kc::HashDB::OTRUNCATE)) {
      return Outcome("open");
    }
    open_ = true;
    return Result::kOk;
  }

  Result Insert(std::string_view key, std::string_view value) override {
    if (db_.add(key.data(), key.size(), value.data(), value.size())) return Result::kOk;
    return Outcome("add");
  }

  Result Replace(std::string_view key, std::string_view value) override {
    if (db_.set(key.data(), key.size(), value.data(), value.size())) return Result::kOk;
    return Outcome("set");
  }

  Result TxBegin() override {
    if (db_.begin_transaction(hard_)) return Result::kOk;
    return Outcome("begin_transaction");
  }

  Result TxCommit() override {
    if (db_.end_transaction(true)) return Result::kOk;
    return Outcome("end_transaction");
  }

  Result SetSync(bool on) override {
    hard_ = on;
    return Result::kOk;
  }

  StoreTraits Traits() const override {
    StoreTraits traits = StoreTraits::DurableTransactions();
    traits.shared_reads = true;
    return traits;
  }

  std::unique_ptr<Reader> NewReader() override {
    return std::make_unique<KyotoReader>(&db_, buffer_.size());
  }

  Result Fetch(std::string_view key, std::string_view* value) override {
    const int32_t size = db_.get(key.data(), key.size(), buffer_.data(), buffer_.size());
    if (size < 0) return Outcome("get");
    if (static_cast<size_t>(size) > buffer_.size()) {
      // get() copied only a prefix: fetch the whole value into a larger buffer.
      buffer_.resize(size);
      return Fetch(key, value);
    }
    *value = std::string_view(buffer_.data(), size);
    return Result::kOk;
  }

  Result Delete(std::string_view key) override {
    if (db_.remove(key.data(), key.size())) return Result::kOk;
    return Outcome("remove");
  }

  Result Append(std::string_view key, std::string_view data) override {
    if (db_.append(key.data(), key.size(), data.data(), data.size())) return Result::kOk;
    return Outcome("append");
  }

  Result Traverse(TraverseTally* tally) override {
    class Visitor : public kc::DB::Visitor {
     public:
      explicit Visitor(TraverseTally* tally) : tally_(tally) {}
      const char* visit_full(const char* key, size_t key_size, const char* value, size_t value_size,
                             size_t*) override {
        tally_->Visit(std::string_view(key, key_size), std::string_view(value, value_size));
        return NOP;
      }

     private:
      TraverseTally* tally_;
    } visitor(tally);
    if (!db_.iterate(&visitor, false)) return Outcome("iterate");
    return Result::kOk;
  }

  void Close() override {
    if (open_) db_.close();
    open_ = false;
  }

  std::string Backend() const override { return "kyoto"; }

 private:
  Result Outcome(const char* call) {
    const kc::BasicDB::Error error = db_.error();
    if (error.code() == kc::BasicDB::Error::NOREC) return Result::kNoExist;
    if (error.code() == kc::BasicDB::Error::DUPREC) return Result::kExists;
    return Fail(std::string("kyoto ") + call + ": " + error.name() + ": " + error.message());
  }

  kc::HashDB db_;
  bool open_ = false;
  bool hard_ = false;
  std::string buffer_;
};

}  // namespace

std::unique_ptr<Store> MakeKyotoStore(const StoreConfig& config) {
  return std::make_unique<KyotoStore>(config);
}

}  // namespace bench
}  // namespace ptdb
