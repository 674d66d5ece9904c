// The registry of stores this build has (CMake defines PTDB_BENCH_WITH_<STORE> for each
// library it found), and the parts of Store every adapter shares.
#include <sys/stat.h>

#include <filesystem>
#include <utility>

#include "bench/store.h"

namespace ptdb {
namespace bench {

#ifdef PTDB_BENCH_WITH_PTDB
std::unique_ptr<Store> MakePtdbStore(const StoreConfig& config);
std::unique_ptr<Store> MakePtdbFcntlStore(const StoreConfig& config);
std::unique_ptr<Store> MakePtdbNolockStore(const StoreConfig& config);
#endif
#ifdef PTDB_BENCH_WITH_PMEM
std::unique_ptr<Store> MakePtdbPmemStore(const StoreConfig& config);
std::unique_ptr<Store> MakePmemHashStore(const StoreConfig& config);
#endif
#ifdef PTDB_BENCH_WITH_TDB
std::unique_ptr<Store> MakeTdbStore(const StoreConfig& config);
std::unique_ptr<Store> MakeTdbMutexStore(const StoreConfig& config);
std::unique_ptr<Store> MakeTdbNolockStore(const StoreConfig& config);
#endif
#ifdef PTDB_BENCH_WITH_LMDB
std::unique_ptr<Store> MakeLmdbStore(const StoreConfig& config);
#endif
#ifdef PTDB_BENCH_WITH_KYOTO
std::unique_ptr<Store> MakeKyotoStore(const StoreConfig& config);
#endif
#ifdef PTDB_BENCH_WITH_LEVELDB
std::unique_ptr<Store> MakeLevelDbStore(const StoreConfig& config);
#endif

namespace {

using Factory = std::unique_ptr<Store> (*)(const StoreConfig&);

const std::vector<std::pair<std::string, Factory>>& Registry() {
  static const std::vector<std::pair<std::string, Factory>> registry = {
#ifdef PTDB_BENCH_WITH_PTDB
      {"ptdb", MakePtdbStore},
      {"ptdb-fcntl", MakePtdbFcntlStore},
      {"ptdb-nolock", MakePtdbNolockStore},
#endif
#ifdef PTDB_BENCH_WITH_PMEM
      {"ptdb-pmem", MakePtdbPmemStore},
      {"pmem-hash", MakePmemHashStore},
#endif
#ifdef PTDB_BENCH_WITH_TDB
      {"tdb", MakeTdbStore},
      {"tdb-mutex", MakeTdbMutexStore},
      {"tdb-nolock", MakeTdbNolockStore},
#endif
#ifdef PTDB_BENCH_WITH_LMDB
      {"lmdb", MakeLmdbStore},
#endif
#ifdef PTDB_BENCH_WITH_KYOTO
      {"kyoto", MakeKyotoStore},
#endif
#ifdef PTDB_BENCH_WITH_LEVELDB
      {"leveldb", MakeLevelDbStore},
#endif
  };
  return registry;
}

}  // namespace

const char* ResultName(Result result) {
  switch (result) {
    case Result::kOk:
      return "ok";
    case Result::kNoExist:
      return "no such record";
    case Result::kExists:
      return "record exists";
    case Result::kError:
      return "error";
  }
  return "?";
}

std::vector<std::string> BuiltStores() {
  std::vector<std::string> names;
  for (const auto& entry : Registry()) names.push_back(entry.first);
  return names;
}

std::unique_ptr<Store> MakeStore(const std::string& name, const StoreConfig& config) {
  for (const auto& entry : Registry()) {
    if (entry.first == name) return entry.second(config);
  }
  return nullptr;
}

uint64_t Store::FileBytes() const {
  uint64_t bytes = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(config_.dir, ec)) {
    struct stat st;
    if (lstat(entry.path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      bytes += static_cast<uint64_t>(st.st_size);
    }
  }
  return bytes;
}

}  // namespace bench
}  // namespace ptdb
