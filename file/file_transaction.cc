#include "file/file_transaction.h"

#include <algorithm>
#include <bitset>
#include <mutex>
#include <vector>

#include "common/format.h"
#include "common/space_io.h"

namespace ptdb {
namespace {

constexpr LockId kTransactionLock{LockKind::kTransaction, 0};
constexpr LockId kAllRecordLock{LockKind::kAllRecord, 0};
constexpr uint64_t kAreaAlign = 4096;
// What End keeps of a bundle's buffer: the 64 pages an overlay keeps, with their entries.
constexpr size_t kKeptBundleBytes = 64 * (TxOverlay::kPageSize + 32);

std::mutex& FactoryMutex() {
  static auto* mu = new std::mutex;
  return *mu;
}
CommitIoFactory& Factory() {
  static auto* factory = new CommitIoFactory;
  return *factory;
}

// Another CommitIo's failed sync counts as the file's own (FileStorage::Sync notes those).
class SyncFailureNoting final : public CommitIo {
 public:
  SyncFailureNoting(FileStorage* file, std::unique_ptr<CommitIo> io)
      : file_(file), io_(std::move(io)) {}
  Status Read(uint64_t off, size_t len, void* buf) override { return io_->Read(off, len, buf); }
  Status Write(uint64_t off, const void* data, size_t len) override {
    return io_->Write(off, data, len);
  }
  Status Sync() override {
    Status st = io_->Sync();
    if (!st.ok()) file_->NoteSyncFailed();
    return st;
  }
  Status Extend(uint64_t size) override { return io_->Extend(size); }
  uint64_t Size() override { return io_->Size(); }

