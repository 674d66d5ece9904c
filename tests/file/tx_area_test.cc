// Where a commit puts its recovery bundle: past the zones, and clear of the previous
// commit's bundle only while recovery may still need that one (docs/transactions.md).
#include <fcntl.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "file/recovery.h"
#include "ptdb/db.h"
#include "tests/support/temp_dir.h"

namespace ptdb {
namespace {

// Plain writes after a commit retire its bundle, and growing the zones may then put
// records over its area. Values made of the bundle magic, over and over, make what
// lies there look like a bundle with an absurd length: the next commit must not take
// it for the previous bundle and try to go past it (it failed with "database would
// exceed 2^56 bytes"; the model test's transactions found it).
TEST(TxAreaTest, ARetiredBundleOverwrittenByRecordsIsNotKeptClear) {
  test::TempDir dir;
  Options o;
  o.open_flags = O_RDWR | O_CREAT | O_TRUNC;
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(dir.File("area.ptdb"), o, &db).ok());
  ASSERT_TRUE(db->TransactionStart().ok());
  ASSERT_TRUE(db->Store("first", "1").ok());
  ASSERT_TRUE(db->TransactionCommit().ok());

  std::string magic(4000, '\0');
  for (size_t i = 0; i + 8 <= magic.size(); i += 8) {
    std::memcpy(&magic[i], &kBundleMagic, 8);
  }
  // 8-byte keys keep the values 8-byte aligned, like the bundle's header words.
  for (int i = 0; i < 400; i++) {
    char key[9];
    std::snprintf(key, sizeof(key), "k%07d", i);
    ASSERT_TRUE(db->Store(std::string(key, 8), magic).ok());
  }
  ASSERT_TRUE(db->TransactionStart().ok());
  ASSERT_TRUE(db->Store("second", "2").ok());
  const Status commit = db->TransactionCommit();
  ASSERT_TRUE(commit.ok()) << commit.ToString();
  std::string value;
  ASSERT_TRUE(db->Fetch("second", &value).ok());
  EXPECT_EQ(value, "2");
  const Status check = db->Check();
  EXPECT_TRUE(check.ok()) << check.ToString();
}

}  // namespace
}  // namespace ptdb
