// One pmem handle shared by threads: every operation is serialized with its transaction,
// chain locks keep their meaning, and the result is what the threads did. Run it under
// TSan (-fsanitize=thread) to see that the handle is race-free.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/pmem/pmem_test_util.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

constexpr int kThreads = 4;
constexpr int kOpsPerThread = 2000;
// Far more than the threads need, even under sanitizers. Past it a lock was lost and the
// threads wait forever: better a clear failure than a test hanging until ctest's timeout.
constexpr auto kDeadline = std::chrono::seconds(60);

TEST(PmemThreadsTest, ThreadsShareOneHandle) {
  TempDir dir;
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(dir.File("db.pool"), PmemCreateOptions(), &db));
  PTDB_ASSERT_OK(db->Store("counter", "0"));
  std::atomic<int> errors{0};
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOpsPerThread; i++) {
        const std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!db->Store(key, std::string(size_t(i % 200), char('a' + t))).ok()) errors++;
        if (i % 3 == 0 && !db->Delete(key).ok()) errors++;
        std::string value;
        const Status s = db->Fetch(key, &value);
        if (i % 3 == 0 ? s.code() != Error::kNoExist : !s.ok()) errors++;
        // A read-modify-write under the chain lock: no increment may be lost.
        if (i % 10 == 0) {
          if (!db->ChainLock("counter").ok()) {
            errors++;
            continue;
          }
          std::string n;
          if (!db->Fetch("counter", &n).ok() ||
              !db->Store("counter", std::to_string(std::stoi(n) + 1)).ok()) {
            errors++;
          }
          if (!db->ChainUnlock("counter").ok()) {
            errors++;
            break;
          }
        }
      }
      finished++;
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (finished.load() < kThreads && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (finished.load() < kThreads) {
    std::fprintf(stderr,
                 "FAILED: %d of %d threads still blocked after %lld s (%d errors): a "
                 "thread ended holding the handle's lock\n",
                 kThreads - finished.load(), kThreads, (long long)kDeadline.count(), errors.load());
    _exit(1);
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  std::string n;
  PTDB_ASSERT_OK(db->Fetch("counter", &n));
  EXPECT_EQ(std::stoi(n), kThreads * kOpsPerThread / 10);
  uint64_t count = 0;
  PTDB_ASSERT_OK(db->Traverse(nullptr, &count));
  EXPECT_EQ(count, 1 + uint64_t(kThreads) * (kOpsPerThread - (kOpsPerThread + 2) / 3));
  PTDB_EXPECT_OK(db->Check());
}

// A thread holding a chain lock keeps other threads out until it lets go.
TEST(PmemThreadsTest, ChainLockExcludesOtherThreads) {
  TempDir dir;
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(dir.File("db.pool"), PmemCreateOptions(), &db));
  PTDB_ASSERT_OK(db->ChainLock("k"));
  std::atomic<bool> stored{false};
  std::thread other([&] {
    EXPECT_TRUE(db->Store("k", "other").ok());
    stored = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(stored.load()) << "a store went past another thread's chain lock";
  PTDB_ASSERT_OK(db->Store("k", "mine"));
  PTDB_ASSERT_OK(db->ChainUnlock("k"));
  other.join();
  EXPECT_TRUE(stored.load());
  std::string value;
  PTDB_ASSERT_OK(db->Fetch("k", &value));
  EXPECT_EQ(value, "other");
  // Misuse is an error, not a hang.
  EXPECT_EQ(db->ChainUnlock("k").code(), Error::kLock);
}

}  // namespace
}  // namespace ptdb::test
