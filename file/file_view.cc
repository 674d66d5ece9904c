#include "file/file_view.h"

#include <algorithm>
#include <iterator>

#include "common/fence.h"
#include "common/space_io.h"
#include "file/commit_io.h"
#include "file/file_transaction.h"
#include "file/recovery.h"

namespace ptdb {
namespace {

// A growth costs about 0.5-0.8 ms per MiB on tmpfs (the kernel allocates and zeroes
// every page, then maps it), paid by the one operation that grows: 1 MiB keeps that pause
// under a millisecond however big the file is (64 MiB made a 10-record commit that grew
// wait 16 ms on a 156 MB file; 4 MiB, 3 ms, and added 2.7 us to each of the bench's 1,000
// 10-record commits). The price is more zones, each growth adding one: allocation passes
// over the full ones (a lock and a read of 56 list heads each) once per growth, ~160
// zones at 1M records, which inserts did not notice.
constexpr uint64_t kMinGrowth = 64 << 10;
constexpr uint64_t kMaxGrowth = 1 << 20;
constexpr uint64_t kPage = 4096;

constexpr LockId kTransactionLock{LockKind::kTransaction, 0};
constexpr LockId kAllRecordLock{LockKind::kAllRecord, 0};

}  // namespace

// Header words shared by every handle and process (the transaction words, seqnum):
// through the mapping they are read and written as single atomic words, as other
// threads of this process may write them at the same moment (writers in two hash
// groups both retiring a bundle write the same value).
Status FileView::ReadFileWordSlow(size_t field, uint64_t* v) {
  if (!Inside(field, sizeof(*v))) PTDB_RETURN_IF_ERROR(Recheck(field, sizeof(*v)));
  if (use_map_) {
    *v = __atomic_load_n(reinterpret_cast<uint64_t*>(fs_->base() + field), __ATOMIC_ACQUIRE);
    return Status::OK();
  }
  const void* p;
  PTDB_RETURN_IF_ERROR(fs_->PRead(field, sizeof(*v), v, &p));
  return Status::OK();
}

Status FileView::WriteFileWord(size_t field, uint64_t v) {
  if (!Inside(field, sizeof(v))) PTDB_RETURN_IF_ERROR(Recheck(field, sizeof(v)));
  if (use_map_) {
    __atomic_store_n(reinterpret_cast<uint64_t*>(fs_->base() + field), v, __ATOMIC_RELEASE);
    return Status::OK();
  }
  return fs_->PWrite(field, &v, sizeof(v));
}

Status FileView::Grow(uint64_t min_bytes, Extent* added) {
  if (!fs_->writable()) return Err(Error::kRdonly, "cannot grow a read-only database");
  uint64_t end;
  PTDB_RETURN_IF_ERROR(ReadWord(this, offsetof(format::Header, space_end), &end));
  if (end == 0) end = size();
  const uint64_t space = end - std::min(end, fs_->space_start());
  const uint64_t step = std::clamp<uint64_t>(space / 8, kMinGrowth, kMaxGrowth);
  const uint64_t grow = (std::max(min_bytes, step) + kPage - 1) / kPage * kPage;
  const uint64_t new_end = end + grow;
  if (new_end >= format::kOffsetLimit) return Err(Error::kOom, "database would exceed 2^56 bytes");
  if (tx_ != nullptr) {
    // Only the transaction sees the new space until it commits. The space it takes may
    // hold another process's last recovery bundle, written past the space after this
    // transaction began: the overlay must compare the new space with those bytes, not
    // with zeros, or a word the transaction writes as zero would keep the bundle's.
    PTDB_RETURN_IF_ERROR(fs_->Refresh());
    tx_->SeeFileSize(fs_->size());
    if (new_end > tx_->size()) tx_->Grow(new_end);
    PTDB_RETURN_IF_ERROR(WriteWord(this, offsetof(format::Header, space_end), new_end));
  } else {
    PTDB_RETURN_IF_ERROR(fs_->ExtendTo(new_end));
    // Read by lockers in other threads (RefreshIfGrown): one atomic word.
    PTDB_RETURN_IF_ERROR(WriteFileWord(offsetof(format::Header, space_end), new_end));
  }
  *added = {end, grow};
  return Status::OK();
}

Status FileView::EndSpaceAt(uint64_t end) {
  if (tx_ != nullptr) return WriteWord(this, offsetof(format::Header, space_end), end);
  return WriteFileWord(offsetof(format::Header, space_end), end);
}

std::vector<Extent> FileView::Extents() {
  uint64_t end = 0;
  if (!ReadWord(this, offsetof(format::Header, space_end), &end).ok() || end == 0) end = size();
  end = std::min(end, size());
  if (end <= fs_->space_start()) return {};
  return {Extent{fs_->space_start(), end - fs_->space_start()}};
}

Status FileView::LockSlow(LockId id, LockType type) {
  if (tx_ == nullptr) PTDB_RETURN_IF_ERROR(RecoverIfPending());
  if (locks_ == nullptr && tx_ == nullptr && retire_pending_ && type == LockType::kWrite) {
    PTDB_RETURN_IF_ERROR(RetireLastCommit());
    retire_pending_ = false;
  }
  if (locks_ == nullptr || StagedAlone(id)) {
    NoteTxWriteLock(id, type);
    return Status::OK();
  }
  return Acquire(id, type);
}

Status FileView::Acquire(LockId id, LockType type) {
  NoteTxWriteLock(id, type);
  if (locks_ == nullptr) return Status::OK();
  const bool guards_records = id.kind == LockKind::kHashGroup || id.kind == LockKind::kAllRecord;
  // Whether the lock is new to this thread matters only for the locks that guard records
  // (a free-zone lock, taken by every allocation, skips the search).
  const bool fresh = guards_records && !locks_->Holds(owner_, id);
  if (tx_ == nullptr && fresh && type == LockType::kWrite) return LockForPlainWrite(id);
  PTDB_RETURN_IF_ERROR(locks_->Lock(owner_, id, type));
  if (tx_ != nullptr || !fresh) return Status::OK();
  return AfterFreshReadLock(id, type);
}

bool FileView::ApplyMayChange(unsigned group) {
  uint64_t words[format::kTopGroups / 64];
  for (unsigned w = 0; w < std::size(words); w++) {
    if (!ReadFileWord(offsetof(format::Header, tx_apply_groups) + 8 * w, &words[w]).ok()) {
      return true;
    }
  }
  if (std::all_of(std::begin(words), std::end(words), [](uint64_t v) { return v == 0; })) {
    return true;
  }
  return (words[group / 64] >> (group % 64)) & 1;
}

Status FileView::AfterFreshReadLock(LockId id, LockType type) {
  // A committer applies in place holding the locks of the groups it changes (or the
  // allrecord lock); if we hold one of those and the header still says "applying", the
  // committer died: recover before reading. A group it does not change is whole.
  uint64_t applying;
  Status st = ReadFileWord(offsetof(format::Header, tx_applying), &applying);
  if (st.ok() && applying == 0) return RefreshIfGrown();
  if (st.ok() && id.kind == LockKind::kHashGroup && !ApplyMayChange(id.index)) {
    return RefreshIfGrown();
  }
  (void)locks_->Unlock(owner_, id, type);
  PTDB_RETURN_IF_ERROR(st);
  if (locks_->HoldsAny(owner_)) {
    return Err(Error::kLock,
               "a committing process died; release your locks so it can be "
               "recovered");
  }
  PTDB_RETURN_IF_ERROR(locks_->Lock(owner_, kTransactionLock, LockType::kWrite));
  st = RepairAfterDeadCommitter();
  Status un = locks_->Unlock(owner_, kTransactionLock, LockType::kWrite);
  PTDB_RETURN_IF_ERROR(st);
  PTDB_RETURN_IF_ERROR(un);
  PTDB_RETURN_IF_ERROR(locks_->Lock(owner_, id, type));
  return RefreshIfGrown();
}

Status FileView::RefreshIfGrown() {
  // Another process may have grown the file since we mapped it; what it added is ours to
  // read from the moment we hold a lock that covers records.
  uint64_t end;
  PTDB_RETURN_IF_ERROR(ReadFileWord(offsetof(format::Header, space_end), &end));
  return end > fs_->size() ? fs_->Refresh() : Status::OK();
}

Status FileView::RetireLastCommit() {
  uint64_t counter = 0, replayed = 0;
  PTDB_RETURN_IF_ERROR(ReadFileWord(offsetof(format::Header, tx_counter), &counter));
  PTDB_RETURN_IF_ERROR(ReadFileWord(offsetof(format::Header, tx_replayed), &replayed));
  if (replayed >= counter) return Status::OK();
  // Marking the last commit replayed counts on a sync.
  PTDB_RETURN_IF_ERROR(fs_->CheckNoSyncFailed());
  // The commit applied its bundle in place without a sync; make that durable before
  // saying it needs no replay, or a power cut could keep the word and lose the commit.
  // Once per commit, on the first plain write after it.
  PTDB_RETURN_IF_ERROR(MakeCommitIo(fs_)->Sync());
  PTDB_RETURN_IF_ERROR(WriteFileWord(offsetof(format::Header, tx_replayed), counter));
  // Then the areas go: this write and later ones may grow the zones over them, and a
  // record's bytes there must never pass for a bundle (recovery.h).
  for (uint64_t slot = 0; slot < 2; slot++) {
    PTDB_RETURN_IF_ERROR(WriteFileWord(offsetof(format::Header, recovery) + 8 * slot, 0));
  }
  return Status::OK();
}

Status FileView::LockForPlainWrite(LockId id) {
  PTDB_RETURN_IF_ERROR(fs_->CheckNoSyncFailed());
  for (;;) {
    PTDB_RETURN_IF_ERROR(locks_->Lock(owner_, id, LockType::kWrite));
    // Pairs with the fence a transaction or reader makes between setting its flag and
    // sweeping: either it sees our lock taken, or we see its flag.
    FullFence();
    uint64_t gate = 0, applying = 0;
    Status st = ReadFileWord(offsetof(format::Header, tx_gate), &gate);
    if (st.ok()) st = ReadFileWord(offsetof(format::Header, tx_applying), &applying);
    // Readers in a read-only transaction must see nothing change until they end.
    const bool readers = st.ok() && ro_ != nullptr && ro_->ReadersPresent();
    if (st.ok() && gate == 0 && applying == 0 && !readers) {
      // The last commit's bundle must not be replayed over what we are about to write:
      // after a crash recovery would undo us (docs/transactions.md, "plain writes").
      st = RetireLastCommit();
      if (st.ok()) st = RefreshIfGrown();
      if (st.ok()) return st;
    }
    (void)locks_->Unlock(owner_, id, LockType::kWrite);
    PTDB_RETURN_IF_ERROR(st);
    // Asked only now, on the slow path: with `id` (fresh) given back, what we hold is
    // what we held before.
    if (locks_->HoldsAny(owner_)) {
      // Waiting for the transaction while holding a lock it may need could deadlock.
      return Err(Error::kLock, readers ? "a read-only transaction is in progress; release your "
                                         "locks and retry"
                                       : "a transaction is in progress; release your locks and "
                                         "retry");
    }
    if (readers) {
      PTDB_RETURN_IF_ERROR(ro_->WaitForReaders());
      continue;
    }
    // Wait for the transaction to end (its lock), then look again.
    PTDB_RETURN_IF_ERROR(locks_->Lock(owner_, kTransactionLock, LockType::kWrite));
    st = RepairAfterDeadCommitter();
    Status un = locks_->Unlock(owner_, kTransactionLock, LockType::kWrite);
    PTDB_RETURN_IF_ERROR(st);
    PTDB_RETURN_IF_ERROR(un);
  }
}

Status FileView::ReplayBundles() {
  // Replaying ends with a sync and marks the bundles replayed: not on a failed sync's word.
  PTDB_RETURN_IF_ERROR(fs_->CheckNoSyncFailed());
  // A bundle may lie past the size this process last saw.
  PTDB_RETURN_IF_ERROR(fs_->Refresh());
  FileCommitIo io(fs_);
  int replayed;
  return RecoverFile(&io, true, &replayed);
}

Status FileView::RecoverPending() {
  PTDB_RETURN_IF_ERROR(ReplayBundles());
  recovery_pending_ = false;
  return Status::OK();
}

Status FileView::RepairAfterDeadCommitter() {
  uint64_t applying, gate;
  PTDB_RETURN_IF_ERROR(ReadFileWord(offsetof(format::Header, tx_applying), &applying));
  PTDB_RETURN_IF_ERROR(ReadFileWord(offsetof(format::Header, tx_gate), &gate));
  if (applying == 0 && gate == 0) return Status::OK();
  if (!fs_->writable()) {
    return Err(Error::kCorrupt,
               "a process died while committing a transaction; open the "
               "database read-write once to recover it");
  }
  // Even with the gate closed and nothing applying, the dead committer may have made its
  // bundle durable: recovery would replay it some day, over whatever we write next, so
  // it is replayed now.
  PTDB_RETURN_IF_ERROR(locks_->Lock(owner_, kAllRecordLock, LockType::kWrite));
  Status st = ReplayBundles();
  Status un = locks_->Unlock(owner_, kAllRecordLock, LockType::kWrite);
  return st.ok() ? un : st;
}

}  // namespace ptdb
