// LMDB configured like the peer harness's "lmdb" store: MDB_NOSYNC, no MDB_WRITEMAP, map size
// max(1 GiB, 16 * n * (key + value)). LMDB has no writes outside a transaction, so every
// write is its own write transaction, except between TxBegin and TxCommit, where the writes
// share one; reads reuse one read transaction (reset, renew), the documented idiom for many
// short reads, and each Reader's thread has its own. SetSync(true) clears MDB_NOSYNC: a
// commit then syncs the data file and writes the meta page through LMDB's O_DSYNC
// descriptor.
#include <lmdb.h>

#include <algorithm>

#include "bench/store.h"

namespace ptdb {
namespace bench {
namespace {

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

std::string_view View(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

// One thread's read transaction, reset and renewed around each get: the documented idiom
// for many short reads. LMDB gives each thread its own reader slot.
class ReadTxn {
 public:
  ~ReadTxn() { Abort(); }
  // The record of `key` in *v (valid until the next call), or an LMDB error code.
  int Get(MDB_env* env, MDB_dbi dbi, std::string_view key, MDB_val* v) {
    int rc;
    if (txn_ == nullptr) {
      rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn_);
      if (rc != 0) txn_ = nullptr;
    } else {
      End();
      rc = mdb_txn_renew(txn_);
    }
    if (rc != 0) return rc;
    live_ = true;
    MDB_val k = Val(key);
    return mdb_get(txn_, dbi, &k, v);
  }
  // A write transaction may not start while this thread's read transaction is live.
  void End() {
    if (live_) mdb_txn_reset(txn_);
    live_ = false;
  }
  void Abort() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
    txn_ = nullptr;
    live_ = false;
  }

 private:
  MDB_txn* txn_ = nullptr;
  bool live_ = false;
};

// Another thread's reads (find2t), through the same environment.
class LmdbReader : public Reader {
 public:
  LmdbReader(MDB_env* env, MDB_dbi dbi) : env_(env), dbi_(dbi) {}

  Result Fetch(std::string_view key, std::string* value) override {
    MDB_val v;
    const int rc = txn_.Get(env_, dbi_, key, &v);
    if (rc == MDB_NOTFOUND) return Result::kNoExist;
    if (rc != 0) return Fail(std::string("mdb_get: ") + mdb_strerror(rc));
    value->assign(View(v));
    return Result::kOk;
  }

 private:
  MDB_env* const env_;
  const MDB_dbi dbi_;
  ReadTxn txn_;
};

class LmdbStore : public Store {
 public:
  using Store::Store;
  ~LmdbStore() override { Close(); }

  Result Open() override {
    const uint64_t wanted = 16 * config().n * (config().key_size + config().value_size);
    const uint64_t map_size = std::max<uint64_t>(wanted, uint64_t{1} << 30);
    if (int rc = mdb_env_create(&env_)) return Fail("mdb_env_create", rc);
    if (int rc = mdb_env_set_mapsize(env_, map_size)) return Fail("mdb_env_set_mapsize", rc);
    if (int rc = mdb_env_open(env_, config().dir.c_str(), MDB_NOSYNC, 0600)) {
      return Fail("mdb_env_open", rc);
    }
    MDB_txn* txn;
    if (int rc = mdb_txn_begin(env_, nullptr, 0, &txn)) return Fail("mdb_txn_begin", rc);
    if (int rc = mdb_dbi_open(txn, nullptr, 0, &dbi_)) {
      mdb_txn_abort(txn);
      return Fail("mdb_dbi_open", rc);
    }
    if (int rc = mdb_txn_commit(txn)) return Fail("mdb_txn_commit", rc);
    return Result::kOk;
  }

  Result Insert(std::string_view key, std::string_view value) override {
    return Write([&](MDB_txn* txn) {
      MDB_val k = Val(key), v = Val(value);
      return mdb_put(txn, dbi_, &k, &v, MDB_NOOVERWRITE);
    });
  }

  Result Replace(std::string_view key, std::string_view value) override {
    return Write([&](MDB_txn* txn) {
      MDB_val k = Val(key), v = Val(value);
      return mdb_put(txn, dbi_, &k, &v, 0);
    });
  }

  Result TxBegin() override {
    if (user_txn_ != nullptr) return Fail("transaction already open");
    read_.End();
    if (int rc = mdb_txn_begin(env_, nullptr, 0, &user_txn_)) {
      user_txn_ = nullptr;
      return Fail("mdb_txn_begin", rc);
    }
    return Result::kOk;
  }

