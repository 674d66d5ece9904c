#include "tests/support/fsync_watch.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <mutex>
#include <utility>

namespace ptdb::test {
namespace {

std::mutex watch_mu;
bool watching = false;
std::string watched;
std::vector<FsyncCall> calls;

void Note(int fd) {
  struct stat sb;
  if (fstat(fd, &sb) != 0) return;
  std::lock_guard<std::mutex> g(watch_mu);
  if (!watching) return;
  struct stat w;
  calls.push_back({sb.st_dev, sb.st_ino, S_ISDIR(sb.st_mode), stat(watched.c_str(), &w) == 0});
}

}  // namespace

FsyncWatch::FsyncWatch(std::string watched_path) {
  std::lock_guard<std::mutex> g(watch_mu);
  watching = true;
  watched = std::move(watched_path);
  calls.clear();
}

FsyncWatch::~FsyncWatch() { Stop(); }

std::vector<FsyncCall> FsyncWatch::Stop() {
  std::lock_guard<std::mutex> g(watch_mu);
  watching = false;
  return std::move(calls);
}

int SyncsOf(const std::vector<FsyncCall>& calls, const std::string& path) {
  struct stat sb;
  if (stat(path.c_str(), &sb) != 0) return -1;
  int n = 0;
  for (const FsyncCall& c : calls) {
    n += c.dev == sb.st_dev && c.ino == sb.st_ino && (!c.directory || c.watched_exists);
  }
  return n;
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace ptdb::test

// Every fsync of the process, the library's included, comes here first.
extern "C" int fsync(int fd) {
  using Fsync = int (*)(int);
  static const Fsync next = reinterpret_cast<Fsync>(dlsym(RTLD_NEXT, "fsync"));
  ptdb::test::Note(fd);
  return next(fd);
}
