// Samba tdb (TDB1), the database TDB2 redesigns: one hash chain per expected record
// (the smallest prime >= n, the peers' "tdb:hash~N") and tdb's default mmap, in three
// locking variants: "tdb" (flags 0: fcntl locks on every operation, what tdb users get),
// "tdb-mutex" (TDB_MUTEX_LOCKING: robust process-shared mutexes) and "tdb-nolock"
// (TDB_NOLOCK: single user).
#include <fcntl.h>
#include <tdb.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "bench/store.h"

namespace ptdb {
namespace bench {
namespace {

uint64_t SmallestPrimeAtLeast(uint64_t n) {
  for (uint64_t candidate = n < 2 ? 2 : n;; ++candidate) {
    bool prime = true;
    for (uint64_t d = 2; d * d <= candidate; ++d) {
      if (candidate % d == 0) {
        prime = false;
        break;
      }
    }
    if (prime) return candidate;
  }
}

TDB_DATA Datum(std::string_view s) {
  return TDB_DATA{reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())), s.size()};
}

enum class Locking { kFcntl, kMutex, kNone };

class TdbStore : public Store {
 public:
  TdbStore(const StoreConfig& config, Locking locking) : Store(config), locking_(locking) {}
  ~TdbStore() override { Close(); }

  Result Open() override {
    // Commits start unsynced: SetSync(true) turns syncs on for the durable phases.
    int flags = TDB_NOSYNC;
    if (locking_ == Locking::kNone) flags |= TDB_NOLOCK;
    if (locking_ == Locking::kMutex) {
      // tdb accepts mutexes only with its newer hash and only for a file whose first opener
      // clears it (the mutex area is not valid across a reboot).
      if (!tdb_runtime_check_for_robust_mutexes()) {
        return Fail("tdb: robust mutexes are not supported here");
      }
      flags |= TDB_MUTEX_LOCKING | TDB_INCOMPATIBLE_HASH | TDB_CLEAR_IF_FIRST;
    }
    const uint64_t hash_size = SmallestPrimeAtLeast(config().n);
    const std::string path = config().dir + "/bench.tdb";
    tdb_ = tdb_open(path.c_str(), static_cast<int>(hash_size), flags,
                    config().create ? O_RDWR | O_CREAT | O_TRUNC : O_RDWR, 0600);
    if (tdb_ == nullptr) return Fail("tdb_open " + path + ": " + std::strerror(errno));
    return Result::kOk;
  }

  Result Insert(std::string_view key, std::string_view value) override {
    if (tdb_store(tdb_, Datum(key), Datum(value), TDB_INSERT) == 0) return Result::kOk;
    return Outcome("tdb_store");
  }

  Result Replace(std::string_view key, std::string_view value) override {
    if (tdb_store(tdb_, Datum(key), Datum(value), TDB_REPLACE) == 0) return Result::kOk;
    return Outcome("tdb_store");
  }

  Result TxBegin() override {
    if (tdb_transaction_start(tdb_) == 0) return Result::kOk;
    return Outcome("tdb_transaction_start");
  }

  Result TxCommit() override {
    if (tdb_transaction_commit(tdb_) == 0) return Result::kOk;
    return Outcome("tdb_transaction_commit");
  }

  Result SetSync(bool on) override {
    if (on) {
      tdb_remove_flags(tdb_, TDB_NOSYNC);
    } else {
      tdb_add_flags(tdb_, TDB_NOSYNC);
    }
    return Result::kOk;
  }

  StoreTraits Traits() const override {
    StoreTraits traits = StoreTraits::DurableTransactions();
    traits.reopen = true;
    traits.multi_process = locking_ != Locking::kNone;
    return traits;
  }

  Result Fetch(std::string_view key, std::string_view* value) override {
    std::free(fetched_.dptr);
    fetched_ = tdb_fetch(tdb_, Datum(key));
    if (fetched_.dptr == nullptr) return Outcome("tdb_fetch");
    *value = std::string_view(reinterpret_cast<const char*>(fetched_.dptr), fetched_.dsize);
    return Result::kOk;
  }

  Result Delete(std::string_view key) override {
    if (tdb_delete(tdb_, Datum(key)) == 0) return Result::kOk;
    return Outcome("tdb_delete");
  }

  Result Append(std::string_view key, std::string_view data) override {
    if (tdb_append(tdb_, Datum(key), Datum(data)) == 0) return Result::kOk;
    return Outcome("tdb_append");
  }

  Result Traverse(TraverseTally* tally) override {
    auto visit = [](struct tdb_context*, TDB_DATA key, TDB_DATA value, void* arg) -> int {
      static_cast<TraverseTally*>(arg)->Visit(
          std::string_view(reinterpret_cast<const char*>(key.dptr), key.dsize),
          std::string_view(reinterpret_cast<const char*>(value.dptr), value.dsize));
      return 0;
    };
    if (tdb_traverse_read(tdb_, visit, tally) < 0) return Outcome("tdb_traverse_read");
    return Result::kOk;
  }

  void Close() override {
    std::free(fetched_.dptr);
    fetched_.dptr = nullptr;
    if (tdb_ != nullptr) tdb_close(tdb_);
    tdb_ = nullptr;
  }

  std::string Backend() const override { return "tdb"; }

 private:
  Result Outcome(const char* call) {
    switch (tdb_error(tdb_)) {
      case TDB_ERR_NOEXIST:
        return Result::kNoExist;
      case TDB_ERR_EXISTS:
        return Result::kExists;
      default:
        return Fail(std::string(call) + ": " + tdb_errorstr(tdb_));
    }
  }

  const Locking locking_;
  struct tdb_context* tdb_ = nullptr;
  TDB_DATA fetched_{nullptr, 0};
};

}  // namespace

std::unique_ptr<Store> MakeTdbStore(const StoreConfig& config) {
  return std::make_unique<TdbStore>(config, Locking::kFcntl);
}

std::unique_ptr<Store> MakeTdbMutexStore(const StoreConfig& config) {
  return std::make_unique<TdbStore>(config, Locking::kMutex);
}

std::unique_ptr<Store> MakeTdbNolockStore(const StoreConfig& config) {
  return std::make_unique<TdbStore>(config, Locking::kNone);
}

}  // namespace bench
}  // namespace ptdb
