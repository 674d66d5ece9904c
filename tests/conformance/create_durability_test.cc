// A database that Open creates survives a power cut: its bytes are synced, and so is the
// directory entry that names it (common/dir_sync.h), without which a power cut could
// take the file, and every transaction committed to it, away.
#include <memory>
#include <string>

#include "tests/conformance/fixture.h"
#include "tests/conformance/test_util.h"
#include "tests/support/fsync_watch.h"

namespace ptdb::test {
namespace {

class CreateDurabilityTest : public DbModeTest {
 protected:
  // Syncs of the database's directory, made once the database was in it.
  int DirectorySyncs(const std::vector<FsyncCall>& calls) const {
    return SyncsOf(calls, DirectoryOf(Name()));
  }
};

TEST_P(CreateDurabilityTest, CreatingADatabaseSyncsTheDirectoryThatNamesIt) {
  FsyncWatch watch(Name());
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db));
  const std::vector<FsyncCall> calls = watch.Stop();
  EXPECT_EQ(DirectorySyncs(calls), 1) << calls.size() << " fsync calls in all";
}

TEST_P(CreateDurabilityTest, CreatingWithNoSyncStillSyncsTheDirectory) {
  FsyncWatch watch(Name());
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db, kNoSync));
  EXPECT_EQ(DirectorySyncs(watch.Stop()), 1);
}

TEST_P(CreateDurabilityTest, OpeningAnExistingDatabaseSyncsNoDirectory) {
  {
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(Create(&db));
    PTDB_ASSERT_OK(db->Store("key", "value", StoreMode::kInsert));
  }
  FsyncWatch watch(Name());
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Open(ReopenOptions(), &db));
  EXPECT_EQ(DirectorySyncs(watch.Stop()), 0);
  std::string value;
  PTDB_ASSERT_OK(db->Fetch("key", &value));
  EXPECT_EQ(value, "value");
}

// An in-memory database has no file, so nothing to sync.
using InMemoryCreateTest = CreateDurabilityTest;

TEST_P(InMemoryCreateTest, CreatingSyncsNothing) {
  FsyncWatch watch(Name());
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db));
  EXPECT_TRUE(watch.Stop().empty());
}

INSTANTIATE_TEST_SUITE_P(PersistentModes, CreateDurabilityTest,
                         ::testing::Values(Mode::kFileMmap, Mode::kFileNoMmap, Mode::kPmem),
                         ParamName);
INSTANTIATE_TEST_SUITE_P(Internal, InMemoryCreateTest, ::testing::Values(Mode::kInternal),
                         ParamName);

}  // namespace
}  // namespace ptdb::test
