// Writes into a zone object that the same transaction allocated need no undo log: an
// abort or a crash before the commit frees the object whole. Logging them anyway made
// libpmemobj flush (and fault in) the whole object at commit, a 9 ms pause for an 18 MiB
// zone. What the transaction writes there is flushed by the storage before the commit.
#include <gtest/gtest.h>
#include <libpmemobj.h>

#include <string>

#include "common/stat_counters.h"
#include "tests/conformance/test_util.h"
#include "tests/pmem/storage_fixture.h"

namespace ptdb::test {
namespace {

class NewZoneTest : public PmemStorageTest {
 protected:
  void SetUp() override {
    PmemStorageTest::SetUp();
    if (s_ != nullptr) s_->CountLogsIn(&stats_);
  }

  uint64_t Logged() const { return stats_.logged_ranges.load(); }
  Status Put(uint64_t off, const std::string& bytes) {
    return s_->Write(off, bytes.data(), bytes.size());
  }

  StatCounters stats_;
};

TEST_F(NewZoneTest, AnOperationLogsNothingInTheZoneItAllocated) {
  const std::string a(40, 'a'), b(40, 'b');
  Extent zone{};
  uint64_t in_zone = 0, in_header = 0;
  PTDB_ASSERT_OK(s_->Transaction([&] {
    PTDB_RETURN_IF_ERROR(s_->Grow(1 << 20, &zone));
    uint64_t before = Logged();
    PTDB_RETURN_IF_ERROR(Put(zone.off, a));
    PTDB_RETURN_IF_ERROR(Put(zone.off + 300000, b));
    PTDB_RETURN_IF_ERROR(Put(zone.end() - 40, a));
    in_zone = Logged() - before;
    before = Logged();
    PTDB_RETURN_IF_ERROR(Put(1000, a));
    in_header = Logged() - before;
    return Status::OK();
  }));
  EXPECT_EQ(in_zone, 0u);
  EXPECT_EQ(in_header, 1u) << "the header is older than the transaction: it must be logged";
  // The next transaction did not allocate the zone: an abort must put its bytes back.
  const Status failed = s_->Transaction([&] {
    const uint64_t before = Logged();
    PTDB_RETURN_IF_ERROR(Put(zone.off, b));
    EXPECT_EQ(Logged() - before, 1u);
    return Status(Error::kExists, "");
  });
  EXPECT_EQ(failed.code(), Error::kExists);
  PTDB_ASSERT_OK(s_->Rescan());
  ASSERT_EQ(s_->Extents().size(), 1u);
  EXPECT_EQ(Bytes(zone.off, 40), a);
  EXPECT_EQ(Bytes(zone.off + 300000, 40), b);
  EXPECT_EQ(Bytes(zone.end() - 40, 40), a);
  EXPECT_EQ(Bytes(1000, 40), a);
}

TEST_F(NewZoneTest, AFailedOperationFreesTheZoneItWroteUnlogged) {
  const std::string a(40, 'a');
  const Status failed = s_->Transaction([&] {
    Extent zone;
    PTDB_RETURN_IF_ERROR(s_->Grow(1 << 20, &zone));
    PTDB_RETURN_IF_ERROR(Put(zone.off, a));
    return Status(Error::kOom, "");
  });
  EXPECT_EQ(failed.code(), Error::kOom);
  PTDB_ASSERT_OK(s_->Rescan());
  EXPECT_EQ(s_->Extents().size(), 0u);
  EXPECT_TRUE(OID_IS_NULL(pmemobj_first(s_->pool()))) << "the zone is still allocated";
}

TEST_F(NewZoneTest, AUserTransactionsLaterOperationsWriteItsZonesUnlogged) {
  const std::string a(40, 'a'), b(40, 'b');
  Extent old_zone{}, zone{};
  PTDB_ASSERT_OK(s_->Transaction([&] { return s_->Grow(1 << 20, &old_zone); }));
  PTDB_ASSERT_OK(s_->BeginUserTransaction());
  PTDB_ASSERT_OK(s_->Transaction([&] { return s_->Grow(1 << 20, &zone); }));
  const uint64_t before = Logged();
  PTDB_ASSERT_OK(s_->Transaction([&] { return Put(zone.off + 64, a); }));
  EXPECT_EQ(Logged(), before) << "the zone is the user transaction's own";
  PTDB_ASSERT_OK(s_->Transaction([&] { return Put(old_zone.off + 64, a); }));
  EXPECT_EQ(Logged(), before + 1) << "a zone from before the transaction must be logged";
  // A failed operation puts back what it wrote over the earlier one's bytes.
  EXPECT_EQ(s_->Transaction([&] {
                PTDB_RETURN_IF_ERROR(Put(zone.off + 64, b));
                return Status(Error::kNoExist, "");
              }).code(),
            Error::kNoExist);
  EXPECT_EQ(Bytes(zone.off + 64, 40), a);
  PTDB_ASSERT_OK(s_->CommitUserTransaction());
  PTDB_ASSERT_OK(s_->Rescan());
  ASSERT_EQ(s_->Extents().size(), 2u);
  EXPECT_EQ(Bytes(zone.off + 64, 40), a);
  EXPECT_EQ(Bytes(old_zone.off + 64, 40), a);

  // Cancelled, the same transaction leaves nothing behind.
  PTDB_ASSERT_OK(s_->BeginUserTransaction());
  Extent dropped{};
  PTDB_ASSERT_OK(s_->Transaction([&] {
    PTDB_RETURN_IF_ERROR(s_->Grow(1 << 20, &dropped));
    return Put(dropped.off, b);
  }));
  PTDB_ASSERT_OK(s_->Transaction([&] { return Put(old_zone.off + 64, b); }));
  s_->AbortUserTransaction();
  PTDB_ASSERT_OK(s_->Rescan());
  EXPECT_EQ(s_->Extents().size(), 2u);
  EXPECT_EQ(Bytes(old_zone.off + 64, 40), a);
}

}  // namespace
}  // namespace ptdb::test
