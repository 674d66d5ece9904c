// The interposers behind sync_counter.h. Each counts, then calls the next definition of the
// same symbol (libc's), found with dlsym(RTLD_NEXT). They live in the global namespace with C
// linkage because that is the symbol the peers' libraries import.
#include "bench/sync_counter.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <utility>

namespace ptdb {
namespace bench {
namespace {

struct Counters {
  std::atomic<uint64_t> fsync{0};
  std::atomic<uint64_t> fdatasync{0};
  std::atomic<uint64_t> msync{0};
  std::atomic<uint64_t> sync_file_range{0};
  std::atomic<uint64_t> sync{0};
  std::atomic<uint64_t> dsync_writes{0};
};

// Constant-initialised, so calls made before main (or by static constructors) count too.
Counters g_counters;

// Descriptors above this are not watched; the stores open a handful.
constexpr int kTrackedFds = 4096;
std::atomic<bool> g_dsync_fd[kTrackedFds];

template <typename Fn>
Fn Next(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

void Bump(std::atomic<uint64_t>* counter) { counter->fetch_add(1, std::memory_order_relaxed); }

void NoteOpen(int fd, int flags) {
  // O_SYNC includes the O_DSYNC bit.
  if (fd >= 0 && fd < kTrackedFds) g_dsync_fd[fd].store((flags & O_DSYNC) != 0);
}

void NoteClose(int fd) {
  if (fd >= 0 && fd < kTrackedFds) g_dsync_fd[fd].store(false);
}

void NoteWrite(int fd) {
  if (fd >= 0 && fd < kTrackedFds && g_dsync_fd[fd].load(std::memory_order_relaxed)) {
    Bump(&g_counters.dsync_writes);
  }
}

// open's optional third argument, present when the flags may create a file.
mode_t ModeArgument(int flags, va_list args) {
  const bool creates = (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
  return creates ? static_cast<mode_t>(va_arg(args, int)) : 0;
}

std::string Quantity(double value) {
  // A store that syncs now and then (a log switch) would otherwise show "0" calls.
  if (value > 0 && value < 0.005) return "<0.01";
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f", value);
  std::string s = text;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

SyncCounts SyncCounts::operator-(const SyncCounts& earlier) const {
  SyncCounts d;
  d.fsync = fsync - earlier.fsync;
  d.fdatasync = fdatasync - earlier.fdatasync;
  d.msync = msync - earlier.msync;
  d.sync_file_range = sync_file_range - earlier.sync_file_range;
  d.sync = sync - earlier.sync;
  d.dsync_writes = dsync_writes - earlier.dsync_writes;
  return d;
}

std::string SyncCounts::Describe(double per) const {
  const std::pair<uint64_t, const char*> parts[] = {
      {fsync, "fsync"}, {fdatasync, "fdatasync"},
      {msync, "msync"}, {sync_file_range, "sync_file_range"},
      {sync, "sync"},   {dsync_writes, "O_DSYNC write"},
  };
  std::string text;
  for (const auto& [count, name] : parts) {
    if (count == 0) continue;
    if (!text.empty()) text += " + ";
    text += Quantity(per > 0 ? static_cast<double>(count) / per : 0) + " " + name;
  }
  return text.empty() ? "none" : text;
}

SyncCounts CurrentSyncCounts() {
  SyncCounts c;
  c.fsync = g_counters.fsync.load();
  c.fdatasync = g_counters.fdatasync.load();
  c.msync = g_counters.msync.load();
  c.sync_file_range = g_counters.sync_file_range.load();
  c.sync = g_counters.sync.load();
  c.dsync_writes = g_counters.dsync_writes.load();
  return c;
}

}  // namespace bench
}  // namespace ptdb

using ptdb::bench::Bump;
using ptdb::bench::g_counters;
using ptdb::bench::ModeArgument;
using ptdb::bench::Next;
using ptdb::bench::NoteClose;
using ptdb::bench::NoteOpen;
using ptdb::bench::NoteWrite;

extern "C" {

int fsync(int fd) {
  static const auto next = Next<int (*)(int)>("fsync");
  Bump(&g_counters.fsync);
  return next(fd);
}

int fdatasync(int fd) {
  static const auto next = Next<int (*)(int)>("fdatasync");
  Bump(&g_counters.fdatasync);
  return next(fd);
}

int msync(void* addr, size_t length, int flags) {
  static const auto next = Next<int (*)(void*, size_t, int)>("msync");
  if ((flags & MS_SYNC) != 0) Bump(&g_counters.msync);
  return next(addr, length, flags);
}

int sync_file_range(int fd, off64_t offset, off64_t count, unsigned int flags) {
  static const auto next = Next<int (*)(int, off64_t, off64_t, unsigned int)>("sync_file_range");
  Bump(&g_counters.sync_file_range);
  return next(fd, offset, count, flags);
}

void sync() noexcept {
  static const auto next = Next<void (*)()>("sync");
  Bump(&g_counters.sync);
  next();
}

int open(const char* path, int flags, ...) {
  static const auto next = Next<int (*)(const char*, int, ...)>("open");
  va_list args;
  va_start(args, flags);
  const mode_t mode = ModeArgument(flags, args);
  va_end(args);
  const int fd = next(path, flags, mode);
  NoteOpen(fd, flags);
  return fd;
}

int open64(const char* path, int flags, ...) {
  static const auto next = Next<int (*)(const char*, int, ...)>("open64");
  va_list args;
  va_start(args, flags);
  const mode_t mode = ModeArgument(flags, args);
  va_end(args);
  const int fd = next(path, flags, mode);
  NoteOpen(fd, flags);
  return fd;
}

int openat(int dir_fd, const char* path, int flags, ...) {
  static const auto next = Next<int (*)(int, const char*, int, ...)>("openat");
  va_list args;
  va_start(args, flags);
  const mode_t mode = ModeArgument(flags, args);
  va_end(args);
  const int fd = next(dir_fd, path, flags, mode);
  NoteOpen(fd, flags);
  return fd;
}

int openat64(int dir_fd, const char* path, int flags, ...) {
  static const auto next = Next<int (*)(int, const char*, int, ...)>("openat64");
  va_list args;
  va_start(args, flags);
  const mode_t mode = ModeArgument(flags, args);
  va_end(args);
  const int fd = next(dir_fd, path, flags, mode);
  NoteOpen(fd, flags);
  return fd;
}

int close(int fd) {
  static const auto next = Next<int (*)(int)>("close");
  NoteClose(fd);
  return next(fd);
}

ssize_t write(int fd, const void* buf, size_t count) {
  static const auto next = Next<ssize_t (*)(int, const void*, size_t)>("write");
  NoteWrite(fd);
  return next(fd, buf, count);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  static const auto next = Next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  NoteWrite(fd);
  return next(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off64_t offset) {
  static const auto next = Next<ssize_t (*)(int, const void*, size_t, off64_t)>("pwrite64");
  NoteWrite(fd);
  return next(fd, buf, count, offset);
}

ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  static const auto next = Next<ssize_t (*)(int, const struct iovec*, int)>("writev");
  NoteWrite(fd);
  return next(fd, iov, iovcnt);
}

}  // extern "C"
