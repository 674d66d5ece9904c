// ptdb's pmem backend through the public API: the database in a libpmemobj pool in the
// run's directory (emulated pmem, pmem_env.h). kNoLock: one process has a pool
// (libpmemobj's lock), and the handle's own mutex still orders the threads that share it.
//
// Transactions are the pool's user transactions (one libpmemobj transaction from start
// to commit). A commit always persists (cache flushes; kNoSync changes nothing), so the
// tx10-nosync and bulk phases run; tx10-durable does not: a pool on the disk directory
// is not pmem, and the emulation's cache flushes make nothing durable there.
//
// A pool does not grow, so it is sized for the workload up front. The database takes what
// a file database takes (156 MB for 1M records of 16 + 100 bytes); on top come
// libpmemobj's ~5 MiB of lanes and heap metadata and room for undo logs. Every phase ran
// at N = 1M in a pool with 56 bytes per record over the data; 70 leaves 14 MB spare.
#include <fcntl.h>

#include "bench/pmem_env.h"
#include "bench/store_db.h"

namespace ptdb {
namespace bench {
namespace {

constexpr uint64_t kPoolSlack = 32ULL << 20;
constexpr uint64_t kPoolOverheadPerRecord = 70;

class PtdbPmemStore : public DbStore {
 public:
  using DbStore::DbStore;

  Result Open() override {
    backend_ = UseEmulatedPmem();
    Options options;
    options.flags = kNoLock;
    options.backend = BackendKind::kPmem;
    options.open_flags = O_RDWR | O_CREAT | O_TRUNC;
    options.pool_size = kPoolSlack + config().n * (kPoolOverheadPerRecord + config().key_size +
                                                   config().value_size);
    return OpenDb(config().dir + "/bench.pool", options);
  }

  StoreTraits Traits() const override {
    StoreTraits traits;
    traits.transactions = true;
    traits.shared_reads = true;
    return traits;
  }

  std::string Backend() const override { return backend_; }

 private:
  std::string backend_;
};

}  // namespace

std::unique_ptr<Store> MakePtdbPmemStore(const StoreConfig& config) {
  return std::make_unique<PtdbPmemStore>(config);
}

}  // namespace bench
}  // namespace ptdb