 private:
  FileStorage* const file_;
  const std::unique_ptr<CommitIo> io_;
};

uint64_t AlignUp(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

}  // namespace

void SetCommitIoFactoryForTesting(CommitIoFactory factory) {
  std::lock_guard<std::mutex> g(FactoryMutex());
  Factory() = std::move(factory);
}

std::unique_ptr<CommitIo> MakeCommitIo(FileStorage* file) {
  std::lock_guard<std::mutex> g(FactoryMutex());
  if (Factory()) return std::make_unique<SyncFailureNoting>(file, Factory()(file));
  return std::make_unique<FileCommitIo>(file);
}

FileTransaction::~FileTransaction() {
  if (active()) (void)Cancel();
}

Status FileTransaction::Start() {
  LockSet* locks = view_->locks();
  const void* owner = view_->owner();
  PTDB_RETURN_IF_ERROR(view_->file()->CheckNoSyncFailed());
  PTDB_RETURN_IF_ERROR(view_->RecoverIfPending());
  if (locks != nullptr) {
    if (locks->HoldsAny(owner)) {
      return Err(Error::kLock,
                 "a transaction cannot start while this handle holds locks "
                 "(a chainlock or lockall)");
    }
    PTDB_RETURN_IF_ERROR(locks->Lock(owner, kTransactionLock, LockType::kWrite));
    Status st = view_->RepairAfterDeadCommitter();
    // Close the gate, then take every group once: a plain writer already inside one
    // finishes first, and every later one sees the gate and waits for our lock.
    if (st.ok()) st = view_->WriteFileWord(offsetof(format::Header, tx_gate), 1);
    if (st.ok()) st = locks->Sweep();
    if (!st.ok()) {
      (void)view_->WriteFileWord(offsetof(format::Header, tx_gate), 0);
      (void)locks->Unlock(owner, kTransactionLock, LockType::kWrite);
      return st;
    }
  }
  FileStorage* fs = view_->file();
  // Not fs->Refresh(), a system call per transaction (4% of a 10-record one): bytes
  // past the space matter only to Grow and ChooseArea, which look for them.
  PTDB_RETURN_IF_ERROR(view_->RefreshIfGrown());
  if (spare_ != nullptr) {
    overlay_ = std::move(spare_);
    overlay_->Reset(fs->size());
  } else {
    overlay_ = std::make_unique<TxOverlay>(
        fs->size(),
        [fs](uint64_t off, size_t len, void* buf) {
          if (uint8_t* base = fs->base()) {
            std::memcpy(buf, base + off, len);
            return Status::OK();
          }
          const void* p;
          return fs->PRead(off, len, buf, &p);
        },
        [fs]() -> const uint8_t* { return fs->base(); });
  }
  prepared_ = false;
  view_->set_transaction(overlay_.get());
  return Status::OK();
}

Status FileTransaction::BuildBundle() {
  // The number is part of the transaction's own changes, so replaying it restores it.
  uint64_t last;
  PTDB_RETURN_IF_ERROR(ReadWord(view_, offsetof(format::Header, tx_counter), &last));
  counter_ = last + 1;
  PTDB_RETURN_IF_ERROR(WriteWord(view_, offsetof(format::Header, tx_counter), counter_));
  // Room for what most commits need (a run's bytes, its 16-byte entry, padding, and a
  // run or two per dirty page); a bigger bundle only grows the buffer.
  BundleWriter writer(counter_,
                      sizeof(BundleHeader) + overlay_->dirty_pages() * (TxOverlay::kPageSize + 32),
                      std::move(bundle_.bytes));
  PTDB_RETURN_IF_ERROR(overlay_->ForEachChange([&](uint64_t off, const uint8_t* p, size_t len) {
    writer.Add(off, p, len);
    return Status::OK();
  }));
  bundle_.counter = counter_;
  bundle_.new_size = overlay_->size();
  bundle_.bytes = writer.Finish(bundle_.new_size);
  return Status::OK();
}

Status FileTransaction::ChooseArea(CommitIo* io, uint64_t counter, uint64_t len, uint64_t* area) {
  // After the space as this transaction leaves it, and clear of the previous bundle,
  // which recovery may still need until our sync.
  uint64_t end;
  PTDB_RETURN_IF_ERROR(ReadWord(view_, offsetof(format::Header, space_end), &end));
  if (end == 0) end = overlay_->size();
  uint64_t prev;
  PTDB_RETURN_IF_ERROR(
      view_->ReadFileWord(offsetof(format::Header, recovery) + 8 * ((counter - 1) % 2), &prev));
  // The previous bundle matters only until it is known applied. After that its area may
  // hold records (the first plain write retires it, and later ones may grow the zones
  // over it), whose bytes can look like anything, a bundle's magic included.
  uint64_t replayed;
  PTDB_RETURN_IF_ERROR(view_->ReadFileWord(offsetof(format::Header, tx_replayed), &replayed));
  if (replayed >= counter - 1) prev = 0;
  uint64_t prev_end = prev;
  // Another process's bundle may lie past the size this one knows.
  if (prev != 0 && prev + sizeof(BundleHeader) > view_->file()->size()) {
    PTDB_RETURN_IF_ERROR(view_->file()->Refresh());
  }
  if (prev != 0 && prev + sizeof(BundleHeader) <= view_->file()->size()) {
    BundleHeader h;
    PTDB_RETURN_IF_ERROR(io->Read(prev, sizeof(h), &h));
    // Not retired, so no plain write has come since the previous commit wrote it;
    // checked anyway, so that bytes which are not its bundle never move ours.
    if (h.magic == kBundleMagic && h.counter == counter - 1 &&
        h.len <= view_->file()->size() - prev) {
      prev_end = prev + h.len;
    }
  }
  uint64_t at = AlignUp(end, kAreaAlign);
  if (prev != 0 && at < prev_end && at + len > prev) at = AlignUp(prev_end, kAreaAlign);
  *area = at;
  return Status::OK();
}

bool FileTransaction::NeedsBundle() const {
  return overlay_->dirty_pages() > 0 && !view_->file()->memory();
}

Status FileTransaction::Prepare(bool nosync) {
  if (!active()) return Err(Error::kEinval, "no transaction to prepare");
  if (prepared_ || !NeedsBundle()) return Prepare(nosync, nullptr);
  return Prepare(nosync, MakeCommitIo(view_->file()).get());
}

Status FileTransaction::Prepare(bool nosync, CommitIo* io) {
  if (prepared_) return Status::OK();
  if (!NeedsBundle()) {
    prepared_ = true;  // nothing to make durable
    return Status::OK();
  }
  // Our sync would not cover pages an earlier failed one lost, and Apply would then drop
  // the previous bundle, the only copy of them.
  PTDB_RETURN_IF_ERROR(view_->file()->CheckNoSyncFailed());
  PTDB_RETURN_IF_ERROR(BuildBundle());
  uint64_t area;
  PTDB_RETURN_IF_ERROR(ChooseArea(io, counter_, bundle_.bytes.size(), &area));
  PTDB_RETURN_IF_ERROR(io->Extend(area + bundle_.bytes.size()));
  // From the first byte written, a cancel must make sure this bundle is never replayed.
  bundle_area_ = area;
  PTDB_RETURN_IF_ERROR(io->Write(area, bundle_.bytes.data(), bundle_.bytes.size()));
  const uint64_t slot = offsetof(format::Header, recovery) + 8 * (counter_ % 2);
  PTDB_RETURN_IF_ERROR(io->Write(slot, &area, sizeof(area)));
  // The one sync: the bundle is durable from here, and so is everything the previous
  // commit applied in place.
  if (!nosync) {
    PTDB_RETURN_IF_ERROR(io->Sync());
    (*stats_).syncs++;
  }
  prepared_ = true;
  return Status::OK();
}

Status FileTransaction::LockForApply(const unsigned* groups, size_t n) {
  LockSet* locks = view_->locks();
  const void* owner = view_->owner();
  if (n == 0) return locks->Lock(owner, kAllRecordLock, LockType::kWrite);
  return locks->LockGroups(owner, groups, n, LockType::kWrite);
}

Status FileTransaction::UnlockAfterApply(const unsigned* groups, size_t n) {
  LockSet* locks = view_->locks();
  const void* owner = view_->owner();
  if (n == 0) return locks->Unlock(owner, kAllRecordLock, LockType::kWrite);
  return locks->UnlockGroups(owner, groups, n, LockType::kWrite);
}

Status FileTransaction::Apply(CommitIo* io, bool* started) {
  *started = false;
  LockSet* locks = view_->locks();
  const void* owner = view_->owner();
  // Readers see the old state or the new one, never a mix: they wait while we apply.
  // With mutexes, only readers of the groups the transaction changed: a mutex each costs
  // less than the 128 of the allrecord lock, and no one reads anything else the bundle
  // writes (free records and zones, header words) under a group lock. Empty: allrecord.
  // On the stack: allocating a vector cost more than filling it.
  unsigned groups[format::kTopGroups];
  size_t n = 0;
  uint64_t mask[format::kTopGroups / 64] = {};
  std::bitset<format::kTopGroups> changed;
  if (locks != nullptr && locks->FewGroupsCheaperThanAll() && !locks->HoldsRecordLocks(owner) &&
      view_->TxChangedGroups(&changed)) {
    const std::bitset<format::kTopGroups> word_bits(~uint64_t(0));
    for (unsigned w = 0; w < format::kTopGroups / 64; w++) {
      mask[w] = ((changed >> (64 * w)) & word_bits).to_ullong();
      for (uint64_t bits = mask[w]; bits != 0; bits &= bits - 1) {
        groups[n++] = 64 * w + unsigned(__builtin_ctzll(bits));
      }
    }
  }
  // Read-only transactions see no change at all until they end: we wait for them.
  ReadTxLock* ro = view_->read_tx();
  while (locks != nullptr) {
    PTDB_RETURN_IF_ERROR(LockForApply(groups, n));
    if (ro == nullptr || !ro->ReadersPresent()) break;
    PTDB_RETURN_IF_ERROR(UnlockAfterApply(groups, n));
    PTDB_RETURN_IF_ERROR(ro->WaitForReaders());
  }
  // A reader holding a group not in `mask` reads on (FileView::AfterFreshReadLock).
  *started = true;
  Status st = MarkApplying(io, mask, counter_);
  // The sync in Prepare made the previous commit's in-place writes durable, so its bundle
  // is needed no more. Its slot goes before our runs, which may put records over its
  // area (this transaction's growth): after a crash, their bytes must not pass for a
  // bundle.
  const uint64_t none = 0;
  if (st.ok()) {
    st = io->Write(offsetof(format::Header, recovery) + 8 * ((counter_ - 1) % 2), &none,
                   sizeof(none));
  }
  if (st.ok()) st = ApplyBundle(io, bundle_);
  if (st.ok()) {
    const uint64_t zero = 0;
    st = io->Write(offsetof(format::Header, tx_applying), &zero, sizeof(zero));
  }
  if (!st.ok()) {
    // The bundle is durable, so the transaction is committed whatever happens now; a
    // half-applied one must not stay visible. Replaying the bundle finishes the job (and
    // a caller told of a failure might run the transaction again). If even that fails,
    // Commit leaves the writer gate closed, and the next writer or opener replays it.
    int replayed;
    const Status replay = RecoverFile(io, true, &replayed);
    st = replay.ok() ? Status::OK()
                     : Err(replay.code(),
                           "the transaction is committed but not yet in place (%.*s; replaying "
                           "it: %.*s): the next writer or opener of the file applies it",
                           int(st.message().size()), st.message().data(),
                           int(replay.message().size()), replay.message().data());
  }
  if (locks != nullptr) {
    Status un = UnlockAfterApply(groups, n);
    if (st.ok()) st = un;
  }
  return st;
}

Status FileTransaction::Commit(bool nosync) {
  if (!active()) return Err(Error::kEinval, "no transaction to commit");
  // One I/O object for the bundle's write and its application.
  std::unique_ptr<CommitIo> io = NeedsBundle() ? MakeCommitIo(view_->file()) : nullptr;
  Status st = Prepare(nosync, io.get());
  if (!st.ok()) {
    const Status cancel = Cancel();
    if (cancel.ok()) return st;
    return Err(st.code(), "%.*s; and then: %.*s", int(st.message().size()), st.message().data(),
               int(cancel.message().size()), cancel.message().data());
  }
  if (view_->file()->memory()) {
    // No crash to survive: copy the changes in.
    FileCommitIo io(view_->file());
    if (overlay_->size() > view_->file()->size()) st = io.Extend(overlay_->size());
    if (st.ok()) {
      st = overlay_->ForEachChange(
          [&](uint64_t off, const uint8_t* p, size_t len) { return io.Write(off, p, len); });
    }
  } else if (overlay_->dirty_pages() > 0) {
    bool started;
    st = Apply(io.get(), &started);
    if (!st.ok() && !started) {
      // Not a byte of it reached the database (a lock failed): the transaction did not
      // happen, and recovery must not make it happen later.
      const Status cancel = Cancel();
      if (cancel.ok()) return st;
      return Err(st.code(),
                 "%.*s; and its durable bundle could not be forgotten (%.*s): the next "
                 "writer or opener may still apply it",
                 int(st.message().size()), st.message().data(), int(cancel.message().size()),
                 cancel.message().data());
    }
    if (!st.ok()) {
      // Committed, not in place: the gate stays closed, so the next writer (this handle
      // included) recovers before it writes anything the replay would then undo.
      (void)End(/*bundle_pending=*/true);
      return st;
    }
  }
  if (st.ok()) (*stats_).transactions++;
  Status end = End();
  return st.ok() ? end : st;
}

Status FileTransaction::Cancel() {
  if (!active()) return Err(Error::kEinval, "no transaction to cancel");
  (*stats_).transaction_cancels++;
  // A bundle written by Prepare (or by a commit that failed after it) must never be
  // replayed: recovery would apply a transaction the caller was told did not happen.
  Status st = bundle_area_ != 0 ? ForgetBundle() : Status::OK();
  // A bundle that could not be forgotten may be replayed: as after a commit that could
  // not finish, the next writer must recover first.
  if (!st.ok()) {
    st = Err(st.code(),
             "the transaction's bundle could not be forgotten (%.*s): the next writer or "
             "opener may still apply it",
             int(st.message().size()), st.message().data());
  }
  Status end = End(/*bundle_pending=*/!st.ok());
  if (st.ok()) st = end;
  // The engine cached zones and free-list hints from the dropped changes.
  Status reload = reload_();
  return st.ok() ? reload : st;
}

Status FileTransaction::ForgetBundle() {
  std::unique_ptr<CommitIo> io = MakeCommitIo(view_->file());
  const uint64_t zero = 0;
  // Only our own bytes: the area is past the space this transaction ends, and the slot
  // is cleared only if it names it (a failed Prepare may have left it naming the area of
  // transaction N - 2, which live records may use by now). Synced even after a no-sync
  // prepare: the kernel may have written the bundle back on its own.
  PTDB_RETURN_IF_ERROR(io->Write(bundle_area_, &zero, sizeof(zero)));  // its magic
  const uint64_t slot = offsetof(format::Header, recovery) + 8 * (counter_ % 2);
  uint64_t named = 0;
  PTDB_RETURN_IF_ERROR(io->Read(slot, sizeof(named), &named));
  if (named == bundle_area_) PTDB_RETURN_IF_ERROR(io->Write(slot, &zero, sizeof(zero)));
  return io->Sync();
}

Status FileTransaction::End(bool bundle_pending) {
  view_->set_transaction(nullptr);
  // Emptied now (a bulk load's pages go at once), kept for the next transaction.
  overlay_->Reset(0);
  spare_ = std::move(overlay_);
  // The bundle's buffer is kept for the next commit, unless a big one grew it.
  bundle_.counter = bundle_.new_size = 0;
  bundle_.bytes.Release(kKeptBundleBytes);
  prepared_ = false;
  counter_ = 0;
  bundle_area_ = 0;
  LockSet* locks = view_->locks();
  if (locks == nullptr) {
    // No gate without locks: the handle, the file's one user, recovers at its next lock,
    // and retires a commit's bundle at its next plain write.
    if (bundle_pending) {
      view_->set_recovery_pending();
    } else {
      view_->set_retire_pending();
    }
    return Status::OK();
  }
  Status st =
      bundle_pending ? Status::OK() : view_->WriteFileWord(offsetof(format::Header, tx_gate), 0);
  Status un = locks->Unlock(view_->owner(), kTransactionLock, LockType::kWrite);
  return st.ok() ? un : st;
}

}  // namespace ptdb
