// The interface between the frontend (frontend/db_impl.cc) and a storage backend.
//
// The frontend validates arguments, enforces read-only handles, keeps flags, stats and
// the log hook; a backend only does storage. Every method may assume its arguments are
// valid and that the handle may write when it is asked to. Besides the codes each
// method names, any method may return kCorrupt (bad bytes) or kIo (the OS refused).
#ifndef PTDB_COMMON_BACKEND_H_
#define PTDB_COMMON_BACKEND_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/locks.h"
#include "ptdb/db.h"
#include "ptdb/options.h"
#include "ptdb/status.h"

namespace ptdb {

// A replace the frontend held back inside a write transaction (Backend::StoreBatch).
struct DeferredStore {
  std::string_view key;
  std::string_view data;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual Status Fetch(std::string_view key, std::string* data) = 0;  // kNoExist
  virtual Status Parse(std::string_view key, const ParseFn& fn) = 0;  // kNoExist, fn's
  virtual Status Exists(std::string_view key, bool* exists) = 0;
  virtual Status Store(std::string_view key, std::string_view data,
                       StoreMode mode) = 0;  // kExists, kNoExist
  // Store(key, data, kReplace) for each, in order, inside the open write transaction,
  // stopping at the first error.
  virtual Status StoreBatch(const DeferredStore* stores, size_t n) = 0;
  // Whether a replace the calling thread makes now, inside its write transaction, would
  // come out the same applied at its next call: nothing would refuse it at once, such as
  // a record lock of the thread's own (a chainlock_read refuses writes to its group).
  virtual bool CanDeferReplace() const { return !LockSet::ThreadHoldsRecordLocks(); }
  virtual Status Append(std::string_view key, std::string_view data) = 0;
  virtual Status Delete(std::string_view key) = 0;  // kNoExist
  virtual Status Traverse(const TraverseFn& fn, uint64_t* count) = 0;
  virtual Status FirstKey(std::string* key) = 0;  // kNoExist
  virtual Status NextKey(std::string* key) = 0;   // kNoExist
  virtual Status Wipe() = 0;
  // TDB2's chainlock (the key's top-level hash group) and lockall (every group), held
  // across calls by the calling thread for this handle. kLock on misuse.
  virtual Status ChainLock(std::string_view key, LockType type) = 0;
  virtual Status ChainUnlock(std::string_view key, LockType type) = 0;
  virtual Status LockAll(LockType type) = 0;
  virtual Status UnlockAll(LockType type) = 0;
  // The outermost write transaction of a handle (the frontend counts nesting). Every
  // operation of the handle between start and commit/cancel belongs to it. nosync: make it
  // atomic but not durable (no sync).
  virtual Status TransactionStart() = 0;
  virtual Status TransactionPrepare(bool nosync) = 0;
  virtual Status TransactionCommit(bool nosync) = 0;
  virtual Status TransactionCancel() = 0;
  // A read-only transaction: one consistent state across many reads. Here the allrecord
  // read lock, held throughout (the pmem backend's, which serialises its handle anyway);
  // the file backend lets other readers and a write transaction's start go on.
  virtual Status ReadTransactionStart() { return LockAll(LockType::kRead); }
  virtual Status ReadTransactionEnd() { return UnlockAll(LockType::kRead); }
  virtual Status Check(const CheckFn& fn) = 0;
  virtual Status Rescue(const RescueFn& fn, RescueReport* report, unsigned flags) = 0;
  virtual Status Summary(bool histograms, std::string* report) = 0;
  virtual Status ReadSeqnum(uint64_t* seqnum) = 0;
  // The seed the key hash uses (fixed at creation).
  virtual uint64_t HashSeed() const = 0;
  // The header's feature words (format.h).
  virtual Status ReadFeatures(uint64_t* used, uint64_t* offered) = 0;
  virtual Status BumpSeqnum() = 0;
  // Applies a change of the settable flags (e.g. kNoMmap unmaps at once).
  virtual Status ApplyFlags(unsigned flags) = 0;
  // -1 when there is no file.
  virtual int Fd() const = 0;
};

}  // namespace ptdb

#endif  // PTDB_COMMON_BACKEND_H_
