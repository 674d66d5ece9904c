// PmemStorage inside a user transaction: an operation that fails is taken back alone
// (its writes restored, the zone objects it allocated freed, the zone list as before),
// while what earlier operations did stays until the transaction commits or aborts.
#include <gtest/gtest.h>
#include <libpmemobj.h>

#include <string>

#include "tests/conformance/test_util.h"
#include "tests/pmem/storage_fixture.h"

namespace ptdb::test {
namespace {

class OpUndoTest : public PmemStorageTest {
 protected:
  int PoolObjects() const {
    int n = 0;
    for (PMEMoid oid = pmemobj_first(s_->pool()); !OID_IS_NULL(oid); oid = pmemobj_next(oid)) n++;
    return n;
  }
};

TEST_F(OpUndoTest, FailedOperationIsTakenBackAlone) {
  const std::string a(40, 'a'), b(40, 'b'), c(40, 'c');
  const std::string zeros(40, '\0');
  PTDB_ASSERT_OK(s_->BeginUserTransaction());
  // An operation that succeeds: a header write and a zone.
  Extent first{};
  PTDB_ASSERT_OK(s_->Transaction([&] {
    PTDB_RETURN_IF_ERROR(s_->Write(1000, a.data(), a.size()));
    PTDB_RETURN_IF_ERROR(s_->Grow(4096, &first));
    return s_->Write(first.off, a.data(), a.size());
  }));
  ASSERT_EQ(s_->Extents().size(), 1u);
  // One that fails after writing over that, next to it, and in a second zone it grew.
  const Status failed = s_->Transaction([&] {
    PTDB_RETURN_IF_ERROR(s_->Write(1000, b.data(), b.size()));
    PTDB_RETURN_IF_ERROR(s_->Write(1020, c.data(), c.size()));  // overlaps the last one
    PTDB_RETURN_IF_ERROR(s_->Write(first.off + 10, b.data(), b.size()));
    Extent second;
    PTDB_RETURN_IF_ERROR(s_->Grow(4096, &second));
    PTDB_RETURN_IF_ERROR(s_->Write(second.off, c.data(), c.size()));
    return Status(Error::kExists, "");
  });
  EXPECT_EQ(failed.code(), Error::kExists);
  EXPECT_EQ(Bytes(1000, 40), a);
  EXPECT_EQ(Bytes(1040, 40), zeros);
  EXPECT_EQ(Bytes(first.off, 40), a);
  ASSERT_EQ(s_->Extents().size(), 1u) << "the failed operation's zone is still listed";
  EXPECT_EQ(s_->Extents()[0].off, first.off);
  EXPECT_EQ(s_->size(), first.end());
  // The transaction goes on, and may grow again.
  Extent again;
  PTDB_ASSERT_OK(s_->Transaction([&] { return s_->Grow(4096, &again); }));
  EXPECT_EQ(s_->Extents().size(), 2u);
  PTDB_ASSERT_OK(s_->CommitUserTransaction());
  EXPECT_EQ(PoolObjects(), 2) << "a zone of the failed operation is still allocated";
  PTDB_ASSERT_OK(s_->Rescan());
  EXPECT_EQ(s_->Extents().size(), 2u);
  EXPECT_EQ(Bytes(1000, 40), a);
}

TEST_F(OpUndoTest, AbortUndoesEveryOperation) {
  const std::string a(40, 'a');
  PTDB_ASSERT_OK(s_->BeginUserTransaction());
  Extent zone;
  PTDB_ASSERT_OK(s_->Transaction([&] {
    PTDB_RETURN_IF_ERROR(s_->Grow(4096, &zone));
    return s_->Write(2000, a.data(), a.size());
  }));
  EXPECT_EQ(s_->Transaction([&] { return Status(Error::kNoExist, ""); }).code(), Error::kNoExist);
  PTDB_ASSERT_OK(s_->Transaction([&] { return s_->Write(3000, a.data(), a.size()); }));
  s_->AbortUserTransaction();
  PTDB_ASSERT_OK(s_->Rescan());
  EXPECT_EQ(s_->Extents().size(), 0u);
  EXPECT_EQ(PoolObjects(), 0);
  EXPECT_EQ(Bytes(2000, 40), std::string(40, '\0'));
  EXPECT_EQ(Bytes(3000, 40), std::string(40, '\0'));
  EXPECT_EQ(pmemobj_tx_stage(), TX_STAGE_NONE);
}

}  // namespace
}  // namespace ptdb::test
