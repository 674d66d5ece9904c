// PmemStorage itself, below the public API: a fresh pool (twice libpmemobj's minimum)
// with the storage open on it, and a look at its bytes.
#ifndef PTDB_TESTS_PMEM_STORAGE_FIXTURE_H_
#define PTDB_TESTS_PMEM_STORAGE_FIXTURE_H_

#include <gtest/gtest.h>
#include <libpmemobj.h>

#include <memory>
#include <string>

#include "pmem/pmem_layout.h"
#include "pmem/pmem_storage.h"
#include "tests/conformance/test_util.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {

class PmemStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PMEMobjpool* pop = pmemobj_create(dir_.File("storage.pool").c_str(), pmem_layout::kLayoutName,
                                      pmem_layout::kMinPoolSize * 2, 0600);
    ASSERT_NE(pop, nullptr) << pmemobj_errormsg();
    PTDB_ASSERT_OK(PmemStorage::Open(pop, true, &s_));
  }

  // [off, off + len) as the storage reads it now.
  std::string Bytes(uint64_t off, size_t len) {
    const void* p = nullptr;
    const Status st = s_->Read(off, len, nullptr, &p);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return st.ok() ? std::string(static_cast<const char*>(p), len) : "";
  }

  TempDir dir_;
  std::unique_ptr<PmemStorage> s_;
};

}  // namespace ptdb::test

#endif  // PTDB_TESTS_PMEM_STORAGE_FIXTURE_H_
