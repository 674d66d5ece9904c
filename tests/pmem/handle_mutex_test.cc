// The pmem handle's mutex (pmem/pmem_handle_mutex.h): readers share it, a writer has it
// alone, its owner nests both kinds, and a waiting writer holds back new readers.
#include "pmem/pmem_handle_mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <shared_mutex>
#include <thread>

namespace ptdb {
namespace {

using std::chrono::milliseconds;

// Long enough for a thread that can go on to have gone on, even on a loaded machine.
constexpr auto kSettle = milliseconds(200);
// A correct run never comes near it; a wrong one fails instead of hanging.
constexpr auto kDeadline = std::chrono::seconds(30);

TEST(HandleMutexTest, ReadersHoldItTogether) {
  HandleMutex mu;
  std::shared_lock<HandleMutex> first(mu);
  auto second = std::async(std::launch::async, [&] {
    std::shared_lock<HandleMutex> lock(mu);
    return true;
  });
  // With the first reader still in, a second one must get in too.
  const std::future_status got_in = second.wait_for(kDeadline);
  first.unlock();  // else a failure would wait forever for the second one
  ASSERT_EQ(got_in, std::future_status::ready) << "a reader waited for another reader";
  EXPECT_TRUE(second.get());
}

TEST(HandleMutexTest, AWriterKeepsReadersAndWritersOut) {
  HandleMutex mu;
  std::unique_lock<HandleMutex> writer(mu);
  std::atomic<bool> read{false}, wrote{false};
  auto reader = std::async(std::launch::async, [&] {
    std::shared_lock<HandleMutex> lock(mu);
    read = true;
  });
  auto other = std::async(std::launch::async, [&] {
    std::lock_guard<HandleMutex> lock(mu);
    wrote = true;
  });
  std::this_thread::sleep_for(kSettle);
  EXPECT_FALSE(read.load()) << "a reader got in beside a writer";
  EXPECT_FALSE(wrote.load()) << "a second writer got in";
  EXPECT_FALSE(std::async(std::launch::async, [&] { return mu.try_lock(); }).get());
  writer.unlock();
  ASSERT_EQ(reader.wait_for(kDeadline), std::future_status::ready);
  ASSERT_EQ(other.wait_for(kDeadline), std::future_status::ready);
  EXPECT_TRUE(read.load());
  EXPECT_TRUE(wrote.load());
}

TEST(HandleMutexTest, TheOwnerNestsBothKindsAndLetsGoAtTheLast) {
  HandleMutex mu;
  mu.lock();
  EXPECT_TRUE(mu.OwnedHere());
  mu.lock();
  EXPECT_TRUE(mu.try_lock());
  mu.lock_shared();  // a fetch inside a traverse callback or under a chainlock
  mu.unlock_shared();
  mu.unlock();
  mu.unlock();
  EXPECT_TRUE(mu.OwnedHere()) << "released before the outermost unlock";
  EXPECT_FALSE(std::async(std::launch::async, [&] { return mu.try_lock(); }).get());
  mu.unlock();
  EXPECT_FALSE(mu.OwnedHere());
  auto other = std::async(std::launch::async, [&] {
    if (!mu.try_lock()) return false;
    mu.unlock();
    return true;
  });
  EXPECT_TRUE(other.get()) << "still held after every unlock";
}

// glibc's rwlock lets new readers pass a waiting writer by default: a stream of fetches
// from other threads could then keep a store out forever.
TEST(HandleMutexTest, AWaitingWriterGoesBeforeNewReaders) {
  HandleMutex mu;
  std::atomic<int> order{0};
  std::atomic<int> writer_at{0}, reader_at{0};
  mu.lock_shared();
  auto writer = std::async(std::launch::async, [&] {
    std::lock_guard<HandleMutex> lock(mu);
    writer_at = ++order;
  });
  std::this_thread::sleep_for(kSettle);  // the writer now waits for the first reader
  auto reader = std::async(std::launch::async, [&] {
    std::shared_lock<HandleMutex> lock(mu);
    reader_at = ++order;
  });
  std::this_thread::sleep_for(kSettle);
  EXPECT_EQ(reader_at.load(), 0) << "a new reader passed the waiting writer";
  mu.unlock_shared();
  ASSERT_EQ(writer.wait_for(kDeadline), std::future_status::ready);
  ASSERT_EQ(reader.wait_for(kDeadline), std::future_status::ready);
  EXPECT_EQ(writer_at.load(), 1);
  EXPECT_EQ(reader_at.load(), 2);
}

}  // namespace
}  // namespace ptdb
