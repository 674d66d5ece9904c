// The floor under any store built on libpmemobj transactions: the smallest chained hash
// table that keeps everything in a pool and makes every write one pmemobj transaction.
// Not a product (no resizing, no checks of what it reads); it measures what PMDK's
// transaction machinery costs per operation, which ptdb's pmem backend pays too.
//
// Layout: the root names an array of 2^ceil(log2 N) bucket heads (pool offsets); a
// record is one object {next, key size, value size, key, value}, pushed at its bucket's
// head. Insert, delete and append are each one transaction (the C API's functions; no
// TX_* macros in C++); append replaces the record by a larger one, and replace with a
// value of the same size overwrites it in place. Reads go straight to the pool. Emulated
// pmem, as the ptdb-pmem store (pmem_env.h).
//
// Transactions, as a hand-rolled PMDK store would do them: TxBegin begins one libpmemobj
// transaction (no jmp_buf, failures returned) and every write until TxCommit runs inside
// it, without a nested level of its own. libpmemobj has no savepoints, so a write that
// fails inside it aborts the whole transaction and TxCommit reports that nothing was
// committed. A commit always persists (cache flushes); there is nothing more to sync, so
// SetSync changes nothing and the store does not claim durability (pmem_env.h).
#include <libpmemobj.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "bench/pmem_env.h"
#include "bench/store.h"

namespace ptdb {
namespace bench {
namespace {

constexpr char kLayout[] = "ptdb-bench-pmem-hash";
constexpr uint64_t kRecordType = 2;
constexpr uint64_t kBucketsType = 1;
// Per record: the object (24-byte head + key + value) and libpmemobj's header and rounding.
constexpr uint64_t kPoolOverheadPerRecord = 96;
constexpr uint64_t kPoolSlack = 48ULL << 20;
// 256 bytes of bucket heads: a few cache lines, as ptdb-pmem's logged blocks.
constexpr uint64_t kHeadsPerBlock = 32;

struct Root {
  uint64_t nbuckets;
  uint64_t buckets;  // pool offset of uint64_t[nbuckets]
};

struct Record {
  uint64_t next;  // pool offset, 0 ends the chain
  uint32_t key_size;
  uint32_t value_size;
  char data[];  // key, then value
};

class PmemHashStore : public Store {
 public:
  using Store::Store;
  ~PmemHashStore() override { Close(); }

  Result Open() override {
    backend_ = UseEmulatedPmem();
    uint64_t nbuckets = 1;
    while (nbuckets < config().n) nbuckets <<= 1;
    const uint64_t size =
        kPoolSlack + nbuckets * 8 +
        config().n * (kPoolOverheadPerRecord + config().key_size + config().value_size);
    const std::string path = config().dir + "/hash.pool";
    pop_ = pmemobj_create(path.c_str(), kLayout, size, 0600);
    if (pop_ == nullptr) return Fail("pmemobj_create " + path + ": " + pmemobj_errormsg());
    base_ = reinterpret_cast<char*>(pop_);
    const PMEMoid root_oid = pmemobj_root(pop_, sizeof(Root));
    if (OID_IS_NULL(root_oid)) return Fail(std::string("pmemobj_root: ") + pmemobj_errormsg());
    Root* root = static_cast<Root*>(pmemobj_direct(root_oid));
    if (!Begin()) return Result::kError;
    const PMEMoid buckets = pmemobj_tx_zalloc(nbuckets * 8, kBucketsType);
    if (OID_IS_NULL(buckets) || pmemobj_tx_add_range_direct(root, sizeof(Root)) != 0) {
      return Abort("allocating the buckets");
    }
    root->nbuckets = nbuckets;
    root->buckets = buckets.off;
    if (!Commit()) return Result::kError;
    buckets_ = reinterpret_cast<uint64_t*>(base_ + root->buckets);
    mask_ = nbuckets - 1;
    logged_.assign((nbuckets + kHeadsPerBlock - 1) / kHeadsPerBlock, false);
    return Result::kOk;
  }

  Result Insert(std::string_view key, std::string_view value) override {
    uint64_t* head = &buckets_[Bucket(key)];
    if (Find(head, key) != nullptr) return Result::kExists;
    return Push(head, key, value);
  }

