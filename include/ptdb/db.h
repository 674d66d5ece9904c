// ptdb: a TDB2 key/value database.
//
// Concurrency: many processes may open one database file, and one handle may be used by
// several threads at once; every operation takes the locks it needs (docs/locking.md).
// Opening a file this process has open already shares it. Every call returns its own
// Status; no call throws.
//
// Lifetime: destroying the Db closes it. Pointers handed to callbacks (ParseRecord,
// Traverse, Check) are valid only during the callback.
#ifndef PTDB_DB_H_
#define PTDB_DB_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ptdb/export.h"
#include "ptdb/options.h"
#include "ptdb/status.h"

namespace ptdb {

// Long operations report `done` units of `total` now and then (total 0: not known yet).
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;
// Returns true to go on, false to stop the walk.
using TraverseFn = std::function<bool(std::string_view key, std::string_view data)>;
// Sees the record in place (zero copy); its result becomes ParseRecord's result.
using ParseFn = std::function<Status(std::string_view key, std::string_view data)>;
// Called by Check for every record; a non-OK result aborts the check with it.
using CheckFn = std::function<Status(std::string_view key, std::string_view data)>;
// Called by Rescue for every record it saves; a non-OK result stops it with that result.
using RescueFn = std::function<Status(std::string_view key, std::string_view data)>;

// Rescue flags.
enum RescueFlag : unsigned {
  // Also hand over sound records that no hash entry leads to, when their key is nowhere
  // else in the database and appears in one such record only: what a damaged table held.
  // After a kill inside a plain write they can also be that write's (a store that never
  // returned, a record its delete had unlinked), so the key in flight may come back.
  // Needs the space to parse record by record.
  kRescueUnreachable = 1,
};

// What Rescue found.
struct RescueReport {
  uint64_t records = 0;       // handed to the callback
  uint64_t lost_entries = 0;  // hash entries leading to nothing sound: what they held is lost
  uint64_t duplicates = 0;    // further entries for a key already handed over, skipped
  // Whether the space could be parsed record by record; only then is `unreachable` known.
  bool space_scanned = false;
  // Sound records that no hash entry leads to. After a kill inside a plain write these
  // are a store that never returned or a delete that had unlinked its record: not part
  // of the database. Handed over only with kRescueUnreachable, and then as counted in
  // unreachable_saved.
  uint64_t unreachable = 0;
  uint64_t unreachable_saved = 0;
  std::string first_problem;  // the first damage met, empty if none
};

class PTDB_EXPORT Db {
 public:
  // Opens (or, with O_CREAT, creates) the database `name`. With kInternal the name is
  // only a label and nothing touches the file system.
  static Status Open(std::string_view name, const Options& options, std::unique_ptr<Db>* db);

  // Rescue (below) for a database file that cannot be opened, as when a zone record is
  // damaged while the hash tree and records are whole: reads the file directly, without
  // opening it as a database, so it takes no locks (nothing may be writing to it) and
  // replays no pending commit. Of the options only `hash` is used. A pool must be opened
  // and rescued through its handle (kEinval here).
  static Status RescueFile(std::string_view name, const Options& options, const RescueFn& fn,
                           RescueReport* report = nullptr, unsigned flags = 0);

  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  virtual ~Db();

  virtual Status Store(std::string_view key, std::string_view data,
                       StoreMode mode = StoreMode::kReplace) noexcept = 0;
  // kNoExist if absent.
  virtual Status Fetch(std::string_view key, std::string* data) noexcept = 0;
  // Appends to the value (stores it if the key is absent).
  virtual Status Append(std::string_view key, std::string_view data) noexcept = 0;
  // kNoExist if absent.
  virtual Status Delete(std::string_view key) noexcept = 0;
  // OK (true or false in *exists), or the error that prevented the answer.
  virtual Status Exists(std::string_view key, bool* exists) noexcept = 0;
  // Calls fn with the record in place. fn must not write to this database.
  virtual Status ParseRecord(std::string_view key, const ParseFn& fn) noexcept = 0;

  // Visits every record, in hash order, or in storage order where nothing but this call
  // can write meanwhile (a pool; a file opened with kNoLock). No lock is held while fn
  // runs, so fn may change the database; deleting the current record is safe. Records
  // changed during the walk may be seen or missed; records added by fn in storage order
  // are not seen. *count (optional) gets the number of records visited.
  virtual Status Traverse(const TraverseFn& fn, uint64_t* count = nullptr) noexcept = 0;
  // Iteration by key: FirstKey, then NextKey(&key) until kNoExist.
  virtual Status FirstKey(std::string* key) noexcept = 0;
  virtual Status NextKey(std::string* key) noexcept = 0;

  // Deletes every record, inside a transaction: the caller's, or one of its own (then
  // durable like any commit, and kNoSync applies), except under the caller's chain lock
  // or lockall, where no transaction may start and it is a plain write. A file database
  // gives its space back: it keeps only its first zone, and the file is cut when no other
  // process has it open (else at the last close).
  virtual Status WipeAll() noexcept = 0;
  // Rewrites every record compactly and gives back the space left over, inside a
  // transaction: the caller's, or one of its own (then durable like any commit, and
  // kNoSync applies). Every record is held in memory meanwhile. The file is cut as by
  // WipeAll. progress (may be empty) is called every few thousand records: while reading
  // with total 0, then while rewriting with the number of records.
  virtual Status Repack(const ProgressFn& progress) noexcept = 0;
  Status Repack() noexcept { return Repack(nullptr); }

