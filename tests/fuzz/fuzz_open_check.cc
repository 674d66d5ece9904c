// libFuzzer target: any bytes, as a database file. Opening, checking, reading and
// writing it must give a Status every time: no crash, no hang, no sanitizer report.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "ptdb/db.h"
#include "tests/fuzz/exercise.h"

namespace {

// One directory per fuzzing process, under $PTDB_FUZZ_DIR (run-smoke.sh points it at its
// own temporary directory, which outlives a crashed process's atexit), else on tmpfs.
std::string& FuzzDir() {
  static std::string dir;
  return dir;
}

std::string DbPath() { return FuzzDir() + "/db"; }

void RemoveFuzzDir() {
  unlink(DbPath().c_str());
  rmdir(FuzzDir().c_str());
}

bool MakeFuzzDir() {
  struct stat st;
  const char* base = std::getenv("PTDB_FUZZ_DIR");
  if (base == nullptr) base = stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp";
  std::string templ = std::string(base) + "/ptdb-fuzz-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    std::perror("mkdtemp");
    return false;
  }
  FuzzDir() = templ;
  std::atexit(RemoveFuzzDir);
  return true;
}

bool WriteFile(const std::string& path, const uint8_t* data, size_t size) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < size) {
    const ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) break;
    done += size_t(n);
  }
  close(fd);
  return done == size;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (FuzzDir().empty() && !MakeFuzzDir()) std::abort();
  struct Way {
    int open_flags;
    unsigned flags;
  };
  // Without locks a traverse reads the space front to back (common/engine.h): the
  // records' own lengths lead it, so it needs the bytes as much as the checker does.
  for (const Way& way : {Way{O_RDWR, ptdb::kDefault}, Way{O_RDWR, ptdb::kNoMmap},
                         Way{O_RDONLY, ptdb::kDefault}, Way{O_RDWR, ptdb::kNoLock}}) {
    // Each way starts from the input itself: a writer may have changed the file.
    if (!WriteFile(DbPath(), data, size)) std::abort();
    ptdb::test::ExerciseDatabase(DbPath(), way.open_flags, way.flags);
  }
  return 0;
}
