// Opening a pmem database: the options a pool cannot honour, the pool itself, then either
// a new database built in one transaction or the existing header validated.
#include <fcntl.h>

#include <algorithm>

#include "common/format.h"
#include "common/hash.h"
#include "common/header_checks.h"
#include "pmem/pmem_backend.h"
#include "pmem/pmem_layout.h"
#include "pmem/pmem_pool.h"

namespace ptdb {
namespace {

// The first zone's minimum; Grow rounds it up to its smallest zone.
constexpr uint64_t kFirstZoneSize = 8192;

// What a file database offers and a pool cannot: each is refused, not ignored, so a
// caller relying on it finds out at once (docs/pmem.md, "Differences").
Status CheckPmemOptions(const std::string& name, const Options& o) {
  const char* why = nullptr;
  if (o.flags & kInternal) {
    why = "kInternal databases live in memory and have no pool";
  } else if (o.flags & kNoMmap) {
    why = "a pmem pool is always mapped; kNoMmap does not apply";
  } else if (o.open_hook) {
    why = "a pmem pool has no file descriptor to give an open hook";
  } else if (o.lock_hooks.lock || o.lock_hooks.unlock) {
    why = "libpmemobj locks a pool itself (one process at a time); lock hooks do not apply";
  } else if (o.lock_mode != LockMode::kDefault) {
    why = "lock_mode is for file databases; libpmemobj locks a pool itself";
  }
  if (why == nullptr) return Status::OK();
  return Err(Error::kEinval, "%s: %s", name.c_str(), why);
}

// True if the pool's root holds no database yet: its creation was cut short before the
// transaction that writes the header committed.
bool Uninitialized(const format::Header& h, const PmemStorage& s) {
  const char* p = reinterpret_cast<const char*>(&h);
  return s.Extents().empty() &&
         std::all_of(p, p + sizeof(h.magic_food), [](char c) { return c == 0; });
}

}  // namespace

Status PmemBackend::Open(const std::string& name, const Options& options, StatCounters* stats,
                         unsigned* flags, std::unique_ptr<Backend>* out) {
  PTDB_RETURN_IF_ERROR(CheckPmemOptions(name, options));
  const bool writable = (options.open_flags & O_ACCMODE) == O_RDWR;
  const bool create = (options.open_flags & O_CREAT) != 0;
  PMEMobjpool* pop = nullptr;
  bool created = false;
  PTDB_RETURN_IF_ERROR(OpenPool(name, options, &pop, &created));
  std::unique_ptr<PmemStorage> storage;
  PTDB_RETURN_IF_ERROR(PmemStorage::Open(pop, created || (create && writable), &storage));

  HashConfig hash;
  hash.fn = options.hash;
  format::Header h;
  PTDB_RETURN_IF_ERROR(ReadStruct(storage.get(), 0, &h));
  if (created || Uninitialized(h, *storage)) {
    if (!(create && writable)) {
      return Err(Error::kCorrupt,
                 "%s holds no database (its creation was cut short); open it with O_CREAT and "
                 "O_RDWR to create one",
                 name.c_str());
    }
    hash.seed = options.seed ? *options.seed : RandomHashSeed();
    PmemStorage* s = storage.get();
    PTDB_RETURN_IF_ERROR(s->Transaction([&] {
      Extent first;
      PTDB_RETURN_IF_ERROR(s->Grow(kFirstZoneSize, &first));
      return InitializeDatabase(s, hash, 0, first, stats);
    }));
  } else {
    hash.seed = h.hash_seed;
    PTDB_RETURN_IF_ERROR(ValidateHeader(h, hash, name));
    // A pool's first zone may lie anywhere after the header: libpmemobj places the zones.
    if (h.first_zone < format::kHeaderSize) {
      return Err(Error::kCorrupt, "%s: first zone at %llu, inside the header", name.c_str(),
                 (unsigned long long)h.first_zone);
    }
    PTDB_RETURN_IF_ERROR(ApplyCapabilities(storage.get(), h.capabilities, writable, flags, name));
    // A writer that does not know a feature clears its bit (design: "Extending The Header").
    if (writable && (h.features_used & ~format::kFeaturesKnown)) {
      PmemStorage* s = storage.get();
      PTDB_RETURN_IF_ERROR(s->Transaction([&] {
        return WriteWord(s, offsetof(format::Header, features_used),
                         h.features_used & format::kFeaturesKnown);
      }));
    }
  }
  std::unique_ptr<PmemBackend> b(
      new PmemBackend(std::move(storage), hash, stats, (options.flags & kNoLock) == 0));
  PTDB_RETURN_IF_ERROR(b->engine_.Load());
  *out = std::move(b);
  return Status::OK();
}

}  // namespace ptdb