  Result Replace(std::string_view key, std::string_view value) override {
    uint64_t* head = &buckets_[Bucket(key)];
    uint64_t* link = Find(head, key);
    if (link == nullptr) return Push(head, key, value);
    const uint64_t old = *link;
    Record* r = At(old);
    if (!Begin()) return Result::kError;
    if (r->value_size == value.size()) {
      char* bytes = r->data + r->key_size;
      if (pmemobj_tx_add_range_direct(bytes, value.size()) != 0) return Abort("replace");
      std::memcpy(bytes, value.data(), value.size());
    } else {
      uint64_t off;
      if (!NewRecord(key, value, {}, r->next, &off) || !Link(link, off) ||
          pmemobj_tx_free(Oid(old)) != 0) {
        return Abort("replace");
      }
    }
    return Commit() ? Result::kOk : Result::kError;
  }

  Result TxBegin() override {
    if (in_tx_) return Fail("TxBegin inside a transaction");
    if (!BeginOutermost()) return Result::kError;
    in_tx_ = true;
    return Result::kOk;
  }

  Result TxCommit() override {
    if (!in_tx_) return Fail("TxCommit outside a transaction");
    in_tx_ = false;
    ForgetLoggedBlocks();
    return Commit() ? Result::kOk : Result::kError;
  }

  // Every commit persists already: nothing to turn on or off.
  Result SetSync(bool) override { return Result::kOk; }

  StoreTraits Traits() const override {
    StoreTraits traits;
    traits.transactions = true;
    return traits;
  }

  Result Fetch(std::string_view key, std::string_view* value) override {
    uint64_t* link = Find(&buckets_[Bucket(key)], key);
    if (link == nullptr) return Result::kNoExist;
    const Record* r = At(*link);
    *value = std::string_view(r->data + r->key_size, r->value_size);
    return Result::kOk;
  }

  Result Delete(std::string_view key) override {
    uint64_t* link = Find(&buckets_[Bucket(key)], key);
    if (link == nullptr) return Result::kNoExist;
    const uint64_t victim = *link;
    if (!Begin()) return Result::kError;
    if (!Link(link, At(victim)->next) || pmemobj_tx_free(Oid(victim)) != 0) return Abort("delete");
    return Commit() ? Result::kOk : Result::kError;
  }

  Result Append(std::string_view key, std::string_view data) override {
    uint64_t* link = Find(&buckets_[Bucket(key)], key);
    if (link == nullptr) return Insert(key, data);
    const uint64_t old = *link;
    const Record* r = At(old);
    if (!Begin()) return Result::kError;
    uint64_t off;
    if (!NewRecord(key, std::string_view(r->data + r->key_size, r->value_size), data, r->next,
                   &off) ||
        !Link(link, off) || pmemobj_tx_free(Oid(old)) != 0) {
      return Abort("append");
    }
    return Commit() ? Result::kOk : Result::kError;
  }

  Result Traverse(TraverseTally* tally) override {
    for (uint64_t b = 0; b <= mask_; ++b) {
      for (uint64_t off = buckets_[b]; off != 0;) {
        const Record* r = At(off);
        tally->Visit(std::string_view(r->data, r->key_size),
                     std::string_view(r->data + r->key_size, r->value_size));
        off = r->next;
      }
    }
    return Result::kOk;
  }

  void Close() override {
    if (pop_ == nullptr) return;
    // A transaction left open is cancelled, as closing a database mid-transaction does.
    if (in_tx_) {
      if (pmemobj_tx_stage() == TX_STAGE_WORK) pmemobj_tx_abort(ECANCELED);
      pmemobj_tx_end();
      in_tx_ = false;
      ForgetLoggedBlocks();
    }
    pmemobj_close(pop_);
    pop_ = nullptr;
  }

  std::string Backend() const override { return backend_; }

 private:
  uint64_t Bucket(std::string_view key) const { return std::hash<std::string_view>{}(key)&mask_; }
  Record* At(uint64_t off) const { return reinterpret_cast<Record*>(base_ + off); }
  PMEMoid Oid(uint64_t off) const { return PMEMoid{pmemobj_oid(pop_).pool_uuid_lo, off}; }

  // The link (bucket head or a record's next) that points at key's record, or null.
  uint64_t* Find(uint64_t* link, std::string_view key) const {
    for (; *link != 0; link = &At(*link)->next) {
      const Record* r = At(*link);
      if (r->key_size == key.size() && std::memcmp(r->data, key.data(), key.size()) == 0) {
        return link;
      }
    }
    return nullptr;
  }

  // A new record of key and value1 + value2 in the transaction. A fresh object needs no
  // snapshot: an abort frees it, and the commit flushes it.
  bool NewRecord(std::string_view key, std::string_view value1, std::string_view value2,
                 uint64_t next, uint64_t* off) {
    const size_t value_size = value1.size() + value2.size();
    const PMEMoid oid = pmemobj_tx_alloc(sizeof(Record) + key.size() + value_size, kRecordType);
    if (OID_IS_NULL(oid)) return false;
    Record* r = At(oid.off);
    r->next = next;
    r->key_size = uint32_t(key.size());
    r->value_size = uint32_t(value_size);
    std::memcpy(r->data, key.data(), key.size());
    std::memcpy(r->data + key.size(), value1.data(), value1.size());
    std::memcpy(r->data + key.size() + value1.size(), value2.data(), value2.size());
    *off = oid.off;
    return true;
  }

