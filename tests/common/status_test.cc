#include "ptdb/status.h"

#include <gtest/gtest.h>

namespace ptdb {
namespace {

TEST(StatusTest, OkSaysSuccess) {
  const Status st = Status::OK();
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(st.code(), Error::kSuccess);
  EXPECT_TRUE(st.message().empty());
  EXPECT_EQ(st.ToString(), "Success");
}

TEST(StatusTest, AnErrorKeepsItsCodeAndMessageThroughCopies) {
  Status st(Error::kCorrupt, "bad zone record at 4096");
  const Status copy = st;
  st = Status::OK();
  EXPECT_FALSE(copy.ok());
  EXPECT_TRUE(copy.IsCorrupt());
  EXPECT_EQ(copy.message(), "bad zone record at 4096");
  EXPECT_EQ(copy.ToString(), "Corrupt database: bad zone record at 4096");
  EXPECT_FALSE(copy.IsWouldBlock());
}

TEST(StatusTest, AnAnswerWithoutAMessageIsStillAnError) {
  const Status st(Error::kNoExist, "");
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(st.IsNoExist());
  EXPECT_TRUE(st.message().empty());
  EXPECT_EQ(st.ToString(), "Record does not exist");
}

TEST(StatusTest, SuccessWithAMessageIsJustSuccess) {
  const Status st(Error::kSuccess, "ignored");
  EXPECT_TRUE(st.ok());
  EXPECT_TRUE(st.message().empty());
}

TEST(StatusTest, WouldBlockIsALockErrorThatSaysSo) {
  const Status st = Status::WouldBlock("mutex 3 is held");
  EXPECT_EQ(st.code(), Error::kLock);
  EXPECT_TRUE(st.IsWouldBlock());
  EXPECT_EQ(st.message(), "mutex 3 is held");
  EXPECT_FALSE(Status(Error::kLock, "mutex 3 is held").IsWouldBlock());
}

}  // namespace
}  // namespace ptdb
