// A full disk: every store that needs space must fail cleanly (kOom or kIo), and the
// database must stay consistent and readable. The file-size limit (RLIMIT_FSIZE) stands
// in for a full file system; it applies to posix_fallocate as ENOSPC/EFBIG would.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <string>

#include "ptdb/db.h"
#include "tests/support/temp_dir.h"

namespace ptdb {
namespace {

std::string Key(int i) { return "key-" + std::to_string(i); }

// Runs in a forked child (the limit is per process). Returns 0 on success, or a line
// number to report.
int FillUntilFull(const std::string& path, unsigned flags) {
  signal(SIGXFSZ, SIG_IGN);  // fail the call with EFBIG instead of killing us
  Options o;
  o.open_flags = O_RDWR | O_CREAT | O_TRUNC;
  o.flags = flags;
  std::unique_ptr<Db> db;
  if (!Db::Open(path, o, &db).ok()) return __LINE__;
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return __LINE__;
  const rlimit lim{rlim_t(st.st_size) + (256 << 10), rlim_t(st.st_size) + (256 << 10)};
  if (setrlimit(RLIMIT_FSIZE, &lim) != 0) return __LINE__;

  std::map<std::string, std::string> model;
  // Small records: when space runs out, records still fit in leftovers while the hash
  // tree's larger sub-groups do not, so the failure also hits after a record was
  // written but before it was linked into the tree.
  const std::string value(4, 'v');
  int failures = 0;
  for (int i = 0; i < 200000 && failures < 50; i++) {
    const Status s = db->Store(Key(i), value + std::to_string(i), StoreMode::kInsert);
    if (s.ok()) {
      model[Key(i)] = value + std::to_string(i);
      continue;
    }
    failures++;
    if (s.code() != Error::kOom && s.code() != Error::kIo) return __LINE__;
    // After every failure the database is still whole.
    if (!db->Check().ok()) return __LINE__;
  }
  if (failures == 0) return __LINE__;  // the limit never bit: the test proved nothing
  for (const auto& [k, v] : model) {
    std::string got;
    if (!db->Fetch(k, &got).ok() || got != v) return __LINE__;
  }
  // Deleting frees space that later stores reuse without growing the file.
  for (int i = 0; i < 100; i++) {
    if (!db->Delete(Key(i)).ok()) return __LINE__;
  }
  if (!db->Store("after-delete", value, StoreMode::kInsert).ok()) return __LINE__;
  if (!db->Check().ok()) return __LINE__;
  return 0;
}

class SpaceExhaustionTest : public ::testing::TestWithParam<unsigned> {};

TEST_P(SpaceExhaustionTest, StoresFailCleanlyWhenTheDiskIsFull) {
  test::TempDir dir;
  const std::string path = dir.File("full.ptdb");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(FillUntilFull(path, GetParam()));
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child died with signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "failed at space_exhaustion_test.cc line " << WEXITSTATUS(status);
  // And a fresh open in this process (no limit) agrees.
  Options o;
  o.open_flags = O_RDWR;
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(path, o, &db).ok());
  EXPECT_TRUE(db->Check().ok());
}

INSTANTIATE_TEST_SUITE_P(Modes, SpaceExhaustionTest, ::testing::Values(0u, unsigned(kNoMmap)),
                         [](const ::testing::TestParamInfo<unsigned>& info) {
                           return info.param == 0 ? std::string("Mmap") : std::string("NoMmap");
                         });

}  // namespace
}  // namespace ptdb
