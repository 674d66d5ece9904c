#include "file/shared_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <fcntl.h>
#include <pthread.h>

#include <map>
#include <utility>

#include "common/format.h"
#include "file/commit_io.h"
#include "file/recovery.h"

namespace ptdb {
namespace {

using FileId = std::pair<dev_t, ino_t>;

// Leaked on purpose: handles may be closed from static destructors.
std::map<FileId, std::weak_ptr<SharedFile>>* g_registry =
    new std::map<FileId, std::weak_ptr<SharedFile>>;
// Guards g_registry; separate from OpenMutex, which is held while an open fails and
// drops what may be the last reference to a SharedFile.
std::mutex* g_registry_mu = new std::mutex;
std::mutex* g_open_mu = new std::mutex;

// A child of fork() must not share its parent's open files: their fcntl locks and held
// mutexes are the parent's. It starts with an empty registry (and fresh mutexes, since
// another parent thread may have held one at the fork); handles it inherited keep their
// SharedFile, and the lock set refuses their inherited locks.
void ForgetFilesAfterFork() {
  g_registry = new std::map<FileId, std::weak_ptr<SharedFile>>;
  g_registry_mu = new std::mutex;
  g_open_mu = new std::mutex;
}

std::map<FileId, std::weak_ptr<SharedFile>>& Registry() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, ForgetFilesAfterFork);
    return true;
  }();
  (void)registered;
  return *g_registry;
}

std::mutex& RegistryMutex() { return *g_registry_mu; }

}  // namespace

std::mutex& SharedFile::OpenMutex() {
  Registry();  // registers the fork handler before the first open
  return *g_open_mu;
}

std::shared_ptr<SharedFile> SharedFile::Find(dev_t dev, ino_t ino) {
  std::lock_guard<std::mutex> g(RegistryMutex());
  auto it = Registry().find({dev, ino});
  return it == Registry().end() ? nullptr : it->second.lock();
}

void SharedFile::Register(const std::shared_ptr<SharedFile>& file) {
  std::lock_guard<std::mutex> g(RegistryMutex());
  Registry()[{file->dev_, file->ino_}] = file;
}

namespace {

std::unique_ptr<ChangeCounts> CountsIn(bool mutex_mode, uint8_t* shared_map) {
  if (shared_map == nullptr) return nullptr;
  return std::make_unique<ChangeCounts>(
      mutex_mode ? ChangeCounts::InMutexArea(shared_map + format::kHeaderSize)
                 : ChangeCounts::InHeader(shared_map));
}

}  // namespace

SharedFile::SharedFile(dev_t dev, ino_t ino, std::unique_ptr<FileStorage> storage,
                       std::unique_ptr<ByteRangeLocks> bytes, bool mutex_mode, uint8_t* shared_map,
                       size_t shared_map_len, int mutex_fd)
    : dev_(dev),
      ino_(ino),
      storage_(std::move(storage)),
      bytes_(std::move(bytes)),
      shared_map_(shared_map),
      shared_map_len_(shared_map_len),
      mutex_fd_(mutex_fd),
      mutexes_(mutex_mode ? new MutexArea(shared_map + format::kHeaderSize) : nullptr),
      counts_(CountsIn(mutex_mode, shared_map)),
      primitive_(mutex_mode ? new FileLocks(mutexes_.get(), counts_.get())
                            : new FileLocks(bytes_.get(), counts_.get())),
      locks_(primitive_.get()),
      read_tx_(storage_.get(), mutex_mode ? shared_map : nullptr) {}

SharedFile::~SharedFile() {
  (void)RetireAndShrinkIfAlone(false);
  if (shared_map_ != nullptr) munmap(shared_map_, shared_map_len_);
  // Closing any descriptor of the file drops this process's fcntl locks on it: fine
  // here, as the storage's descriptor goes too.
  if (mutex_fd_ >= 0) close(mutex_fd_);
  std::lock_guard<std::mutex> g(RegistryMutex());
  auto it = Registry().find({dev_, ino_});
  // Only our own entry: a later open of a new file with a reused inode replaces it.
  if (it != Registry().end() && it->second.expired()) Registry().erase(it);
}

Status SharedFile::ShrinkIfAlone() { return RetireAndShrinkIfAlone(true); }

Status SharedFile::RetireAndShrinkIfAlone(bool staying) {
  if (storage_->memory() || !storage_->writable() || bytes_ == nullptr) return Status::OK();
  // Alone if the active byte can be ours for writing: then no process reads the file
  // after us (a joiner waits on the byte), and the last commit's bundle need never be
  // replayed once its bytes are durable. Without this a read-only opener would be told
  // to recover first.
  ByteRangeLocks active(storage_->fd(), LockHooks{});
  if (!active.Lock(F_WRLCK, lock_bytes::kActive, 1, false).ok()) return Status::OK();
  Status st = RetireAndShrink();
  // Back to a user like every other, not unlocked: the byte is the process's.
  if (staying) {
    Status back = active.Lock(F_RDLCK, lock_bytes::kActive, 1, true);
    if (st.ok()) st = back;
  }
  return st;
}

Status SharedFile::RetireAndShrink() {
  // After a failed sync the last bundles stay for the next opener: they may be the only
  // copy of pages the kernel dropped (FileStorage::NoteSyncFailed).
  if (!storage_->CheckNoSyncFailed().ok()) return Status::OK();
  // A commit or replay that died half-way (tx_applying) still needs its bundle.
  uint64_t words[3];  // tx_counter, tx_replayed, tx_applying
  static_assert(offsetof(format::Header, tx_applying) == offsetof(format::Header, tx_counter) + 16);
  const void* p;
  PTDB_RETURN_IF_ERROR(
      storage_->PRead(offsetof(format::Header, tx_counter), sizeof(words), words, &p));
  if (words[2] != 0) return Status::OK();
  if (words[1] < words[0]) {
    PTDB_RETURN_IF_ERROR(storage_->Sync());
    PTDB_RETURN_IF_ERROR(
        storage_->PWrite(offsetof(format::Header, tx_replayed), &words[0], sizeof(words[0])));
  }
  // A bundle written but not applied (its commit died, or a recovery failed) is not
  // covered by tx_counter, which it carries itself: it must stay for the next opener.
  FileCommitIo io(storage_.get());
  bool pending;
  PTDB_RETURN_IF_ERROR(NeedsRecovery(&io, &pending));
  if (pending) return Status::OK();
  // Every bundle is now known applied and durable: the slots are cleared (the next opener
  // may grow the zones over the areas), then the recovery areas past the space can go.
  PTDB_RETURN_IF_ERROR(ForgetBundleAreas(&io));
  uint64_t end;
  PTDB_RETURN_IF_ERROR(storage_->PRead(offsetof(format::Header, space_end), sizeof(end), &end, &p));
  if (end < storage_->space_start() || end >= storage_->size()) return Status::OK();
  return storage_->Truncate(end);
}

}  // namespace ptdb
