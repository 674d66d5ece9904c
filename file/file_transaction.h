// A handle's write transaction on a file database: private changes in a TxOverlay, then
// a commit that writes one recovery bundle, syncs once, and applies it in place
// (docs/transactions.md says why each step is safe at any crash).
#ifndef PTDB_FILE_FILE_TRANSACTION_H_
#define PTDB_FILE_FILE_TRANSACTION_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/stat_counters.h"
#include "file/commit_io.h"
#include "file/file_view.h"
#include "file/recovery.h"
#include "file/tx_overlay.h"

namespace ptdb {

// Tests replace the commit I/O (to fail a write or cut the power at a chosen moment);
// null restores the real one. Process-wide.
using CommitIoFactory = std::function<std::unique_ptr<CommitIo>(FileStorage*)>;
void SetCommitIoFactoryForTesting(CommitIoFactory factory);
std::unique_ptr<CommitIo> MakeCommitIo(FileStorage* file);

class FileTransaction {
 public:
  // reload: makes the engine forget what it cached from the overlay (after a cancel).
  FileTransaction(FileView* view, StatCounters* stats, std::function<Status()> reload)
      : view_(view), stats_(stats), reload_(std::move(reload)) {}
  ~FileTransaction();

  bool active() const { return overlay_ != nullptr; }
  // Takes the transaction lock, closes the writer gate and waits until no plain writer is
  // inside. Refused while the handle holds other locks.
  Status Start();
  // Writes and (unless nosync) syncs the recovery bundle: after this the transaction
  // survives a crash. Idempotent.
  Status Prepare(bool nosync);
  // Prepares if needed, then applies the changes in place and ends the transaction.
  Status Commit(bool nosync);
  // Drops the changes and ends the transaction.
  Status Cancel();

 private:
  // Whether a commit writes a bundle: the transaction changed something, in a file.
  bool NeedsBundle() const;
  // Prepare through `io` (unused when there is nothing to write).
  Status Prepare(bool nosync, CommitIo* io);
  Status BuildBundle();
  Status ChooseArea(CommitIo* io, uint64_t counter, uint64_t len, uint64_t* area);
  // Applies the prepared bundle in place, holding the locks of the groups it changes (or
  // the allrecord lock). *started tells whether it got as far as writing: before that a
  // failure (a lock) leaves the transaction undone; after it, done (the bundle is durable).
  Status Apply(CommitIo* io, bool* started);
  // groups: n ascending; none for the allrecord lock.
  Status LockForApply(const unsigned* groups, size_t n);
  Status UnlockAfterApply(const unsigned* groups, size_t n);
  // Makes a written bundle invalid (cancel after prepare, failed commit).
  Status ForgetBundle();
  // Ends the transaction. bundle_pending: a durable bundle is not (known to be) in place
  // or forgotten; the next writer must replay it first.
  Status End(bool bundle_pending = false);

  FileView* view_;
  StatCounters* stats_;
  std::function<Status()> reload_;
  std::unique_ptr<TxOverlay> overlay_;  // while a transaction is open
  std::unique_ptr<TxOverlay> spare_;    // the last one's, emptied, for the next
  bool prepared_ = false;
  uint64_t counter_ = 0;
  uint64_t bundle_area_ = 0;  // where Prepare wrote the bundle; 0 if it wrote none
  Bundle bundle_;
};

}  // namespace ptdb

#endif  // PTDB_FILE_FILE_TRANSACTION_H_
