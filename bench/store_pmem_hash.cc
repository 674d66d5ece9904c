// The floor under any store built on libpmemobj transactions: the smallest chained hash
// table that keeps everything in a pool and makes every write one pmemobj transaction.
// Not a product (no resizing, no checks of what it reads); it measures what PMDK's
// transaction machinery costs per operation, which ptdb's pmem backend pays too.
//
// Layout: the root names an array of 2^ceil(log2 N) bucket heads (pool offsets); a
// record is one object {next, key size, value size, key, value}, pushed at its bucket's
// head. Insert, delete and append are each one transaction (the C API's functions; no
// TX_* macros in C++); append replaces the record by a larger one. Reads go straight to
// the pool. Emulated pmem, as the ptdb-pmem store (pmem_env.h).
#include <libpmemobj.h>

#include <cerrno>
#include <cstring>
#include <functional>

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
    return Result::kOk;
  }

  Result Insert(std::string_view key, std::string_view value) override {
    uint64_t* head = &buckets_[Bucket(key)];
    if (Find(head, key) != nullptr) return Result::kExists;
    if (!Begin()) return Result::kError;
    uint64_t off;
    if (!NewRecord(key, value, {}, *head, &off) || !Link(head, off)) return Abort("insert");
    return Commit() ? Result::kOk : Result::kError;
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
    if (pop_ != nullptr) pmemobj_close(pop_);
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
    if (pmemobj_tx_add_range_direct(link, sizeof(*link)) != 0) return false;
    *link = off;
    return true;
  }

  bool Begin() {
    if (pmemobj_tx_begin(pop_, nullptr, TX_PARAM_NONE) == 0) return true;
    Fail(std::string("pmemobj_tx_begin: ") + pmemobj_errormsg());
    pmemobj_tx_end();
    return false;
  }
  bool Commit() {
    pmemobj_tx_commit();
    const int err = pmemobj_tx_end();
    if (err == 0) return true;
    Fail(std::string("pmemobj transaction: ") + std::strerror(err));
    return false;
  }
  Result Abort(const char* what) {
    const std::string why = pmemobj_errormsg();
    if (pmemobj_tx_stage() == TX_STAGE_WORK) pmemobj_tx_abort(ECANCELED);
    pmemobj_tx_end();
    return Fail(std::string(what) + ": " + why);
  }

  PMEMobjpool* pop_ = nullptr;
  char* base_ = nullptr;
  uint64_t* buckets_ = nullptr;
  uint64_t mask_ = 0;
  std::string backend_;
};

}  // namespace

std::unique_ptr<Store> MakePmemHashStore(const StoreConfig& config) {
  return std::make_unique<PmemHashStore>(config);
}

}  // namespace bench
}  // namespace ptdb
