// A kNoLock handle's traverse reads the space front to back (common/engine.h), over the
// zones it knows. Its caller may let other handles write between its calls: the walk
// must see the zones they added and must not walk the zones a wipe dropped.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

uint64_t Count(Db* db) {
  uint64_t count = 0;
  const Status s = db->Traverse([](std::string_view, std::string_view) { return true; }, &count);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return count;
}

TEST(NoLockTraverseTest, SeesZonesAnotherHandleAddedAndNotThoseAWipeDropped) {
  TempDir dir;
  const std::string path = dir.File("db.tdb");
  Options options;
  options.open_flags = O_RDWR | O_CREAT;
  options.flags = kNoLock;
  std::unique_ptr<Db> unlocked;
  PTDB_ASSERT_OK(Db::Open(path, options, &unlocked));
  for (int i = 0; i < 100; i++) PTDB_ASSERT_OK(unlocked->Store("first-" + std::to_string(i), "v"));
  EXPECT_EQ(Count(unlocked.get()), 100u);

  // Another handle, with locks, between the kNoLock handle's calls: 30 MB of records in
  // zones the kNoLock handle has never looked at.
  Options locked_options;
  locked_options.open_flags = O_RDWR;
  std::unique_ptr<Db> locked;
  PTDB_ASSERT_OK(Db::Open(path, locked_options, &locked));
  const std::string big(1000, 'b');
  for (int i = 0; i < 30000; i++) PTDB_ASSERT_OK(locked->Store("more-" + std::to_string(i), big));
  EXPECT_EQ(Count(unlocked.get()), 30100u);

  PTDB_ASSERT_OK(locked->WipeAll());
  PTDB_ASSERT_OK(locked->Store("after", "wipe"));
  EXPECT_EQ(DumpDb(unlocked.get()), (Dump{{"after", "wipe"}}));
  PTDB_EXPECT_OK(unlocked->Check());
}

// Threads may walk a kNoLock handle at once while nobody writes. Each walk watches what
// its own thread writes: walks that end out of order must leave nothing behind for a
// later store to report to (a walk that ended, its memory gone).
TEST(NoLockTraverseTest, WalksInTwoThreadsThatEndOutOfOrder) {
  TempDir dir;
  Options options;
  options.open_flags = O_RDWR | O_CREAT;
  options.flags = kNoLock;
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(dir.File("db.tdb"), options, &db));
  for (int i = 0; i < 1000; i++) PTDB_ASSERT_OK(db->Store("key-" + std::to_string(i), "v"));
  // First walks first, second walks second, first ends, then second ends.
  std::atomic<int> step{0};
  auto await = [&](int s) {
    while (step.load() < s) std::this_thread::yield();
  };
  uint64_t first_count = 0, second_count = 0;
  std::thread first([&] {
    PTDB_EXPECT_OK(db->Traverse(
        [&](std::string_view, std::string_view) {
          if (step.load() == 0) {
            step = 1;
            await(2);
          }
          return true;
        },
        &first_count));
    step = 3;
  });
  std::thread second([&] {
    await(1);
    PTDB_EXPECT_OK(db->Traverse(
        [&](std::string_view, std::string_view) {
          if (step.load() == 1) {
            step = 2;
            await(3);
          }
          return true;
        },
        &second_count));
  });
  first.join();
  second.join();
  EXPECT_EQ(first_count, 1000u);
  EXPECT_EQ(second_count, 1000u);
  // Stores that move and add records, now that both walks are over.
  for (int i = 0; i < 1000; i++) {
    PTDB_ASSERT_OK(db->Append("key-" + std::to_string(i), std::string(200, 'a')));
  }
  PTDB_ASSERT_OK(db->Store("added", "after the walks"));
  EXPECT_EQ(Count(db.get()), 1001u);
  PTDB_EXPECT_OK(db->Check());
}

}  // namespace
}  // namespace ptdb::test
