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

// The seed corpus has files made with a constant hash too, so that the bottom-level
// chains (which only a degenerate hash reaches) are within the fuzzer's reach.
uint64_t ConstantHash(const void*, size_t, uint64_t) { return 0; }

void Exercise(int open_flags, unsigned flags) {
  ptdb::Options options;
  options.open_flags = open_flags;
  options.flags = flags;
  std::unique_ptr<ptdb::Db> db;
  if (ptdb::Db::Open(DbPath(), options, &db).code() == ptdb::Error::kEinval) {
    options.hash = ConstantHash;
    (void)ptdb::Db::Open(DbPath(), options, &db);
  }
  if (!db) return;

  (void)db->Check();
  std::string first_key;
  uint64_t visited = 0;
  (void)db->Traverse([&](std::string_view key, std::string_view) {
    if (visited == 0) first_key = key;
    return ++visited < 100000;
  });
  std::string key;
  ptdb::Status it = db->FirstKey(&key);
  for (int i = 0; it.ok() && i < 1000; i++) it = db->NextKey(&key);
  std::string value;
  (void)db->Fetch(first_key, &value);
  (void)db->Fetch("fuzz", &value);
  bool exists;
  (void)db->Exists("fuzz", &exists);
  std::string summary;
  (void)db->Summary(true, &summary);
  if ((open_flags & O_ACCMODE) == O_RDWR) {
    (void)db->Store("fuzz-key", "fuzz-value");
    (void)db->Append(first_key, "more");
    (void)db->Delete("fuzz-key");
    (void)db->Check();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (FuzzDir().empty() && !MakeFuzzDir()) std::abort();
  struct Way {
    int open_flags;
    unsigned flags;
  };
  for (const Way& way :
       {Way{O_RDWR, ptdb::kDefault}, Way{O_RDWR, ptdb::kNoMmap}, Way{O_RDONLY, ptdb::kDefault}}) {
    // Each way starts from the input itself: a writer may have changed the file.
    if (!WriteFile(DbPath(), data, size)) std::abort();
    Exercise(way.open_flags, way.flags);
  }
  return 0;
}
