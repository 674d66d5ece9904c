#include "pmem/pmem_storage.h"

#include <cerrno>
#include <cstring>

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
// Writes are logged in aligned blocks of this size (cut to their header or zone), one
// cache line. A call into libpmemobj's undo log costs ~1.3k instructions however small
// the range (it persists the entry with a fence), and each further line copied and
// flushed (into the log, then again at commit) a few hundred more; an operation's writes
// cluster (a record's header, key and data; a hash group; a zone's bucket heads), so a
// block logged once covers the writes that follow. Records written into fresh space need
// no block at all (pmem_fresh_space.h), so what is left per insert is three small
// writes far apart (a bucket head, a free record's old header, a hash slot): 256-byte
// blocks copied four lines for each (14.9k instructions per insert), 128 bytes 14.4k,
// 64 bytes 13.8k, with 3.4 calls per insert against 3.2 (callgrind, 50k inserts).
// Widening is safe while one transaction at a time changes the pool: the extra bytes
// are the database's own, and an abort only puts back what they held when the
// transaction began.
constexpr uintptr_t kSnapshotBlock = LoggedBlocks::kBlock;

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
  std::vector<Extent> found;
  for (PMEMoid oid = pmemobj_first(pop_); !OID_IS_NULL(oid); oid = pmemobj_next(oid)) {
    const uint64_t type = pmemobj_type_num(oid);
    if (type != pmem_layout::kZoneType) {
      return Err(Error::kCorrupt, "pool object at %llu has type %llu; a ptdb pool holds only zones",
                 (unsigned long long)oid.off, (unsigned long long)type);
    }
    found.push_back({oid.off, pmemobj_alloc_usable_size(oid) & ~(format::kRecordAlign - 1)});
  }
  std::sort(found.begin(), found.end(),
            [](const Extent& a, const Extent& b) { return a.off < b.off; });
  extents_.clear();
  first_extent_.clear();
  end_ = format::kHeaderSize;
  zone_bytes_ = 0;
  for (const Extent& e : found) AddExtent(e);
  // pmemobj_first lists only committed objects: none of these is the transaction's own.
  tx_zones_from_ = extents_.size();
  return Status::OK();
}

void PmemStorage::AddExtent(const Extent& e) {
  extents_.push_back(e);
  end_ = e.end();
  zone_bytes_ += e.len;
  // Pages up to the new end that no extent reached before: this one is the first to end
  // after them. (Pages with an earlier extent ending in them keep it.)
  const uint32_t index = uint32_t(extents_.size() - 1);
  const uint64_t last_page = (e.end() - 1) >> kPageShift;
  if (first_extent_.size() <= last_page) first_extent_.resize(last_page + 1, index);
}

Status PmemStorage::Allocate(uint64_t bytes, PMEMoid* oid, bool* full) {
  *full = false;
  errno = 0;
  // Not flushed whole at commit: only what the transaction writes into it is
  // (NewInThisTransaction), and the rest of its pages are faulted in as records fill it.
  *oid =
      pmemobj_tx_xalloc(bytes, pmem_layout::kZoneType, POBJ_XALLOC_NO_ABORT | POBJ_XALLOC_NO_FLUSH);
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
  // The header owns [0, kHeaderSize): a zone object there would make offsets ambiguous.
  // libpmemobj's metadata comes first in the pool, but that is not assumed: a zone lies
  // above the last one (off >= size() >= kHeaderSize), and records need 8-alignment.
  if (zone.off < format::kHeaderSize || zone.off % format::kRecordAlign != 0) {
    return Err(Error::kIo, "libpmemobj placed a zone object at pool offset %llu, unusable",
               (unsigned long long)zone.off);
  }
  AddExtent({zone.off, pmemobj_alloc_usable_size(zone) & ~(format::kRecordAlign - 1)});
  if (user_tx_) op_undo_.AddZone(zone);
  *added = extents_.back();
  return Status::OK();
}

Status PmemStorage::ReleaseFrom(uint64_t end) {
  if (pmemobj_tx_stage() != TX_STAGE_WORK) return OutsideTransaction(end, 0);
  std::vector<Extent> kept;
  Status st;
  for (const Extent& e : extents_) {
    if (e.off < end) {
      kept.push_back(e);
      continue;
    }
    op_released_ = user_tx_;
    if (pmemobj_tx_xfree(pmemobj_oid(base_ + e.off), POBJ_XFREE_NO_ABORT) != 0) {
      st = Err(Error::kIo, "cannot free the zone object at %llu: %s", (unsigned long long)e.off,
               pmemobj_errormsg());
      break;
    }
  }
  PTDB_RETURN_IF_ERROR(st);
  extents_.clear();
  first_extent_.clear();
  end_ = format::kHeaderSize;
  zone_bytes_ = 0;
  for (const Extent& e : kept) AddExtent(e);
  // Zones the transaction allocated may have moved down the list: those counted as
  // older are only logged as usual.
  tx_zones_from_ = std::min(tx_zones_from_, extents_.size());
  return Status::OK();
}

Status PmemStorage::BeginUserTransaction() {
  if (user_tx_) return Status(Error::kEinval, "a transaction is already open on this pool");
  if (pmemobj_tx_stage() != TX_STAGE_NONE) return OtherPoolTransaction();
  // No jmp_buf: errors come back as return values (and the stage), never as a longjmp.
  if (pmemobj_tx_begin(pop_, nullptr, TX_PARAM_NONE) != 0) {
    Status st = Err(Error::kIo, "cannot begin a pmemobj transaction: %s", pmemobj_errormsg());
    // A failed begin leaves the thread in the aborted stage until it is ended.
    if (pmemobj_tx_stage() != TX_STAGE_NONE) (void)pmemobj_tx_end();
    return st;
  }
  // As libpmemobj-cpp's flat transactions do: a failing libpmemobj call inside returns its
  // error instead of aborting the whole transaction, so one failed operation never costs
  // the user the operations before it.
  pmemobj_tx_set_failure_behavior(POBJ_TX_FAILURE_RETURN);
  BeginTracking();
  op_undo_.Clear();
  user_tx_ = op_tx_ = true;
  return Status::OK();
}

