// Read-only transactions through the API, in every mode: the reader sees its state, its
// own thread may not write or nest, and another thread's store lands only after the end.
// (Between processes and lock modes: tests/file/read_transaction_test.cc.)
#include <atomic>
#include <chrono>
#include <thread>

#include "tests/conformance/fixture.h"
#include "tests/conformance/test_util.h"

namespace ptdb::test {
namespace {

using ReadTransactionApiTest = DbModeTest;

TEST_P(ReadTransactionApiTest, ReaderSeesOneStateAndItsThreadCannotWrite) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db));
  PTDB_ASSERT_OK(db->Store("k", "old"));
  PTDB_ASSERT_OK(db->ReadTransactionStart());
  EXPECT_EQ(db->Store("k", "x").code(), Error::kEinval);
  EXPECT_EQ(db->WipeAll().code(), Error::kEinval);
  EXPECT_EQ(db->TransactionStart().code(), Error::kEinval);
  EXPECT_EQ(db->ReadTransactionStart().code(), Error::kEinval);
  std::atomic<bool> stored{false};
  std::thread writer([&] {
    EXPECT_TRUE(db->Store("k", "new").ok());
    stored = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(stored) << "another thread's store went through";
  std::string v;
  PTDB_EXPECT_OK(db->Fetch("k", &v));
  EXPECT_EQ(v, "old");
  PTDB_ASSERT_OK(db->ReadTransactionEnd());
  writer.join();
  PTDB_EXPECT_OK(db->Fetch("k", &v));
  EXPECT_EQ(v, "new");
  EXPECT_EQ(db->ReadTransactionEnd().code(), Error::kEinval);
  PTDB_EXPECT_OK(db->Check());
}

TEST_P(ReadTransactionApiTest, NotInsideAWriteTransaction) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db));
  PTDB_ASSERT_OK(db->TransactionStart());
  EXPECT_EQ(db->ReadTransactionStart().code(), Error::kEinval);
  PTDB_ASSERT_OK(db->TransactionCancel());
  PTDB_ASSERT_OK(db->ReadTransactionStart());
  PTDB_ASSERT_OK(db->ReadTransactionEnd());
}

INSTANTIATE_TEST_SUITE_P(Modes, ReadTransactionApiTest, ::testing::ValuesIn(AllModes()), ParamName);

}  // namespace
}  // namespace ptdb::test