  // Chain locks (TDB2's tdb_chainlock): hold the lock of the key's top-level hash group
  // across calls, e.g. for a read-modify-write. Other keys share the group (1/128 of
  // them), so hold it briefly and one at a time. Operations of the calling thread on keys
  // of the group run under it; other threads and processes wait. Nested calls count.
  // ChainLock while holding the read lock, or a second group that could deadlock, gives
  // kLock. A read-only handle may only take the read lock.
  virtual Status ChainLock(std::string_view key) noexcept = 0;
  virtual Status ChainUnlock(std::string_view key) noexcept = 0;
  virtual Status ChainLockRead(std::string_view key) noexcept = 0;
  virtual Status ChainUnlockRead(std::string_view key) noexcept = 0;

  // The allrecord lock (TDB2's tdb_lockall): every hash group at once. Not while holding
  // a chain lock. Under LockAllRead, writes fail with kLock. Nested calls count.
  virtual Status LockAll() noexcept = 0;
  virtual Status UnlockAll() noexcept = 0;
  virtual Status LockAllRead() noexcept = 0;
  virtual Status UnlockAllRead() noexcept = 0;

  // Write transactions (TDB2's tdb_transaction_*). Between start and commit or cancel,
  // every call on this handle belongs to the transaction and its changes are invisible to
  // everyone else; other processes go on reading, and other writers wait until it ends.
  // Commit makes the changes durable with one sync (none with kNoSync: then they survive
  // a process crash but not a power cut) and atomic under any crash (docs/transactions.md).
  // Start, commit and cancel must come from one thread; other threads get kLock while it
  // is open. A nested start is refused (kEinval) unless kAllowNesting is set; then inner
  // starts and commits only count, and an inner cancel makes the outer commit fail.
  // Start is refused on a read-only handle and while holding a chain lock or lockall.
  // Inside one, a kReplace store of a small record (up to 1 KiB of key and value) may be
  // held back and applied with the next ones at the handle's next call, whatever it is,
  // so that their lookups overlap: every call sees the database as if each store had
  // been applied when it was made. If applying one fails (the pool is full), the call
  // that applied it returns that error, and the transaction can no longer commit.
  // GetStats counts a held-back store once it is applied.
  virtual Status TransactionStart() noexcept = 0;
  // The first half of commit: after it the transaction survives a crash. Optional.
  virtual Status TransactionPrepareCommit() noexcept = 0;
  virtual Status TransactionCommit() noexcept = 0;
  virtual Status TransactionCancel() noexcept = 0;

  // Read-only transactions (TDB2 design, "Transactions Cannot Operate in Parallel"):
  // between start and end, this thread's reads on the handle see one consistent state.
  // Other readers go on and a write transaction may start, but nothing changes the
  // database until every read-only transaction has ended: plain writers, lockall and a
  // commit wait for them (a writer holding other locks gets kLock instead). The thread
  // may not write meanwhile (kEinval); one per handle, no nesting, not inside a write
  // transaction. A read-only handle may hold one (of a kFcntl file only if opened
  // read-write). On a pmem pool it holds the allrecord read lock (docs/pmem.md).
  virtual Status ReadTransactionStart() noexcept = 0;
  virtual Status ReadTransactionEnd() noexcept = 0;

  // Verifies the whole database (header, every byte of space, free lists, hash tree,
  // every key rehashed). kCorrupt with a description if anything is wrong. Never repairs.
  virtual Status Check(const CheckFn& fn = nullptr) noexcept = 0;
  // A multi-line text report on space use; with histograms, size distributions too.
  virtual Status Summary(bool histograms, std::string* report) noexcept = 0;
  // Salvage, for a database Check calls corrupt (as after a process killed inside a plain
  // write): hands fn every record the hash tree still leads to soundly, each key once,
  // passing over whatever is damaged instead of stopping there. A record counts as sound
  // when its header is well formed, it lies inside the space and its key hashes to where
  // it was found; data has no checksum. Writes nothing: store what fn gets in a new
  // database. kCorrupt only if the header is unreadable; report (may be null) says what was
  // saved and what was passed over.
  // flags: RescueFlag values (kEinval for others).
  virtual Status Rescue(const RescueFn& fn, RescueReport* report = nullptr,
                        unsigned flags = 0) noexcept = 0;

  // The sequence number (bumped by writes when kSeqnum is set).
  virtual Status GetSeqnum(uint64_t* seqnum) noexcept = 0;
  virtual unsigned GetFlags() const noexcept = 0;
  virtual Status AddFlag(unsigned flag) noexcept = 0;
  virtual Status RemoveFlag(unsigned flag) noexcept = 0;
  virtual Status GetStats(Stats* stats) const noexcept = 0;

  virtual const std::string& Name() const noexcept = 0;
  // The seed of the key hash, chosen (or given) when the database was created.
  virtual uint64_t HashSeed() const noexcept = 0;
  // The header's feature words: those the database uses (bit 0: robust-mutex locking) and
  // those the library that created it offered (docs/format.md).
  virtual Status GetFeatures(uint64_t* used, uint64_t* offered) noexcept = 0;
  // The file descriptor, or -1 for kInternal and for a pmem pool (libpmemobj keeps its own).
  virtual int Fd() const noexcept = 0;
};

}  // namespace ptdb

#endif  // PTDB_DB_H_
