#include "file/shared_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <map>
#include <utility>

#include "common/format.h"

namespace ptdb {
namespace {

using FileId = std::pair<dev_t, ino_t>;

// Leaked on purpose: handles may be closed from static destructors.
std::map<FileId, std::weak_ptr<SharedFile>>& Registry() {
  static auto* registry = new std::map<FileId, std::weak_ptr<SharedFile>>;
  return *registry;
}

// Guards Registry(); separate from OpenMutex, which is held while an open fails and
// drops what may be the last reference to a SharedFile.
std::mutex& RegistryMutex() {
  static auto* mu = new std::mutex;
  return *mu;
}

}  // namespace

std::mutex& SharedFile::OpenMutex() {
  static auto* mu = new std::mutex;
  return *mu;
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

SharedFile::SharedFile(dev_t dev, ino_t ino, std::unique_ptr<FileStorage> storage,
                       std::unique_ptr<ByteRangeLocks> bytes, uint8_t* mutex_map,
                       size_t mutex_map_len, int mutex_fd)
    : dev_(dev),
      ino_(ino),
      storage_(std::move(storage)),
      bytes_(std::move(bytes)),
      mutex_map_(mutex_map),
      mutex_map_len_(mutex_map_len),
      mutex_fd_(mutex_fd),
      mutexes_(mutex_map ? new MutexArea(mutex_map + format::kHeaderSize) : nullptr),
      primitive_(mutex_map ? new FileLocks(mutexes_.get()) : new FileLocks(bytes_.get())),
      locks_(primitive_.get()) {}

SharedFile::~SharedFile() {
  if (mutex_map_ != nullptr) munmap(mutex_map_, mutex_map_len_);
  // Closing any descriptor of the file drops this process's fcntl locks on it: fine
  // here, as the storage's descriptor goes too.
  if (mutex_fd_ >= 0) close(mutex_fd_);
  std::lock_guard<std::mutex> g(RegistryMutex());
  auto it = Registry().find({dev_, ino_});
  // Only our own entry: a later open of a new file with a reused inode replaces it.
  if (it != Registry().end() && it->second.expired()) Registry().erase(it);
}

}  // namespace ptdb
