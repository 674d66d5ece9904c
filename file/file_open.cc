// Opening a database file: open(2), the open hook, creation of an empty file, header
// validation, then mapping. Nothing is written to a file until its header has been
// validated (or the file was empty and we were asked to create it).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/dir_sync.h"
#include "common/format.h"
#include "common/hash.h"
#include "common/header_checks.h"
#include "file/file_backend.h"
#include "file/file_locks.h"
#include "file/file_transaction.h"
#include "file/recovery.h"

namespace ptdb {
namespace {

// The first zone of a new database: small, so an empty database is small.
constexpr uint64_t kFirstZoneSize = 8192;

// Where a database's first zone starts: after the mutex area when it has one.
uint64_t SpaceStart(bool mutex_mode) {
  return format::kHeaderSize + (mutex_mode ? MutexArea::kSize : 0);
}

Status CreateFile(int fd, const HashConfig& hash, bool mutex_mode, StatCounters* stats,
                  std::unique_ptr<FileStorage>* out) {
  const uint64_t start = SpaceStart(mutex_mode);
  const uint64_t size = start + kFirstZoneSize;
  const int err = posix_fallocate(fd, 0, off_t(size));
  if (err != 0) return Err(Error::kIo, "cannot size the new database: %s", strerror(err));
  PTDB_RETURN_IF_ERROR(FileStorage::OpenFile(fd, size, start, true, false, out));
  FileView view(out->get(), nullptr, nullptr);
  PTDB_RETURN_IF_ERROR(InitializeDatabase(
      &view, hash, format::kFeatureChangeCounts | (mutex_mode ? format::kFeatureMutexLocks : 0),
      Extent{start, kFirstZoneSize}, stats));
  return WriteWord(&view, offsetof(format::Header, space_end), size);
}

// Clears a feature bit in the header (this writer cannot honour it), as a writer that
// does not know it would (design: "Extending The Header").
Status ClearFeature(FileStorage* storage, uint64_t bit) {
  FileView view(storage, nullptr, nullptr);
  uint64_t used;
  PTDB_RETURN_IF_ERROR(ReadWord(&view, offsetof(format::Header, features_used), &used));
  if ((used & bit) == 0) return Status::OK();
  return WriteWord(&view, offsetof(format::Header, features_used), used & ~bit);
}

// Joins the processes using the file. Each holds a read lock on the active byte while
// open; one that could hold it for writing is alone: no one else has the file open. For a
// kMutex file the mutexes are then leftovers (of a crash, or of the last close) and are
// initialised; and a lone opener is the one who may replay committed transactions.
// rw_fd: a descriptor open for writing, or -1 (a read-only opener of a kFcntl file, which
// can only ask). The locks belong to the process, whichever descriptor takes them.
Status JoinUsers(SharedFile* file, int fd, int rw_fd, bool* alone) {
  if (rw_fd >= 0) {
    ByteRangeLocks active(rw_fd, LockHooks{});
    Status st = active.Lock(F_WRLCK, lock_bytes::kActive, 1, false);
    if (!st.ok() && !st.IsWouldBlock()) return st;
    *alone = st.ok();
    if (*alone && file->mutex_mode()) PTDB_RETURN_IF_ERROR(file->mutexes()->Initialize());
    // A kFcntl file's counts of a writer that died inside a group would keep readers of
    // it locking for good.
    if (*alone && !file->mutex_mode() && file->change_counts()) file->change_counts()->Reset();
    // Converts our write lock, or waits out a joiner's brief one.
    return active.Lock(F_RDLCK, lock_bytes::kActive, 1, true);
  }
  struct flock probe = {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  probe.l_start = off_t(lock_bytes::kActive);
  probe.l_len = 1;
  if (fcntl(fd, F_GETLK, &probe) != 0) {
    return Err(Error::kLock, "cannot test the active lock: %s", strerror(errno));
  }
  *alone = probe.l_type == F_UNLCK;
  ByteRangeLocks active(fd, LockHooks{});
  return active.Lock(F_RDLCK, lock_bytes::kActive, 1, true);
}

// Replays committed transactions a crash left unapplied (docs/transactions.md). Only a
// lone opener may: with others about, a commit may be applying right now, and a dead
// committer is found and repaired at lock time instead.
Status RecoverIfNeeded(SharedFile* file, bool writable, const std::string& name) {
  std::unique_ptr<CommitIo> io = MakeCommitIo(file->storage());
  bool needed;
  PTDB_RETURN_IF_ERROR(NeedsRecovery(io.get(), &needed));
  if (!needed) return Status::OK();
  if (!writable) {
    return Err(Error::kCorrupt,
               "%s needs recovery (committed transactions may be unapplied after a crash); "
               "open it read-write once",
               name.c_str());
  }
  int replayed;
  return RecoverFile(io.get(), true, &replayed);
}

// A handle on a file this process already has open.
Status ShareOpenFile(const std::string& name, const Options& options,
                     const std::shared_ptr<SharedFile>& file) {
  const bool writable = (options.open_flags & O_ACCMODE) == O_RDWR;
  if ((options.open_flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
    return Err(Error::kIo, "cannot create %s: File exists (open in this process)", name.c_str());
  }
  if (options.open_flags & O_TRUNC) {
    return Err(Error::kEinval,
               "%s is open in this process; O_TRUNC would pull it from under "
               "that handle",
               name.c_str());
  }
  if (writable && !file->storage()->writable()) {
    return Err(Error::kEinval,
               "%s is open read-only in this process; it cannot be shared "
               "read-write",
               name.c_str());
  }
  if (options.lock_hooks.lock && !file->bytes()->has_hooks()) {
    return Err(Error::kEinval, "%s is open in this process without lock hooks", name.c_str());
  }
  return Status::OK();
}

}  // namespace

Status FileBackend::Open(const std::string& name, const Options& options, StatCounters* stats,
                         unsigned* flags, std::unique_ptr<Backend>* out) {
  HashConfig hash;
  hash.fn = options.hash;
  if (bool(options.lock_hooks.lock) != bool(options.lock_hooks.unlock)) {
    return Err(Error::kEinval, "lock hooks need both a lock and an unlock function");
  }
  if (options.flags & kInternal) {
    hash.seed = options.seed ? *options.seed : RandomHashSeed();
    const uint64_t size = format::kHeaderSize + kFirstZoneSize;
    std::unique_ptr<FileStorage> storage;
    PTDB_RETURN_IF_ERROR(FileStorage::OpenMemory(size, &storage));
    {
      FileView view(storage.get(), nullptr, nullptr);
      PTDB_RETURN_IF_ERROR(
          InitializeDatabase(&view, hash, 0, Extent{format::kHeaderSize, kFirstZoneSize}, stats));
    }
    auto file =
        std::make_shared<SharedFile>(0, 0, std::move(storage), nullptr, false, nullptr, 0, -1);
    std::unique_ptr<FileBackend> b(new FileBackend(std::move(file), hash, stats));
    PTDB_RETURN_IF_ERROR(b->ApplyFlags(options.flags));
    PTDB_RETURN_IF_ERROR(b->engine_.ReloadZones());
    *out = std::move(b);
    return Status::OK();
  }

  const bool writable = (options.open_flags & O_ACCMODE) == O_RDWR;
  const bool create = (options.open_flags & O_CREAT) || options.open_hook;
  std::lock_guard<std::mutex> opening(SharedFile::OpenMutex());
  std::shared_ptr<SharedFile> file;
  struct stat sb;
  if (stat(name.c_str(), &sb) == 0) file = SharedFile::Find(sb.st_dev, sb.st_ino);
  if (file) {
    PTDB_RETURN_IF_ERROR(ShareOpenFile(name, options, file));
    format::Header h;
    const void* p = nullptr;
    PTDB_RETURN_IF_ERROR(file->storage()->PRead(0, sizeof(h), &h, &p));
    hash.seed = h.hash_seed;
    if (h.hash_test != HashTestValue(hash)) {
      return Err(Error::kEinval, "%s uses a different hash function", name.c_str());
    }
  } else {
    const int fd = open(name.c_str(), options.open_flags | O_CLOEXEC, options.mode);
    if (fd < 0) return Err(Error::kIo, "cannot open %s: %s", name.c_str(), strerror(errno));
    std::unique_ptr<FileStorage> storage;
    auto fail = [&](Status st) {
      if (!storage) close(fd);
      return st;
    };
    auto bytes = std::make_unique<ByteRangeLocks>(fd, options.lock_hooks);
    const bool nolock = options.flags & kNoLock;
    // The open lock keeps a creator's half-written header, and a committer's changes,
    // from our eyes (released when `bytes` goes, or at the end of this block).
    if (!nolock) {
      Status st = bytes->Lock(writable ? F_WRLCK : F_RDLCK, lock_bytes::kOpen, 1, true);
      if (!st.ok()) return fail(st);
    }
    auto release_open = [&] {
      if (!nolock && file) (void)file->bytes()->Unlock(lock_bytes::kOpen, 1);
    };
    if (options.open_hook) {
      Status st = options.open_hook(fd);
      if (!st.ok()) return fail(st);
    }
    if (fstat(fd, &sb) != 0)
      return fail(Err(Error::kIo, "cannot stat %s: %s", name.c_str(), strerror(errno)));
    const uint64_t size = uint64_t(sb.st_size);
    bool mutex_mode;
    if (size == 0) {
      if (!create || !writable)
        return fail(Err(Error::kCorrupt, "%s is empty: not a ptdb database", name.c_str()));
      mutex_mode = options.lock_mode == LockMode::kMutex ||
                   (options.lock_mode == LockMode::kDefault && !options.lock_hooks.lock);
      if (mutex_mode && options.lock_hooks.lock) {
        return fail(Err(Error::kEinval, "lock hooks need a kFcntl database, not kMutex"));
      }
      hash.seed = options.seed ? *options.seed : RandomHashSeed();
      Status st = CreateFile(fd, hash, mutex_mode, stats, &storage);
      if (!st.ok()) return fail(st);
      // Durable when Open returns, kNoSync or not: creating is rare, and a database
      // lost whole to a power cut is worse than losing its latest commits.
      PTDB_RETURN_IF_ERROR(storage->Sync());
      PTDB_RETURN_IF_ERROR(SyncParentDirectory(name));
    } else {
      if (size < format::kHeaderSize)
        return fail(Err(Error::kCorrupt, "%s is %llu bytes, shorter than a ptdb header",
                        name.c_str(), (unsigned long long)size));
      format::Header h;
      if (pread(fd, &h, sizeof(h), 0) != ssize_t(sizeof(h)))
        return fail(
            Err(Error::kIo, "cannot read the header of %s: %s", name.c_str(), strerror(errno)));
      if (options.seed && !(options.open_flags & O_CREAT))
        return fail(Err(Error::kEinval, "a seed can only be given when creating a database"));
      hash.seed = h.hash_seed;
      Status st = ValidateHeader(h, hash, name);
      if (!st.ok()) return fail(st);
      mutex_mode = h.features_used & format::kFeatureMutexLocks;
      if (h.first_zone != SpaceStart(mutex_mode)) {
        return fail(Err(Error::kCorrupt, "%s: first zone at %llu, expected %llu", name.c_str(),
                        (unsigned long long)h.first_zone,
                        (unsigned long long)SpaceStart(mutex_mode)));
      }
      if (mutex_mode && options.lock_hooks.lock) {
        return fail(Err(Error::kEinval,
                        "%s locks with robust mutexes; lock hooks need a database created "
                        "with LockMode::kFcntl",
                        name.c_str()));
      }
      if (size < SpaceStart(mutex_mode)) {
        return fail(Err(Error::kCorrupt, "%s is %llu bytes, too short for its header", name.c_str(),
                        (unsigned long long)size));
      }
      st = FileStorage::OpenFile(fd, size, SpaceStart(mutex_mode), writable,
                                 !(options.flags & kNoMmap), &storage);
      if (!st.ok()) return fail(st);
      FileView view(storage.get(), nullptr, nullptr);
      PTDB_RETURN_IF_ERROR(ApplyCapabilities(&view, h.capabilities, writable, flags, name));
      // A writer that does not know a feature clears its bit, so readers that do know it
      // can tell an older writer has been here (design: "Extending The Header").
      if (writable && (h.features_used & ~format::kFeaturesKnown)) {
        PTDB_RETURN_IF_ERROR(WriteWord(&view, offsetof(format::Header, features_used),
                                       h.features_used & format::kFeaturesKnown));
      }
    }
    uint8_t* shared_map = nullptr;
    int mutex_fd = -1;
    const size_t mutex_map_len = SpaceStart(true);
    if (mutex_mode) {
      // Taking a mutex writes to it, so a read-only handle needs a writable descriptor
      // for the area (the data stays read-only to it).
      if (!writable) {
        mutex_fd = open(name.c_str(), O_RDWR | O_CLOEXEC);
        if (mutex_fd < 0) {
          return Err(Error::kIo,
                     "%s locks with mutexes in the file, which a reader must be allowed to "
                     "write: %s (create it with LockMode::kFcntl for read-only users)",
                     name.c_str(), strerror(errno));
        }
      }
      void* m = mmap(nullptr, mutex_map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
                     mutex_fd >= 0 ? mutex_fd : fd, 0);
      if (m == MAP_FAILED) {
        const int err = errno;
        if (mutex_fd >= 0) close(mutex_fd);
        return Err(Error::kIo, "%s: cannot map the mutex area: %s", name.c_str(), strerror(err));
      }
      shared_map = static_cast<uint8_t*>(m);
    }
    const size_t shared_map_len = mutex_mode ? mutex_map_len : size_t(format::kHeaderSize);
    if (!mutex_mode) {
      // The header, shared, for the hash groups' change counts: a writer keeps them, a
      // reader may read without a lock by them. A writer that cannot map it cannot keep
      // them, so it clears their feature bit, and every reader locks from then on.
      void* m = mmap(nullptr, shared_map_len, writable ? PROT_READ | PROT_WRITE : PROT_READ,
                     MAP_SHARED, fd, 0);
      if (m != MAP_FAILED) {
        shared_map = static_cast<uint8_t*>(m);
      } else if (writable) {
        PTDB_RETURN_IF_ERROR(ClearFeature(storage.get(), format::kFeatureChangeCounts));
      }
    }
    file = std::make_shared<SharedFile>(sb.st_dev, sb.st_ino, std::move(storage), std::move(bytes),
                                        mutex_mode, shared_map, shared_map_len, mutex_fd);
    // A kNoLock opener promised that no other process uses the file: it is alone, and
    // recovers what an earlier user's crash left (as tdb's open does under TDB_NOLOCK).
    // Not recovering let its plain writes land under a bundle the next opener replayed.
    bool alone = nolock;
    if (!nolock) {
      PTDB_RETURN_IF_ERROR(
          JoinUsers(file.get(), fd, mutex_fd >= 0 ? mutex_fd : (writable ? fd : -1), &alone));
      // The size read above may be stale: a last user closing before we joined found
      // itself alone and cut the recovery areas past the space. From here no one can,
      // so the size this process knows never exceeds the file's. A transaction relies on
      // that (it does not ask the kernel): with a stale size its commit extended nothing
      // and wrote its bundle past the end, a SIGBUS in about one `ptdb-torture -t -k` run
      // in 100.
      PTDB_RETURN_IF_ERROR(file->storage()->Refresh());
    }
    if (alone) PTDB_RETURN_IF_ERROR(RecoverIfNeeded(file.get(), writable, name));
    release_open();
    SharedFile::Register(file);
  }
  std::unique_ptr<FileBackend> b(new FileBackend(std::move(file), hash, stats));
  PTDB_RETURN_IF_ERROR(b->ApplyFlags(options.flags));
  PTDB_RETURN_IF_ERROR(b->engine_.ReloadZones());
  *out = std::move(b);
  return Status::OK();
}

}  // namespace ptdb
