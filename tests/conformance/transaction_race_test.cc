// Two threads of one handle starting transactions at the same moment: one gets it, the
// other gets kLock and retries; neither may hang or have its own calls refused.
#include <atomic>
#include <string>
#include <thread>

#include "tests/conformance/fixture.h"
#include "tests/conformance/test_util.h"

namespace ptdb::test {
namespace {

using TransactionRaceTest = DbModeTest;

TEST_P(TransactionRaceTest, TwoThreadsStartingOnOneHandleTakeTurns) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db));
  constexpr int kRounds = 300;
  std::atomic<int> failures{0};
  auto worker = [&](int id) {
    for (int t = 0; t < kRounds; t++) {
      Status s;
      while ((s = db->TransactionStart()).code() == Error::kLock) std::this_thread::yield();
      const Status stored = s.ok() ? db->Store("k" + std::to_string(id), std::to_string(t)) : s;
      const Status committed = s.ok() ? db->TransactionCommit() : s;
      if (!stored.ok() || !committed.ok()) {
        ADD_FAILURE() << "thread " << id << " round " << t << ": " << stored.ToString() << " / "
                      << committed.ToString();
        failures++;
        return;
      }
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  ASSERT_EQ(failures.load(), 0);
  EXPECT_EQ(DumpDb(db.get()),
            (Dump{{"k0", std::to_string(kRounds - 1)}, {"k1", std::to_string(kRounds - 1)}}));
  PTDB_EXPECT_OK(db->Check());
}

INSTANTIATE_TEST_SUITE_P(Modes, TransactionRaceTest, ::testing::ValuesIn(AllModes()), ParamName);

}  // namespace
}  // namespace ptdb::test
