// Flags and attributes given to Db::Open.
//
// The flag values are TDB2's, so they can cross the C API unchanged.
#ifndef PTDB_OPTIONS_H_
#define PTDB_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "ptdb/status.h"

namespace ptdb {

// Open flags (TDB2 values). Any other bit makes Open fail with kEinval.
enum Flag : unsigned {
  kDefault = 0,
  kInternal = 2,        // in memory only (no file); implies kNoMmap; threads still lock
  kNoLock = 4,          // take no locks (single user)
  kNoMmap = 8,          // pread/pwrite instead of mmap
  kNoSync = 64,         // never sync (commits may be lost on power failure)
  kSeqnum = 128,        // store, append, delete and wipe bump the seqnum
  kAllowNesting = 256,  // nested transactions are counted, not refused
  kRdonly = 512,        // no writes (implied by opening read-only)
  kCantCheck = 2048,    // output only: the file has a capability check() cannot verify
};

// Flags a caller may pass to Open.
constexpr unsigned kOpenFlagsMask =
    kInternal | kNoLock | kNoMmap | kNoSync | kSeqnum | kAllowNesting | kRdonly;
// Flags AddFlag/RemoveFlag may change after open.
constexpr unsigned kSettableFlagsMask =
    kNoLock | kNoMmap | kNoSync | kSeqnum | kAllowNesting | kRdonly;

// How Store treats an existing key (TDB2 values).
enum class StoreMode : int {
  kReplace = 1,  // insert or overwrite
  kInsert = 2,   // fail with kExists if the key is present
  kModify = 3,   // fail with kNoExist if the key is absent
};

enum class LogLevel : int { kError = 0, kUseError = 1, kWarning = 2 };

// Called for every error (and warnings). Must not call back into the same Db.
using LogFn = std::function<void(LogLevel level, Error code, std::string_view message)>;

// A replacement for the default seeded Jenkins lookup3 hash. Every opener of a file must
// use the same function: the header stores a hash of a fixed value, checked at open.
using HashFn = std::function<uint64_t(const void* key, size_t len, uint64_t seed)>;

// Runs under the open lock, before the header is read, with the database's file
// descriptor; if the file is empty afterwards it is initialised. This is how a caller
// emulates TDB1's CLEAR_IF_FIRST (see tests). Not called for kInternal.
using OpenHookFn = std::function<Status(int fd)>;

// Where a database lives. Opening an existing database detects its backend; kAuto
// creates a file database.
enum class BackendKind : int {
  kAuto = 0,
  kFile = 1,  // a file, mmap'd (or read and written with pread/pwrite)
  kPmem = 2,  // a libpmemobj pool (fs-dax pmem, or emulated: a file in /dev/shm)
};

// How the processes sharing a file database exclude each other. Chosen when the file is
// created and recorded in its header, so every opener agrees (docs/locking.md).
enum class LockMode : int {
  kDefault = 0,  // kMutex, or kFcntl when lock hooks are given
  kMutex = 1,    // robust process-shared mutexes in the file: no syscall when uncontended
  kFcntl = 2,    // fcntl byte-range locks (TDB2's layout), or the caller's lock hooks
};

// Replacements for fcntl byte-range locking (TDB2's FLOCK attribute). rw is F_RDLCK or
// F_WRLCK; a len of 0 means "to the end of the file". Each returns 0, or -1 with errno
// set. EAGAIN or EINTR (from a non-blocking request, or a timeout the caller arranged)
// makes the operation fail with Status::WouldBlock, which is not logged.
struct LockHooks {
  std::function<int(int fd, int rw, uint64_t off, uint64_t len, bool wait)> lock;
  std::function<int(int fd, int rw, uint64_t off, uint64_t len)> unlock;
};

// Counters the database keeps while it is open (read them with Db::GetStats).
struct Stats {
  uint64_t allocs = 0;         // records allocated
  uint64_t alloc_subhash = 0;  // hash sub-groups created
  uint64_t alloc_chain = 0;    // bottom-level chains created
  uint64_t alloc_grow = 0;     // sub-groups doubled in place
  uint64_t alloc_bucket_exact = 0;
  uint64_t alloc_bucket_max = 0;
  uint64_t alloc_leftover = 0;  // allocations that split off a free remainder
  uint64_t alloc_coalesce_tried = 0;
  uint64_t alloc_coalesce_succeeded = 0;
  uint64_t alloc_coalesce_num_merged = 0;
  uint64_t compares = 0;                  // key candidates examined
  uint64_t compare_wrong_offsetbits = 0;  // rejected by the extra hash bits in the entry
  uint64_t compare_wrong_rechash = 0;     // rejected by the hash bits in the record header
  uint64_t compare_wrong_keylen = 0;
  uint64_t compare_wrong_keycmp = 0;
  uint64_t expands = 0;  // times the database grew (file or pool)
  uint64_t frees = 0;
  uint64_t record_grows_in_place = 0;
  uint64_t record_moves = 0;         // records reallocated because they outgrew their room
  uint64_t transactions = 0;         // write transactions committed
  uint64_t transaction_cancels = 0;  // write transactions cancelled (or failed)
  uint64_t syncs = 0;                // fdatasync calls made by this handle's commits
  // Fetches and exists answered without taking the key's group lock (kMutex files: the
  // group's change count was the same before and after), and those that found the group
  // changed meanwhile and read again under the lock.
  uint64_t unlocked_reads = 0;
  uint64_t unlocked_read_retries = 0;
  // Pmem backend: ranges handed to libpmemobj's undo log before a change (each copies
  // the old bytes and flushes them; space that was free needs none). Zero for files.
  uint64_t logged_ranges = 0;
};

struct Options {
  unsigned flags = kDefault;
  // open(2) flags: O_RDONLY or O_RDWR, optionally O_CREAT, O_TRUNC, O_EXCL.
  int open_flags = 0;
  unsigned mode = 0600;
  LogFn log;
  HashFn hash;
  // The seed stored in a newly created database. Only with O_CREAT or kInternal.
  std::optional<uint64_t> seed;
  OpenHookFn open_hook;
  // Backend to create (kAuto: file); an existing database's backend is detected.
  BackendKind backend = BackendKind::kAuto;
  // kPmem only: the size of a pool to create (0: a default). The pool never grows.
  uint64_t pool_size = 0;
  // File backend only: the locking of a database being created.
  LockMode lock_mode = LockMode::kDefault;
  // File backend only: both set, or neither (fcntl). Needs a kFcntl database.
  LockHooks lock_hooks;
};

}  // namespace ptdb

#endif  // PTDB_OPTIONS_H_
