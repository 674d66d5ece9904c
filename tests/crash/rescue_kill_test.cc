// kill -9 during plain (non-transactional) writes, then Rescue. Plain writes are not
// crash-safe: a kill inside one can leave a file that Check() calls corrupt (a record the
// store had written but not linked, a free list half updated). What the hash tree leads
// to is still every write that returned, because each store links its record last, each
// delete unlinks its record first, and a hash group is changed one slot at a time in an
// order that never leaves an entry out (common/group_edit.h). So Rescue must hand over exactly the
// writes that returned (the one in flight may be done, not done or, overwritten in place and cut
// short, lost), and those records make a sound new database. The child keeps its model
// in shared memory, so the parent knows what returned. Reproduce a failure with
// PTDB_TEST_SEED=<seed printed>.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "ptdb/db.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

constexpr int kKeys = 3000;
constexpr int kMaxRounds = 400;
constexpr int kDamagedRoundsWanted = 6;

uint64_t TestSeed() {
  if (const char* env = std::getenv("PTDB_TEST_SEED")) return std::strtoull(env, nullptr, 0);
  return uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()) & 0xFFFFFFFF;
}

std::string KeyOf(int k) { return "key" + std::to_string(k); }

// Version v of key k's value; lengths vary, so records grow, shrink and move.
std::string ValueOf(int k, int v) {
  std::string s = std::to_string(k) + "." + std::to_string(v) + ":";
  s.append(size_t(k * 7 + v * 31) % 400, char('a' + (k + v) % 26));
  return s;
}

// What the child has done, in memory shared with the parent. A version of -1 is "absent".
struct SharedModel {
  std::atomic<int32_t> version[kKeys];
  std::atomic<int32_t> inflight_key;      // -1 between writes
  std::atomic<int32_t> inflight_version;  // what it becomes if the write in flight lands
};

[[noreturn]] void RunWriter(const std::string& path, uint64_t seed, SharedModel* m) {
  Options o;
  o.open_flags = O_RDWR | O_CREAT;
  std::unique_ptr<Db> db;
  if (!Db::Open(path, o, &db).ok()) _exit(2);
  std::mt19937_64 rng(seed);
  for (int32_t next = 0;; next++) {
    const int k = int(rng() % kKeys);
    const bool del = rng() % 5 == 0 && m->version[k].load() >= 0;
    m->inflight_version.store(del ? -1 : next);
    m->inflight_key.store(k);
    const Status st = del ? db->Delete(KeyOf(k)) : db->Store(KeyOf(k), ValueOf(k, next));
    if (!st.ok()) _exit(3);
    m->version[k].store(del ? -1 : next);
    m->inflight_key.store(-1);
  }
}

// With kRescueUnreachable too: the only records no entry leads to after a kill are the
// write in flight's (its unlinked new record, or the one its delete had unlinked).
class RescueKillTest : public ::testing::TestWithParam<unsigned> {};

TEST_P(RescueKillTest, RescueAfterAKilledPlainWriteGivesEveryWriteThatReturned) {
  const uint64_t seed = TestSeed();
  std::mt19937_64 rng(seed);
  TempDir dir;
  const std::string path = dir.File("db"), fresh = dir.File("fresh");
  void* mem =
      mmap(nullptr, sizeof(SharedModel), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto* model = new (mem) SharedModel;
  int damaged = 0, round = 0;
  for (; round < kMaxRounds && damaged < kDamagedRoundsWanted; round++) {
    SCOPED_TRACE("PTDB_TEST_SEED=" + std::to_string(seed) + " round " + std::to_string(round));
    for (auto& v : model->version) v.store(-1);
    model->inflight_key.store(-1);
    unlink(path.c_str());
    const uint64_t child_seed = rng();
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) RunWriter(path, child_seed, model);
    usleep(useconds_t(5000 + rng() % 60000));
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer exited with " << WEXITSTATUS(status);

    Options ro;
    ro.open_flags = O_RDONLY;
    std::unique_ptr<Db> db;
    ASSERT_TRUE(Db::Open(path, ro, &db).ok());
    if (!db->Check().ok()) damaged++;
    std::map<std::string, std::string> saved;
    RescueReport report;
    ASSERT_TRUE(db->Rescue(
                      [&](std::string_view k, std::string_view d) {
                        EXPECT_TRUE(saved.emplace(k, d).second) << "twice: " << k;
                        return Status::OK();
                      },
                      &report, GetParam())
                    .ok());
    EXPECT_EQ(report.records, saved.size());
    const int inflight = model->inflight_key.load();
    // At most the write in flight's entry is lost: a value overwritten in place, cut short
    // (its header already says the new length), is not sound, and its key is not saved.
    EXPECT_LE(report.lost_entries, 1u) << report.first_problem;
    if (report.lost_entries == 1) {
      EXPECT_EQ(saved.count(KeyOf(inflight)), 0u) << report.first_problem;
    }

    size_t expected = 0;
    for (int k = 0; k < kKeys; k++) {
      const auto it = saved.find(KeyOf(k));
      const int32_t v = model->version[k].load();
      if (k == inflight) {
        // Done, not done, or (a value overwritten in place) torn: only counted.
        if (it != saved.end()) expected++;
        continue;
      }
      if (v < 0) {
        EXPECT_TRUE(it == saved.end()) << "key " << k << " was deleted";
        continue;
      }
      const std::string why = "key " + std::to_string(k) + " version " + std::to_string(v) +
                              " lost; in flight: key " + std::to_string(inflight) + "; " +
                              report.first_problem;
      if (it == saved.end()) {
        ADD_FAILURE() << why;
        continue;
      }
      expected++;
      EXPECT_EQ(it->second, ValueOf(k, v)) << "key " << k;
    }
    EXPECT_EQ(saved.size(), expected);
    if (::testing::Test::HasFailure()) break;

    // What was saved makes a sound database.
    unlink(fresh.c_str());
    Options rw;
    rw.open_flags = O_RDWR | O_CREAT;
    std::unique_ptr<Db> copy;
    ASSERT_TRUE(Db::Open(fresh, rw, &copy).ok());
    ASSERT_TRUE(copy->TransactionStart().ok());
    for (const auto& [k, d] : saved) ASSERT_TRUE(copy->Store(k, d, StoreMode::kInsert).ok());
    ASSERT_TRUE(copy->TransactionCommit().ok());
    EXPECT_TRUE(copy->Check().ok());
  }
  munmap(mem, sizeof(SharedModel));
  // The point is files that Check() calls corrupt; a run that made none proved nothing.
  EXPECT_GT(damaged, 0) << "no kill in " << round << " rounds left a damaged file";
  RecordProperty("rounds", round);
  RecordProperty("damaged", damaged);
}

INSTANTIATE_TEST_SUITE_P(Flags, RescueKillTest, ::testing::Values(0u, unsigned(kRescueUnreachable)),
                         [](const ::testing::TestParamInfo<unsigned>& info) {
                           return info.param == 0 ? std::string("TreeOnly")
                                                  : std::string("AlsoUnreachable");
                         });

}  // namespace
}  // namespace ptdb::test
