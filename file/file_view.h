// One handle's way into a shared FileStorage: the Storage the engine runs on
// (common/storage.h).
//
// Reads and writes go through the mapping unless this handle has kNoMmap (or the file
// could not be mapped). An access past the end this process knows of first asks whether
// another process grew the file, and only then is it corrupt. During a write transaction
// every access goes through its TxOverlay instead, so its changes stay private.
//
// Lock requests pass through here on their way to the LockSet, because two of them carry
// transaction duties (docs/transactions.md): a plain writer waits while a transaction
// holds the writer gate, and anyone who finds that a committer died mid-apply recovers
// the file before going on.
#ifndef PTDB_FILE_FILE_VIEW_H_
#define PTDB_FILE_FILE_VIEW_H_

#include <bitset>
#include <cstring>
#include <vector>

#include "common/fence.h"
#include "common/format.h"
#include "common/locks.h"
#include "common/prefetch.h"
#include "file/change_counts.h"
#include "file/file_storage.h"
#include "file/read_tx_lock.h"
#include "file/tx_overlay.h"

#if PTDB_TSAN
// ThreadSanitizer's dynamic annotations (its runtime defines them).
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
#endif

namespace ptdb {

class FileView {
 public:
  // locks is null for a handle that takes no locks (kNoLock, kInternal).
  FileView(FileStorage* storage, LockSet* locks, const void* owner)
      : fs_(storage), locks_(locks), owner_(owner), use_map_(storage->base() != nullptr) {
    UpdateDirect();
  }

  // The common case, a mapped range outside a transaction, is a bounds check inlined
  // into the engine: a lookup makes half a dozen reads, and a call each was a sixth of it.
  // Always: left to itself, the compiler kept a call in the record compare.
  [[gnu::always_inline]] Status Read(uint64_t off, size_t len, void* buf, const void** out) {
    if (__builtin_expect(direct_ && Inside(off, len), 1)) {
      *out = fs_->base() + off;
      return Status::OK();
    }
    return ReadSlow(off, len, buf, out);
  }

  // The same for writes: most are single words (list links, slots), which inlined
  // become one store instead of a call and a call to memcpy.
  [[gnu::always_inline]] Status Write(uint64_t off, const void* src, size_t len) {
    if (__builtin_expect(direct_ && Inside(off, len), 1)) {
      std::memcpy(fs_->base() + off, src, len);
      return Status::OK();
    }
    return WriteSlow(off, src, len);
  }

  [[gnu::always_inline]] const uint8_t* Span(uint64_t off, uint64_t* avail) const {
    const uint64_t size = fs_->size();
    if (!direct_ || off >= size) return nullptr;
    *avail = size - off;
    return fs_->base() + off;
  }

  // The file's line, also during a transaction: a commit compares what it wrote with it.
  void Prefetch(uint64_t off) const {
    if (use_map_) PrefetchLine(fs_->base() + off);
  }

  const uint8_t* Peek(uint64_t off, size_t len) const {
    if (!use_map_) return nullptr;
    const uint8_t* file = Inside(off, len) ? fs_->base() : nullptr;
    if (tx_ == nullptr) return file != nullptr ? file + off : nullptr;
    return tx_->ReadInPlace(off, len, file);
  }

  // Adds space after the last zone (header.space_end), by at least min_bytes and by an
  // eighth of the space, so growth is geometric but the unused tail stays small.
  // REQUIRES: the expansion lock.
  Status Grow(uint64_t min_bytes, Extent* added);
  // [first zone, space_end): the zones; recovery areas may follow.
  std::vector<Extent> Extents();
  // Maps what another process added to the space (header.space_end) since this one last
  // looked. Costs a system call only when the space did grow; bytes past the space (a
  // commit's recovery area) are looked for only where they are needed.
  Status RefreshIfGrown();
  uint64_t size() const { return tx_ != nullptr ? tx_->size() : fs_->size(); }

  // The engine's locks (common/locks.h) for this handle; nothing when it takes none, nor
  // for a group or zone while a write transaction stages (StagedAlone). Inline for the
  // handle that takes no locks: every operation asks twice.
  Status Lock(LockId id, LockType type) {
    if (locks_ == nullptr && tx_ == nullptr && !recovery_pending_ &&
        (!retire_pending_ || type == LockType::kRead)) {
      return Status::OK();
    }
    return LockSlow(id, type);
  }
  Status Unlock(LockId id, LockType type) {
    if (locks_ == nullptr || StagedAlone(id)) return Status::OK();
    return locks_->Unlock(owner_, id, type);
  }
  // As Lock, always: the caller's own locks (chainlock, lockall) exclude others even
  // inside a transaction.
  Status Acquire(LockId id, LockType type);

  // Reads and writes through the mapping (mapping the file if needed), or not.
  Status SetMmap(bool on) {
    if (on && fs_->base() == nullptr) PTDB_RETURN_IF_ERROR(fs_->EnsureMapped());
    use_map_ = on && fs_->base() != nullptr;
    UpdateDirect();
    return Status::OK();
  }
  bool mapped() const { return use_map_; }
  FileStorage* file() const { return fs_; }
  void set_locks(LockSet* locks) { locks_ = locks; }
  LockSet* locks() const { return locks_; }
  const void* owner() const { return owner_; }