  bool Link(uint64_t* link, uint64_t off) {
    if (!LogLink(link)) return false;
    *link = off;
    return true;
  }

  // Puts a link's old value in the undo log. Inside TxBegin/TxCommit a bucket head is
  // logged with its whole block of kHeadsPerBlock heads, once: libpmemobj looks every
  // range up in a tree of the transaction's ranges, which for a bulk load's million
  // separate 8-byte ranges cost more than the rest of the insert (bulk at 1M: 213k
  // records/s with exact ranges, 380k with blocks). A record's next link stays exact.
  bool LogLink(uint64_t* link) {
    const uintptr_t at = reinterpret_cast<uintptr_t>(link);
    const uintptr_t heads_start = reinterpret_cast<uintptr_t>(buckets_);
    if (!in_tx_ || at < heads_start || at >= heads_start + (mask_ + 1) * sizeof(*link)) {
      return pmemobj_tx_add_range_direct(link, sizeof(*link)) == 0;
    }
    const uint64_t block = (at - heads_start) / sizeof(*link) / kHeadsPerBlock;
    if (logged_[block]) return true;
    const uint64_t first = block * kHeadsPerBlock;
    const uint64_t heads = std::min(kHeadsPerBlock, mask_ + 1 - first);
    if (pmemobj_tx_add_range_direct(&buckets_[first], heads * sizeof(*link)) != 0) return false;
    logged_[block] = true;
    logged_blocks_.push_back(block);
    return true;
  }
  void ForgetLoggedBlocks() {
    for (const uint64_t block : logged_blocks_) logged_[block] = false;
    logged_blocks_.clear();
  }

  // A new record for key at the head of its chain.
  Result Push(uint64_t* head, std::string_view key, std::string_view value) {
    if (!Begin()) return Result::kError;
    uint64_t off;
    if (!NewRecord(key, value, {}, *head, &off) || !Link(head, off)) return Abort("insert");
    return Commit() ? Result::kOk : Result::kError;
  }

  // One write's transaction: its own, or the user's (then Commit does nothing).
  bool Begin() {
    if (!in_tx_) return BeginOutermost();
    if (pmemobj_tx_stage() == TX_STAGE_WORK) return true;
    Fail("the transaction was aborted by an earlier failure");
    return false;
  }
  bool BeginOutermost() {
    if (pmemobj_tx_begin(pop_, nullptr, TX_PARAM_NONE) != 0) {
      Fail(std::string("pmemobj_tx_begin: ") + pmemobj_errormsg());
      pmemobj_tx_end();
      return false;
    }
    // As libpmemobj-cpp's flat transactions: a failing call returns its error instead of
    // aborting the transaction behind the caller's back.
    pmemobj_tx_set_failure_behavior(POBJ_TX_FAILURE_RETURN);
    return true;
  }
  bool Commit() {
    if (in_tx_) return true;
    if (pmemobj_tx_stage() == TX_STAGE_WORK) pmemobj_tx_commit();
    const int err = pmemobj_tx_end();
    if (err == 0) return true;
    Fail(std::string("pmemobj transaction aborted, nothing committed: ") + std::strerror(err));
    return false;
  }
  // Aborts the write's transaction, which inside TxBegin/TxCommit is the user's: the
  // writes before this one are lost too, and TxCommit ends it with an error.
  Result Abort(const char* what) {
    const std::string why = pmemobj_errormsg();
    if (pmemobj_tx_stage() == TX_STAGE_WORK) pmemobj_tx_abort(ECANCELED);
    if (!in_tx_) pmemobj_tx_end();
    return Fail(std::string(what) + ": " + why);
  }

  PMEMobjpool* pop_ = nullptr;
  char* base_ = nullptr;
  uint64_t* buckets_ = nullptr;
  uint64_t mask_ = 0;
  bool in_tx_ = false;  // between TxBegin and TxCommit
  // The bucket-head blocks the user transaction has logged, as flags and as a list.
  std::vector<bool> logged_;
  std::vector<uint64_t> logged_blocks_;
  std::string backend_;
};

}  // namespace

std::unique_ptr<Store> MakePmemHashStore(const StoreConfig& config) {
  return std::make_unique<PmemHashStore>(config);
}

}  // namespace bench
}  // namespace ptdb
