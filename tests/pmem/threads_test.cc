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

// Fetches, exists and key iteration share the handle with each other and wait for the
// writer, which replaces values (of changing sizes, so records move and space is reused):
// every value read is one the writer stored whole, every key one that exists.
TEST(PmemThreadsTest, ReadersShareTheHandleBesideAWriter) {
  TempDir dir;
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(dir.File("db.pool"), PmemCreateOptions(), &db));
  constexpr int kKeys = 300;
  constexpr int kRounds = 20;
  // Value of key k in round r: its own name and round, repeated to a length that varies.
  const auto value = [](int k, int r) {
    const std::string unit = std::to_string(k) + "/" + std::to_string(r) + ";";
    std::string v;
    for (int i = 0; i < 1 + (k + r * 7) % 40; i++) v += unit;
    return v;
  };
  const auto whole = [&](int k, const std::string& v) {
    for (int r = 0; r < kRounds; r++) {
      if (v == value(k, r)) return true;
    }
    return false;
  };
  for (int k = 0; k < kKeys; k++) PTDB_ASSERT_OK(db->Store("key" + std::to_string(k), value(k, 0)));
  std::atomic<bool> writing{true};
  std::atomic<int> errors{0};
  std::atomic<int64_t> reads{0};
  std::thread writer([&] {
    for (int r = 1; r < kRounds; r++) {
      for (int k = 0; k < kKeys; k++) {
        if (!db->Store("key" + std::to_string(k), value(k, r)).ok()) errors++;
      }
    }
    writing = false;
  });
  std::vector<std::thread> readers;
  readers.emplace_back([&] {  // fetches and exists
    for (int i = 0; writing.load() || i < kKeys; i++) {
      const int k = i % kKeys;
      const std::string key = "key" + std::to_string(k);
      std::string v;
      bool exists = false;
      if (!db->Fetch(key, &v).ok() || !whole(k, v)) errors++;
      if (!db->Exists(key, &exists).ok() || !exists) errors++;
      reads++;
    }
  });
  readers.emplace_back([&] {  // key iteration
    do {
      std::string key;
      Status st = db->FirstKey(&key);
      while (st.ok()) {
        if (key.rfind("key", 0) != 0 || std::stoi(key.substr(3)) >= kKeys) errors++;
        reads++;
        st = db->NextKey(&key);
      }
      if (!st.IsNoExist()) errors++;
    } while (writing.load());
  });
  writer.join();
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(reads.load(), 0);
  for (int k = 0; k < kKeys; k++) {
    std::string v;
    PTDB_ASSERT_OK(db->Fetch("key" + std::to_string(k), &v));
    EXPECT_EQ(v, value(k, kRounds - 1));
  }
  PTDB_EXPECT_OK(db->Check());
}

}  // namespace
}  // namespace ptdb::test
