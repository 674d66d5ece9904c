// Helpers shared by the pmem backend's tests: options for a pool, and raw access to a
// pool's bytes through libpmemobj (to damage it, or to look at it) with no handle open.
#ifndef PTDB_TESTS_PMEM_PMEM_TEST_UTIL_H_
#define PTDB_TESTS_PMEM_PMEM_TEST_UTIL_H_

#include <fcntl.h>
#include <libpmemobj.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/format.h"
#include "common/storage.h"
#include "pmem/pmem_layout.h"
#include "ptdb/options.h"

namespace ptdb::test {

// Options that create (or re-create) a pool of pool_size bytes (0: the default).
inline Options PmemCreateOptions(uint64_t pool_size = 0, unsigned flags = 0) {
  Options o;
  o.open_flags = O_RDWR | O_CREAT | O_TRUNC;
  o.backend = BackendKind::kPmem;
  o.pool_size = pool_size;
  o.flags = flags;
  return o;
}

// Options that open an existing database read-write; the backend is detected.
inline Options ReopenRw(unsigned flags = 0) {
  Options o;
  o.open_flags = O_RDWR;
  o.flags = flags;
  return o;
}

// A pool opened with libpmemobj alone, as the backend lays it out (pmem/pmem_layout.h).
class RawPool {
 public:
  explicit RawPool(const std::string& name)
      : pop_(pmemobj_open(name.c_str(), pmem_layout::kLayoutName)) {}
  ~RawPool() {
    if (pop_ != nullptr) pmemobj_close(pop_);
  }
  RawPool(const RawPool&) = delete;
  RawPool& operator=(const RawPool&) = delete;

  bool ok() const { return pop_ != nullptr; }
  PMEMobjpool* pool() const { return pop_; }

  // The database header, inside the root object.
  format::Header* header() const {
    const PMEMoid root = pmemobj_root(pop_, pmem_layout::kRootSize);
    return reinterpret_cast<format::Header*>(static_cast<char*>(pmemobj_direct(root)) +
                                             pmem_layout::HeaderInRoot(root.off));
  }
  // Every object of the pool (the zone objects), as pool offset and usable size.
  std::vector<Extent> Objects() const {
    std::vector<Extent> out;
    for (PMEMoid oid = pmemobj_first(pop_); !OID_IS_NULL(oid); oid = pmemobj_next(oid)) {
      out.push_back({oid.off, pmemobj_alloc_usable_size(oid)});
    }
    return out;
  }
  // The address of database offset `off` (>= the header's end: a pool offset).
  char* At(uint64_t off) const { return reinterpret_cast<char*>(pop_) + off; }
  void Persist(const void* p, size_t len) const { pmemobj_persist(pop_, p, len); }

 private:
  PMEMobjpool* pop_;
};

}  // namespace ptdb::test

#endif  // PTDB_TESTS_PMEM_PMEM_TEST_UTIL_H_
