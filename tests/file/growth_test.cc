// How the file grows: by an eighth of its space, but never by more than 1 MiB at once,
// so the store that happens to grow a big file pauses for under a millisecond, not for
// the allocation and zeroing of megabytes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "ptdb/db.h"
#include "tests/support/file_facts.h"
#include "tests/support/temp_dir.h"

namespace ptdb {
namespace {

using test::FileSize;

TEST(FileGrowthTest, ABigFileGrowsByAtMostOneMebibyte) {
  test::TempDir dir;
  const std::string path = dir.File("grow.ptdb");
  Options o;
  o.open_flags = O_RDWR | O_CREAT | O_TRUNC;
  o.flags = kNoSync;
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(path, o, &db).ok());
  const std::string value(64 << 10, 'v');
  constexpr uint64_t kCap = 1 << 20;
  uint64_t size = FileSize(path);
  int big_growths = 0;  // growths of a file whose eighth is more than the cap
  for (int i = 0; size < (32u << 20); i++) {
    ASSERT_TRUE(db->Store("key-" + std::to_string(i), value).ok());
    const uint64_t now = FileSize(path);
    ASSERT_GE(now, size);
    if (now > size) {
      // A growth is the cap, or what one record (and its zone header) needs if more.
      EXPECT_LE(now - size, kCap) << "growth of a " << size << "-byte file";
      if (size / 8 > kCap) big_growths++;
    }
    size = now;
  }
  EXPECT_GT(big_growths, 5);
  EXPECT_TRUE(db->Check().ok());
}

}  // namespace
}  // namespace ptdb