  // Reading a hash group without its lock (Engine::Fetch and Exists): Begin gives the
  // group's change count when this handle may (a file whose writers keep the counts,
  // read through the mapping, outside a transaction, holding no locks) and no one is
  // changing the group now. Valid tells whether the bytes read since are whole:
  // no writer took the group meanwhile, and no writer that keeps no counts came.
  bool BeginUnlockedRead(unsigned group, uint64_t* count) const {
    if (counts_ == nullptr || !direct_ || !CountsKept() || locks_->HoldsAny(owner_)) {
      return false;
    }
    if (!counts_->BeginRead(group, count)) return false;
    IgnoreRacyReads(true);
    return true;
  }
  bool UnlockedReadValid(unsigned group, uint64_t count) const {
    return counts_->ReadValid(group, count) && CountsKept();
  }
  void EndUnlockedRead() const { IgnoreRacyReads(false); }
  // The group's change count (storage.h): no one else writes while a NOLOCK handle is
  // open, and in a transaction the overlay is searched again (its writes take no locks).
  // REQUIRES: the group's read lock, so the count is even unless a writer died inside.
  bool GroupChangeToken(unsigned group, uint64_t* token) const {
    if (locks_ == nullptr) {
      *token = 0;
      return true;
    }
    if (counts_ == nullptr || tx_ != nullptr || fs_->base() == nullptr || !CountsKept()) {
      return false;
    }
    return counts_->BeginRead(group, token);
  }
  // A handle without locks: the caller promised no other writer (engine.h walks the space
  // in address order then).
  bool OnlyTraverserWrites() const { return locks_ == nullptr; }
  // The file's change counts, or null: readers always lock.
  void set_change_counts(const ChangeCounts* counts) { counts_ = counts; }

  // A handle without locks after a commit whose bundle is durable but not in place
  // (locked handles leave the gate closed instead): its next lock, or transaction,
  // replays the bundle first, before anything it writes could be undone by that replay.
  void set_recovery_pending() { recovery_pending_ = true; }
  // A handle without locks after a commit: its next plain write retires the commit's
  // bundle first (RetireLastCommit), as a locked handle's does (LockForPlainWrite).
  void set_retire_pending() { retire_pending_ = true; }
  Status RecoverIfPending() {
    return __builtin_expect(recovery_pending_, 0) ? RecoverPending() : Status::OK();
  }

  // While set, reads and writes go through the transaction's overlay.
  void set_transaction(TxOverlay* tx) {
    tx_ = tx;
    UpdateDirect();
    tx_groups_.reset();
    tx_all_groups_ = false;
  }
  // The hash groups the transaction took write locks on to stage its changes: the only
  // groups whose bytes it changed. False when it may have changed any (it took the
  // allrecord lock).
  bool TxChangedGroups(std::bitset<format::kTopGroups>* groups) const {
    *groups = tx_groups_;
    return !tx_all_groups_;
  }
  // Read-only transactions to wait for before changing the file (null: none to respect).
  void set_read_tx(ReadTxLock* ro) { ro_ = ro; }
  ReadTxLock* read_tx() const { return ro_; }
  TxOverlay* transaction() const { return tx_; }

  // A word of the file's header as it is in the file (not in a transaction's overlay).
  // Through the mapping (every plain write's lock reads five): one atomic load.
  Status ReadFileWord(size_t field, uint64_t* v) {
    if (use_map_ && Inside(field, sizeof(*v))) {
      *v = __atomic_load_n(reinterpret_cast<uint64_t*>(fs_->base() + field), __ATOMIC_ACQUIRE);
      return Status::OK();
    }
    return ReadFileWordSlow(field, v);
  }
  Status WriteFileWord(size_t field, uint64_t v);

  // Brings the file to its last committed state if a committer died while applying or
  // left the writer gate closed. REQUIRES: the transaction lock.
  Status RepairAfterDeadCommitter();
  // Ends the space at `end` (a wipe kept only the first zone). The file itself is cut
  // later, when no other process can be using it (SharedFile::ShrinkIfAlone).
  Status EndSpaceAt(uint64_t end);
  // After taking a lock that covers records (not in a transaction): recovers the file if
  // a committer died applying, and maps what other processes added.
  Status AfterFreshReadLock(LockId id, LockType type);

