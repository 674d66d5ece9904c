#include "pmem/pmem_storage.h"

#include <cerrno>

#include "pmem/pmem_layout.h"

namespace ptdb {
namespace {

// Zone objects grow with the space, as a file does (file/file_storage.cc): geometric, so
// a million records need a few dozen zones, but bounded, so a nearly full pool still
// finds room for one.
constexpr uint64_t kMinGrowth = 256 << 10;
constexpr uint64_t kMaxGrowth = 64 << 20;
// libpmemobj's heap hands out 256 KiB chunks. An object of whole chunks (less the 16-byte
// header libpmemobj puts before it) is placed chunk after chunk, upwards; smaller sizes
// come from runs, which reserve several chunks per size class and fill few of them (zones
// of 64-450 KiB filled a 64 MiB pool after 6 MB). So zones are whole chunks.
constexpr uint64_t kChunk = 256 << 10;
constexpr uint64_t kObjectHeader = 16;
// How many allocations below the last zone Grow sets aside before it gives up (see Grow).
constexpr int kMaxLowAllocations = 8;

uint64_t RoundUp(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

// The request that gives an object of at least `bytes` in whole chunks.
uint64_t ChunkedRequest(uint64_t bytes) {
  return RoundUp(bytes + kObjectHeader, kChunk) - kObjectHeader;
}

}  // namespace

Status PmemStorage::Open(PMEMobjpool* pop, bool may_create_root,
                         std::unique_ptr<PmemStorage>* out) {
  std::unique_ptr<PmemStorage> s(new PmemStorage(pop));
  // Only a pool being created may get its root now: anything else with a root of another
  // size (or none) is not ours to change.
  const size_t have = pmemobj_root_size(pop);
  if (have == 0 && !may_create_root) {
    return Status(Error::kCorrupt,
                  "the pool holds no ptdb root object (its creation was cut short); open it with "
                  "O_CREAT and O_RDWR to create a database in it");
  }
  if (have != 0 && have != pmem_layout::kRootSize) {
    return Err(Error::kCorrupt, "the pool's root object has %zu bytes, not a ptdb root's %zu", have,
               pmem_layout::kRootSize);
  }
  const PMEMoid root = pmemobj_root(pop, pmem_layout::kRootSize);
  if (OID_IS_NULL(root)) {
    return Err(Error::kOom, "cannot allocate the pool's root object: %s", pmemobj_errormsg());
  }
  // Pool offsets are linear in the mapping: the root's address less its offset is the base.
  s->base_ = static_cast<uint8_t*>(pmemobj_direct(root)) - root.off;
  s->header_ = s->base_ + root.off + pmem_layout::HeaderInRoot(root.off);
  PTDB_RETURN_IF_ERROR(s->Rescan());
  *out = std::move(s);
  return Status::OK();
}

PmemStorage::~PmemStorage() { pmemobj_close(pop_); }

Status PmemStorage::Rescan() {
  extents_.clear();
  zone_bytes_ = 0;
  for (PMEMoid oid = pmemobj_first(pop_); !OID_IS_NULL(oid); oid = pmemobj_next(oid)) {
    const uint64_t type = pmemobj_type_num(oid);
    if (type != pmem_layout::kZoneType) {
      return Err(Error::kCorrupt, "pool object at %llu has type %llu; a ptdb pool holds only zones",
                 (unsigned long long)oid.off, (unsigned long long)type);
    }
    const uint64_t len = pmemobj_alloc_usable_size(oid) & ~(format::kRecordAlign - 1);
    extents_.push_back({oid.off, len});
    zone_bytes_ += len;
  }
  std::sort(extents_.begin(), extents_.end(),
            [](const Extent& a, const Extent& b) { return a.off < b.off; });
  return Status::OK();
}

Status PmemStorage::Allocate(uint64_t bytes, PMEMoid* oid, bool* full) {
  *full = false;
  errno = 0;
  *oid = pmemobj_tx_xalloc(bytes, pmem_layout::kZoneType, POBJ_XALLOC_NO_ABORT);
  if (!OID_IS_NULL(*oid)) return Status::OK();
  if (errno == ENOMEM) {
    *full = true;
    return Status::OK();
  }
  return Err(Error::kIo, "cannot allocate a zone of %llu bytes in the pool: %s",
             (unsigned long long)bytes, pmemobj_errormsg());
}

// The engine links a new zone after the last one, and zones must come in address order,
// so a zone object must lie above every other. libpmemobj usually allocates upwards, but
// a hole left below (e.g. by an undo log it freed) can take a new object. Such an object
// is kept allocated while we ask again, so the next answer lies elsewhere, and freed
// afterwards; all of it inside the caller's transaction.
Status PmemStorage::Grow(uint64_t min_bytes, Extent* added) {
  if (pmemobj_tx_stage() != TX_STAGE_WORK) return OutsideTransaction(size(), min_bytes);
  const uint64_t step = std::clamp<uint64_t>(zone_bytes_ / 8, kMinGrowth, kMaxGrowth);
  const uint64_t wanted[] = {ChunkedRequest(std::max(min_bytes, step)), ChunkedRequest(min_bytes)};
  std::vector<PMEMoid> low;
  PMEMoid zone = OID_NULL;
  Status st;
  for (uint64_t bytes : wanted) {
    while (st.ok() && OID_IS_NULL(zone) && low.size() < size_t(kMaxLowAllocations)) {
      PMEMoid oid;
      bool full;
      st = Allocate(bytes, &oid, &full);
      if (!st.ok() || full) break;
      if (oid.off >= size()) {
        zone = oid;
      } else {
        low.push_back(oid);
      }
    }
    if (!st.ok() || !OID_IS_NULL(zone)) break;
  }
  for (const PMEMoid& oid : low) {
    if (pmemobj_tx_xfree(oid, POBJ_XFREE_NO_ABORT) != 0 && st.ok()) {
      st = Err(Error::kIo, "cannot free a zone object: %s", pmemobj_errormsg());
    }
  }
  PTDB_RETURN_IF_ERROR(st);
  if (OID_IS_NULL(zone)) {
    return Err(Error::kOom, "the pool is full: no room for a zone of %llu bytes%s",
               (unsigned long long)min_bytes, low.empty() ? "" : " above the database's last zone");
  }
  // The header owns [0, kHeaderSize) and records are 8-aligned: an object anywhere else
  // would make offsets ambiguous. libpmemobj's metadata comes first, but check.
  if (zone.off < format::kHeaderSize || zone.off % format::kRecordAlign != 0) {
    return Err(Error::kIo, "libpmemobj placed a zone object at pool offset %llu, unusable",
               (unsigned long long)zone.off);
  }
  const uint64_t len = pmemobj_alloc_usable_size(zone) & ~(format::kRecordAlign - 1);
  extents_.push_back({zone.off, len});
  zone_bytes_ += len;
  *added = extents_.back();
  return Status::OK();
}

Status PmemStorage::OutOfBounds(uint64_t off, size_t len) const {
  return Err(Error::kCorrupt,
             "access to %zu bytes at %llu is outside the database's header and zones", len,
             (unsigned long long)off);
}

Status PmemStorage::OutsideTransaction(uint64_t off, size_t len) const {
  return Err(Error::kIo, "change of %zu bytes at %llu outside a pmemobj transaction", len,
             (unsigned long long)off);
}

Status PmemStorage::SnapshotFailed(uint64_t off, size_t len) const {
  const int err = errno;
  return Err(err == ENOMEM ? Error::kOom : Error::kIo,
             "cannot add %zu bytes at %llu to the transaction's undo log%s: %s", len,
             (unsigned long long)off,
             err == ENOMEM ? " (the operation is too large for the pool's free space)" : "",
             pmemobj_errormsg());
}

}  // namespace ptdb
