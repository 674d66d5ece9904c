// The one interface every store in ptdb-bench sits behind.
//
// An adapter drives one database through that store's ordinary public API, one call per
// operation: no batching, caching or reordering behind the driver's back, so the driver's
// figures compare the stores and nothing else.
#ifndef PTDB_BENCH_STORE_H_
#define PTDB_BENCH_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ptdb {
namespace bench {

enum class Result { kOk, kNoExist, kExists, kError };

const char* ResultName(Result result);

struct StoreConfig {
  std::string dir;  // a fresh, empty directory owned by this run
  uint64_t n = 0;   // records the workload holds, for stores sized up front
  size_t key_size = 0;
  size_t value_size = 0;
  std::string ptdb_backend;  // "file", "file-nommap" or "internal"
  // false: open the database another handle created in dir (Open must not truncate it).
  bool create = true;
};

// What a store can do beyond the core phases; a phase that needs more is skipped.
struct StoreTraits {
  bool transactions = false;   // TxBegin, TxCommit, Replace and SetSync work
  bool durable = false;        // with SetSync(true), a commit survives a power cut
  bool reopen = false;         // a second handle (another process) may open the database
  bool multi_process = false;  // handles in several processes may write at once
  bool shared_reads = false;   // NewReader works: threads fetch through one handle at once

  // Transactions that SetSync(true) makes durable, for one handle in one process.
  static StoreTraits DurableTransactions() {
    StoreTraits traits;
    traits.transactions = true;
    traits.durable = true;
    return traits;
  }
};

// Counts what a traversal visits. The checksum reads a byte of every key and value, so no
// store can skip touching a record (tdb2's speed tool sums the values for the same reason),
// and it tells whether the records visited are the records stored.
struct TraverseTally {
  size_t key_size = 0;
  size_t value_size = 0;
  uint64_t count = 0;
  uint64_t wrong_size = 0;
  uint64_t checksum = 0;

  void Visit(std::string_view key, std::string_view value) {
    ++count;
    if (key.size() != key_size || value.size() != value_size) {
      ++wrong_size;
      return;
    }
    checksum += static_cast<unsigned char>(key.back());
    if (!value.empty()) checksum += static_cast<unsigned char>(value.back());
  }
};

// Fetches through its store's handle from the thread that made it, beside the Readers of
// other threads (and no writer).
class Reader {
 public:
  virtual ~Reader() = default;
  // On kOk, *value holds the record's value. kError: Reader's error() says why.
  virtual Result Fetch(std::string_view key, std::string* value) = 0;
  const std::string& error() const { return error_; }

 protected:
  Result Fail(std::string message) {
    error_ = std::move(message);
    return Result::kError;
  }

 private:
  std::string error_;
};

class Store {
 public:
  explicit Store(StoreConfig config) : config_(std::move(config)) {}
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  virtual ~Store() = default;

  // Creates an empty database in config().dir (truncating anything there), or with
  // config().create false opens the one there.
  virtual Result Open() = 0;
  // Stores a new record; kExists if the key is present.
  virtual Result Insert(std::string_view key, std::string_view value) = 0;
  // On kOk, *value views bytes that stay valid until the next call on this store.
  virtual Result Fetch(std::string_view key, std::string_view* value) = 0;
  virtual Result Delete(std::string_view key) = 0;
  // Appends data to the record's value.
  virtual Result Append(std::string_view key, std::string_view data) = 0;
  virtual Result Traverse(TraverseTally* tally) = 0;
  virtual void Close() = 0;

  // What the JSON calls "backend": how this store was opened.
  virtual std::string Backend() const = 0;

  virtual StoreTraits Traits() const { return StoreTraits(); }
  // Stores a record whether or not the key is present.
  virtual Result Replace(std::string_view, std::string_view) { return Unsupported("replace"); }
  // Every write between TxBegin and TxCommit is one atomic transaction.
  virtual Result TxBegin() { return Unsupported("transactions"); }
  virtual Result TxCommit() { return Unsupported("transactions"); }
  // Whether commits sync (a store opens with syncs off: the core phases never commit).
  virtual Result SetSync(bool) { return Unsupported("transactions"); }
  // A Reader for the calling thread (Traits().shared_reads), or null.
  virtual std::unique_ptr<Reader> NewReader() { return nullptr; }

  // Apparent size (st_size) of all files in the database directory.
  uint64_t FileBytes() const;
  // Why the last call returned kError.
  const std::string& error() const { return error_; }
  const StoreConfig& config() const { return config_; }

 protected:
  Result Fail(std::string message) {
    error_ = std::move(message);
    return Result::kError;
  }
  Result Unsupported(const char* what) { return Fail(what + std::string(" unsupported")); }

 private:
  const StoreConfig config_;
  std::string error_;
};

// The stores this binary was built with, in table order (ptdb first).
std::vector<std::string> BuiltStores();
// nullptr if `name` is not built in.
std::unique_ptr<Store> MakeStore(const std::string& name, const StoreConfig& config);

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_STORE_H_