 private:
  // A write transaction changes only its private overlay, and while it is open no one
  // else uses this handle (other threads are refused) or writes the file (the writer
  // gate): the groups and zones it stages in need no locks. Unless the caller holds that
  // lock (a chainlock inside the transaction), when the engine's lock must nest in it.
  bool StagedAlone(LockId id) const {
    return tx_ != nullptr && (id.kind == LockKind::kHashGroup || id.kind == LockKind::kFreeZone) &&
           (!LockSet::ThreadHoldsRecordLocks() || !locks_->Holds(owner_, id));
  }
  // Whether every writer so far kept the change counts: one that does not know them
  // clears the feature bit when it opens the file, before it writes anything.
  bool CountsKept() const {
    const uint64_t* features =
        reinterpret_cast<const uint64_t*>(fs_->base() + offsetof(format::Header, features_used));
    return __atomic_load_n(features, __ATOMIC_RELAXED) & format::kFeatureChangeCounts;
  }
  // An unlocked read races with writers by design, and its result is thrown away when
  // the change count moved: ThreadSanitizer is told not to report those reads. The
  // counts themselves are atomics it still checks.
  static void IgnoreRacyReads(bool on) {
#if PTDB_TSAN
    on ? AnnotateIgnoreReadsBegin(__FILE__, __LINE__) : AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
#else
    (void)on;
#endif
  }
  void UpdateDirect() { direct_ = tx_ == nullptr && use_map_; }
  void NoteTxWriteLock(LockId id, LockType type) {
    if (tx_ == nullptr || type != LockType::kWrite) return;
    if (id.kind == LockKind::kHashGroup) tx_groups_.set(id.index % format::kTopGroups);
    if (id.kind == LockKind::kAllRecord) tx_all_groups_ = true;
  }
  // Whether a commit applying now (header.tx_applying) may change the group's bytes.
  bool ApplyMayChange(unsigned group);
  Status LockSlow(LockId id, LockType type);
  [[gnu::noinline]] Status WriteSlow(uint64_t off, const void* src, size_t len) {
    if (tx_ != nullptr) {
      if (len > tx_->size() || off > tx_->size() - len) return fs_->OutOfBounds(off, len);
      return tx_->Write(off, src, len);
    }
    if (!Inside(off, len)) PTDB_RETURN_IF_ERROR(Recheck(off, len));
    if (use_map_) {
      std::memcpy(fs_->base() + off, src, len);
      return Status::OK();
    }
    return fs_->PWrite(off, src, len);
  }
  // A transaction's read that ReadInPlace serves is ReadSlow's common case (some 60 a
  // 10-record transaction): it alone stays here, every other path one call further, which
  // leaves it a shorter body to run (callgrind: 217 instructions a transaction).
  [[gnu::noinline]] Status ReadSlow(uint64_t off, size_t len, void* buf, const void** out) {
    if (tx_ != nullptr && len <= tx_->size() && off <= tx_->size() - len) {
      const uint8_t* file = use_map_ && Inside(off, len) ? fs_->base() : nullptr;
      if (const uint8_t* p = tx_->ReadInPlace(off, len, file)) {
        *out = p;
        return Status::OK();
      }
    }
    return ReadRest(off, len, buf, out);
  }
  [[gnu::noinline]] Status ReadRest(uint64_t off, size_t len, void* buf, const void** out) {
    if (tx_ != nullptr) {
      if (len > tx_->size() || off > tx_->size() - len) return fs_->OutOfBounds(off, len);
      return ReadTx(off, len, buf, out);
    }
    return ReadFile(off, len, buf, out);
  }
  [[gnu::noinline]] Status ReadTx(uint64_t off, size_t len, void* buf, const void** out) {
    return tx_->Read(off, len, buf, out, [this](uint64_t o, size_t l, void* b, const void** p) {
      return ReadFile(o, l, b, p);
    });
  }
  Status ReadFile(uint64_t off, size_t len, void* buf, const void** out) {
    if (!Inside(off, len)) PTDB_RETURN_IF_ERROR(Recheck(off, len));
    if (use_map_) {
      *out = fs_->base() + off;
      return Status::OK();
    }
    return fs_->PRead(off, len, buf, out);
  }
  Status ReadFileWordSlow(size_t field, uint64_t* v);
  bool Inside(uint64_t off, size_t len) const {
    const uint64_t size = fs_->size();
    return len <= size && off <= size - len;
  }
  Status Recheck(uint64_t off, size_t len) {
    PTDB_RETURN_IF_ERROR(fs_->Refresh());
    return Inside(off, len) ? Status::OK() : fs_->OutOfBounds(off, len);
  }
  // A write lock for a plain (non-transactional) write: waits while a transaction holds
  // the writer gate.
  Status LockForPlainWrite(LockId id);
  // Before a plain write after a commit: the commit's bundle must never be replayed over
  // it, so the commit's in-place writes are synced and the bundle marked replayed, and
  // the recovery areas forgotten (docs/transactions.md, "plain writes").
  Status RetireLastCommit();

  FileStorage* fs_;
  LockSet* locks_;
  const void* owner_;
  Status RecoverPending();
  // Maps what others added, then replays every pending bundle (file/recovery.h).
  Status ReplayBundles();

  bool use_map_;
  bool recovery_pending_ = false;
  bool retire_pending_ = false;
  TxOverlay* tx_ = nullptr;
  // Reads and writes go straight to the mapping: mapped and outside a transaction. One
  // flag for the two, since every read and write asks.
  bool direct_ = false;
  ReadTxLock* ro_ = nullptr;
  const ChangeCounts* counts_ = nullptr;
  std::bitset<format::kTopGroups> tx_groups_;
  bool tx_all_groups_ = false;
};

}  // namespace ptdb

#endif  // PTDB_FILE_FILE_VIEW_H_
