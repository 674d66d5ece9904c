// Sees which files and directories the process fsyncs: linking this library into a test
// binary interposes fsync (then calls libc's). Only binaries that ask for it get it.
#ifndef PTDB_TESTS_SUPPORT_FSYNC_WATCH_H_
#define PTDB_TESTS_SUPPORT_FSYNC_WATCH_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace ptdb::test {

struct FsyncCall {
  dev_t dev;
  ino_t ino;
  bool directory;
  bool watched_exists;  // whether the watch's path existed at the call
};

// Notes every fsync of the process from construction until Stop. One at a time.
class FsyncWatch {
 public:
  explicit FsyncWatch(std::string watched_path);
  ~FsyncWatch();
  FsyncWatch(const FsyncWatch&) = delete;
  FsyncWatch& operator=(const FsyncWatch&) = delete;

  std::vector<FsyncCall> Stop();
};

// How many of `calls` synced `path` (stat'ed now), and, for a directory, only those made
// while the watched path existed.
int SyncsOf(const std::vector<FsyncCall>& calls, const std::string& path);

// The directory part of `path`.
std::string DirectoryOf(const std::string& path);

}  // namespace ptdb::test

#endif  // PTDB_TESTS_SUPPORT_FSYNC_WATCH_H_
