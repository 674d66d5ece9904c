// Read-only transactions (the design's answer to "Transactions Cannot Operate in
// Parallel"): a reader gets one consistent state across many reads. Other readers go on,
// and a write transaction may start and run, but nothing changes the file until every
// read-only transaction has ended: plain writers and a committer's apply wait.
//
// How (docs/transactions.md, "Read-only transactions"): readers hold a byte lock shared
// (kReadTransaction; the kernel drops it if a reader dies) and set header.ro_readers.
// A writer checks that word right after taking its hash-group (or allrecord) lock, a
// single load; if it is set, the writer lets go of its lock and waits for the byte
// exclusively, which it gets only once no reader is left anywhere, then clears the word
// and tries again. A reader sweeps every group lock after setting the word, so a writer
// already inside a group finishes before the reader's first read.
//
// POSIX locks belong to the process: the readers of this process share one shared lock,
// counted here, and a writer of this process first waits for that count to drop to zero.
#ifndef PTDB_FILE_READ_TX_LOCK_H_
#define PTDB_FILE_READ_TX_LOCK_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "file/byte_range_locks.h"
#include "file/file_storage.h"
#include "ptdb/status.h"

namespace ptdb {

class ReadTxLock {
 public:
  // header_map: a writable mapping of the header (a kMutex file's mutex map, which even a
  // read-only handle has), or null: then the storage's, if it is writable.
  ReadTxLock(FileStorage* storage, uint8_t* header_map)
      : storage_(storage), header_map_(header_map), bytes_(storage->fd(), LockHooks{}) {}

  // A read-only transaction begins (the caller then sweeps the group locks) or ends.
  Status Begin();
  Status End();

  // Whether a read-only transaction may be running somewhere (header.ro_readers).
  // Call holding a lock that covers records.
  bool ReadersPresent() const;

  // Waits until no read-only transaction is running in any process. REQUIRES: the caller
  // holds no lock that covers records (readers need them), and this thread holds no
  // read-only transaction (kLock).
  Status WaitForReaders();

  // Read-only transactions this thread holds, on any file (a thread that waited for
  // readers while being one would wait for itself).
  static int HeldByThisThread();

 private:
  Status WriteFlag(uint64_t v);
  uint64_t* FlagWord() const;

  FileStorage* storage_;
  uint8_t* header_map_;
  ByteRangeLocks bytes_;
  std::mutex mu_;
  std::condition_variable cv_;
  int local_readers_ = 0;
};

}  // namespace ptdb

#endif  // PTDB_FILE_READ_TX_LOCK_H_
