// What every handle of one database file in this process shares: the descriptor and
// mapping (FileStorage), the byte-range locks, the mutex area and the lock set.
//
// POSIX locks belong to the process and vanish when ANY descriptor of the file is
// closed, so a process must never open a database file twice: a second Db::Open of the
// same file finds the first one's SharedFile here (by device and inode) and shares it
// (design: "TDB Files Cannot Be Opened Multiple Times").
#ifndef PTDB_FILE_SHARED_FILE_H_
#define PTDB_FILE_SHARED_FILE_H_

#include <sys/types.h>

#include <memory>
#include <mutex>

#include "common/locks.h"
#include "file/byte_range_locks.h"
#include "file/file_locks.h"
#include "file/file_storage.h"
#include "file/mutex_area.h"
#include "file/read_tx_lock.h"

namespace ptdb {

class SharedFile {
 public:
  // Serialises opens in this process, so two threads opening one file share it too.
  static std::mutex& OpenMutex();
  // The open file with this identity, or null.
  static std::shared_ptr<SharedFile> Find(dev_t dev, ino_t ino);
  // Makes `file` findable until it is destroyed.
  static void Register(const std::shared_ptr<SharedFile>& file);

  // bytes: over the storage's fd. shared_map: a shared mapping of the file's first
  // shared_map_len bytes, owned from now on, or null: for a kMutex file the header and the
  // MutexArea, writable (mutex_fd is the descriptor it came from when that is not the
  // storage's: a read-only handle still writes the mutexes, or -1); for a kFcntl file the
  // header, for its change counts (writable if the handle may write).
  SharedFile(dev_t dev, ino_t ino, std::unique_ptr<FileStorage> storage,
             std::unique_ptr<ByteRangeLocks> bytes, bool mutex_mode, uint8_t* shared_map,
             size_t shared_map_len, int mutex_fd);
  ~SharedFile();

  FileStorage* storage() { return storage_.get(); }
  ByteRangeLocks* bytes() { return bytes_.get(); }
  MutexArea* mutexes() { return mutexes_.get(); }
  // Where the hash groups' change counts live (change_counts.h), or null: no handle may
  // read without locks.
  ChangeCounts* change_counts() { return counts_.get(); }
  LockSet* locks() { return &locks_; }
  ReadTxLock* read_tx() { return &read_tx_; }
  bool mutex_mode() const { return mutexes_ != nullptr; }

  // If no other process has the file open: makes the last commit's in-place changes
  // durable, marks its recovery bundle replayed, and cuts the file to the end of its
  // space (what a wipe or repack gave back, and the recovery areas). Otherwise nothing:
  // the last process to close does it. REQUIRES: no thread here uses the records (the
  // transaction and allrecord locks).
  Status ShrinkIfAlone();

 private:
  // The work of ShrinkIfAlone; `staying`: this process keeps the file open.
  Status RetireAndShrinkIfAlone(bool staying);
  Status RetireAndShrink();

  dev_t dev_;
  ino_t ino_;
  std::unique_ptr<FileStorage> storage_;
  std::unique_ptr<ByteRangeLocks> bytes_;
  uint8_t* shared_map_;
  size_t shared_map_len_;
  int mutex_fd_;
  std::unique_ptr<MutexArea> mutexes_;
  std::unique_ptr<ChangeCounts> counts_;
  std::unique_ptr<FileLocks> primitive_;
  LockSet locks_;
  ReadTxLock read_tx_;
};

}  // namespace ptdb

#endif  // PTDB_FILE_SHARED_FILE_H_