Status PmemStorage::CommitUserTransaction() {
  if (!user_tx_) return Status(Error::kEinval, "no transaction to commit");
  Status st = UserTransactionAborted("nothing was committed");
  // The commit flushes every logged block and every zone allocated, then drops the undo
  // log: from here a crash keeps all of the transaction. The records written into fresh
  // space, which it does not know, must be durable before.
  if (st.ok()) {
    fresh_.Flush(pop_);
    pmemobj_tx_commit();
  }
  const int err = pmemobj_tx_end();
  if (st.ok() && err != 0) {
    st = Err(Error::kIo, "the pmemobj transaction did not commit: %s", std::strerror(err));
  }
  user_tx_ = op_tx_ = false;
  logged_.Clear();
  fresh_.Clear();
  op_undo_.Clear();
  return st;
}

void PmemStorage::AbortUserTransaction() {
  if (!user_tx_) return;
  // Replays the undo log (every write since Begin) and frees the zones allocated since.
  if (pmemobj_tx_stage() == TX_STAGE_WORK) pmemobj_tx_abort(ECANCELED);
  (void)pmemobj_tx_end();
  user_tx_ = op_tx_ = false;
  logged_.Clear();
  fresh_.Clear();
  op_undo_.Clear();
}

Status PmemStorage::UserTransactionAborted(const char* what) const {
  if (!user_tx_ || pmemobj_tx_stage() == TX_STAGE_WORK) return Status::OK();
  const int err = pmemobj_tx_errno();
  return Err(err == ENOMEM ? Error::kOom : Error::kIo,
             "libpmemobj aborted the transaction (%s), undoing every change since "
             "transaction_start: %s",
             std::strerror(err), what);
}

Status PmemStorage::TakeBack(const Status& failure, const ExtentsMark& mark) {
  if (pmemobj_tx_stage() != TX_STAGE_WORK) {
    // Nothing of the transaction is left; its zones were freed with the rest.
    Status st = Rescan();
    Status aborted = UserTransactionAborted("cancel the transaction");
    return Err(aborted.code(), "%.*s; %.*s%s%.*s", int(failure.message().size()),
               failure.message().data(), int(aborted.message().size()), aborted.message().data(),
               st.ok() ? "" : "; then: ", int(st.message().size()), st.message().data());
  }
  Status st;
  if (op_released_) {
    st = Status(Error::kIo, "the operation had freed zone objects already");
  } else {
    op_undo_.RestoreWrites();
    for (const PMEMoid& zone : op_undo_.zones()) {
      if (pmemobj_tx_xfree(zone, POBJ_XFREE_NO_ABORT) != 0) {
        st = Err(Error::kIo, "cannot free a zone object: %s", pmemobj_errormsg());
        break;
      }
    }
  }
  if (!st.ok()) {
    // A zone object nobody links, or one freed for good, would stay: rather lose the
    // whole transaction.
    pmemobj_tx_abort(EIO);
    (void)Rescan();
    return Err(Error::kIo,
               "%.*s; taking the operation back failed (%.*s), so the transaction was "
               "aborted: cancel it",
               int(failure.message().size()), failure.message().data(), int(st.message().size()),
               st.message().data());
  }
  if (!op_undo_.zones().empty()) {
    extents_.resize(mark.extents);
    first_extent_.resize(mark.pages);
    end_ = mark.end;
    zone_bytes_ = mark.zone_bytes;
    // Blocks inside the freed zones must be logged again if a new zone reuses the space.
    logged_.Clear();
  }
  op_undo_.Clear();
  return failure;
}

Status PmemStorage::OtherPoolTransaction() const {
  return Status(Error::kEinval,
                "this thread has a transaction open on another pmem pool: libpmemobj allows a "
                "thread one transaction at a time");
}

Status PmemStorage::Snapshot(const Region& r, uint64_t off, size_t len) {
  if (pmemobj_tx_stage() != TX_STAGE_WORK) return OutsideTransaction(off, len);
  const uintptr_t a = reinterpret_cast<uintptr_t>(r.p);
  uint8_t* lo = std::max(r.lo, reinterpret_cast<uint8_t*>(a & ~(kSnapshotBlock - 1)));
  uint8_t* hi = std::min(
      r.hi, reinterpret_cast<uint8_t*>((a + len + kSnapshotBlock - 1) & ~(kSnapshotBlock - 1)));
  if (NewInThisTransaction(r)) {
    logged_.AddRange(lo, hi);
    fresh_.Written(lo, size_t(hi - lo));
    return Status::OK();
  }
  const int err = pmemobj_tx_xadd_range_direct(lo, size_t(hi - lo), POBJ_XADD_NO_ABORT);
  if (err != 0) return SnapshotFailed(off, len, err);
  if (stats_ != nullptr) stats_->logged_ranges++;
  logged_.AddRange(lo, hi);
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

Status PmemStorage::SnapshotFailed(uint64_t off, size_t len, int err) const {
  return Err(err == ENOMEM ? Error::kOom : Error::kIo,
             "cannot add %zu bytes at %llu to the transaction's undo log%s: %s", len,
             (unsigned long long)off,
             err == ENOMEM ? " (the operation is too large for the pool's free space)" : "",
             pmemobj_errormsg());
}

}  // namespace ptdb