  Result TxCommit() override {
    if (user_txn_ == nullptr) return Fail("no transaction open");
    const int rc = mdb_txn_commit(user_txn_);
    user_txn_ = nullptr;
    return rc == 0 ? Result::kOk : Fail("mdb_txn_commit", rc);
  }

  Result SetSync(bool on) override {
    if (int rc = mdb_env_set_flags(env_, MDB_NOSYNC, on ? 0 : 1)) {
      return Fail("mdb_env_set_flags", rc);
    }
    return Result::kOk;
  }

  StoreTraits Traits() const override {
    StoreTraits traits = StoreTraits::DurableTransactions();
    traits.shared_reads = true;
    return traits;
  }

  std::unique_ptr<Reader> NewReader() override { return std::make_unique<LmdbReader>(env_, dbi_); }

  Result Fetch(std::string_view key, std::string_view* value) override {
    MDB_val v;
    const int rc = read_.Get(env_, dbi_, key, &v);
    if (rc == MDB_NOTFOUND) return Result::kNoExist;
    if (rc != 0) return Fail("mdb_get", rc);
    *value = View(v);
    return Result::kOk;
  }

  Result Delete(std::string_view key) override {
    return Write([&](MDB_txn* txn) {
      MDB_val k = Val(key);
      return mdb_del(txn, dbi_, &k, nullptr);
    });
  }

  // LMDB has no append: read, extend and rewrite inside one write transaction.
  Result Append(std::string_view key, std::string_view data) override {
    return Write([&](MDB_txn* txn) {
      MDB_val k = Val(key), v;
      if (int rc = mdb_get(txn, dbi_, &k, &v)) return rc;
      appended_.assign(View(v));
      appended_.append(data);
      v = Val(appended_);
      return mdb_put(txn, dbi_, &k, &v, 0);
    });
  }

  Result Traverse(TraverseTally* tally) override {
    read_.End();
    MDB_txn* txn;
    if (int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn)) return Fail("mdb_txn_begin", rc);
    MDB_cursor* cursor;
    int rc = mdb_cursor_open(txn, dbi_, &cursor);
    if (rc == 0) {
      MDB_val k, v;
      while ((rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) == 0) tally->Visit(View(k), View(v));
      mdb_cursor_close(cursor);
    }
    mdb_txn_abort(txn);
    return rc == MDB_NOTFOUND ? Result::kOk : Fail("mdb_cursor_get", rc);
  }

  void Close() override {
    if (env_ == nullptr) return;
    if (user_txn_ != nullptr) mdb_txn_abort(user_txn_);
    user_txn_ = nullptr;
    read_.Abort();
    mdb_env_close(env_);
    env_ = nullptr;
  }

  std::string Backend() const override { return "lmdb"; }

 private:
  using Store::Fail;
  Result Fail(const char* call, int rc) {
    return Fail(std::string(call) + ": " + mdb_strerror(rc));
  }

  // One write transaction around op, committed if op returns 0; inside the caller's
  // transaction, op alone (a failed op leaves that transaction open, as in the other stores).
  template <typename Op>
  Result Write(Op op) {
    if (user_txn_ != nullptr) {
      const int rc = op(user_txn_);
      if (rc == MDB_NOTFOUND) return Result::kNoExist;
      if (rc == MDB_KEYEXIST) return Result::kExists;
      return rc == 0 ? Result::kOk : Fail("write", rc);
    }
    read_.End();
    MDB_txn* txn;
    if (int rc = mdb_txn_begin(env_, nullptr, 0, &txn)) return Fail("mdb_txn_begin", rc);
    const int rc = op(txn);
    if (rc != 0) {
      mdb_txn_abort(txn);
      if (rc == MDB_NOTFOUND) return Result::kNoExist;
      if (rc == MDB_KEYEXIST) return Result::kExists;
      return Fail("write", rc);
    }
    if (int commit_rc = mdb_txn_commit(txn)) return Fail("mdb_txn_commit", commit_rc);
    return Result::kOk;
  }

  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
  ReadTxn read_;                 // the store's own thread's (Fetch)
  MDB_txn* user_txn_ = nullptr;  // between TxBegin and TxCommit
  std::string appended_;
};

}  // namespace

std::unique_ptr<Store> MakeLmdbStore(const StoreConfig& config) {
  return std::make_unique<LmdbStore>(config);
}

}  // namespace bench
}  // namespace ptdb
