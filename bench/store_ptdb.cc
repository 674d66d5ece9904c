// ptdb through its public API only, in three locking variants: "ptdb" (the default,
// LockMode::kMutex: robust process-shared mutexes), "ptdb-fcntl" (LockMode::kFcntl: fcntl
// byte-range locks, TDB2's layout) and "ptdb-nolock" (kNoLock: single user, like tdb's
// TDB_NOLOCK). The backend is the file with mmap (default), the file with pread/pwrite
// ("file-nommap"), or memory alone ("internal").
#include <fcntl.h>

#include "bench/store_db.h"

namespace ptdb {
namespace bench {
namespace {

enum class Locking { kMutex, kFcntl, kNone };

class PtdbStore : public DbStore {
 public:
  PtdbStore(const StoreConfig& config, Locking locking) : DbStore(config), locking_(locking) {}

  Result Open() override {
    Options options;
    // Commits start unsynced: SetSync(true) turns syncs on for the durable phases.
    options.flags = kNoSync;
    switch (locking_) {
      case Locking::kMutex:
        options.lock_mode = LockMode::kMutex;
        break;
      case Locking::kFcntl:
        options.lock_mode = LockMode::kFcntl;
        break;
      case Locking::kNone:
        options.flags |= kNoLock;
        break;
    }
    if (config().ptdb_backend == "file-nommap") {
      options.flags |= kNoMmap;
    } else if (config().ptdb_backend == "internal") {
      options.flags |= kInternal;
    } else if (config().ptdb_backend != "file") {
      return Fail("unknown ptdb backend " + config().ptdb_backend);
    }
    options.open_flags = config().create ? O_RDWR | O_CREAT | O_TRUNC : O_RDWR;
    return OpenDb(config().dir + "/bench.ptdb", options);
  }

  std::string Backend() const override { return config().ptdb_backend; }

  StoreTraits Traits() const override {
    StoreTraits traits;
    traits.transactions = true;
    // A memory-only database has nothing to sync and nothing another process could open.
    const bool file = config().ptdb_backend != "internal";
    traits.durable = file;
    traits.reopen = file;
    traits.multi_process = file && locking_ != Locking::kNone;
    traits.shared_reads = locking_ != Locking::kNone;
    return traits;
  }

 private:
  const Locking locking_;
};

}  // namespace

std::unique_ptr<Store> MakePtdbStore(const StoreConfig& config) {
  return std::make_unique<PtdbStore>(config, Locking::kMutex);
}

std::unique_ptr<Store> MakePtdbFcntlStore(const StoreConfig& config) {
  return std::make_unique<PtdbStore>(config, Locking::kFcntl);
}

std::unique_ptr<Store> MakePtdbNolockStore(const StoreConfig& config) {
  return std::make_unique<PtdbStore>(config, Locking::kNone);
}

}  // namespace bench
}  // namespace ptdb
