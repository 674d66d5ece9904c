#include "tests/conformance/fixture.h"

#include <fcntl.h>
#include <libpmemobj.h>
#include <stdlib.h>

#include <map>
#include <sstream>

#include "pmem/pmem_layout.h"
#include "tests/conformance/test_util.h"

namespace ptdb::test {
namespace {

// The database inside pool `name`: its header, then each zone object's offset and bytes
// in address order. Read through libpmemobj, which knows where the objects are.
std::string PoolDatabaseBytes(const std::string& name) {
  PMEMobjpool* pop = pmemobj_open(name.c_str(), pmem_layout::kLayoutName);
  if (pop == nullptr) {
    ADD_FAILURE() << "cannot open pool " << name << ": " << pmemobj_errormsg();
    return "";
  }
  const PMEMoid root = pmemobj_root(pop, pmem_layout::kRootSize);
  const char* header =
      static_cast<const char*>(pmemobj_direct(root)) + pmem_layout::HeaderInRoot(root.off);
  std::string bytes(header, format::kHeaderSize);
  std::map<uint64_t, std::string> zones;
  for (PMEMoid oid = pmemobj_first(pop); !OID_IS_NULL(oid); oid = pmemobj_next(oid)) {
    zones[oid.off].assign(static_cast<const char*>(pmemobj_direct(oid)),
                          pmemobj_alloc_usable_size(oid));
  }
  for (const auto& [off, zone] : zones) bytes += std::to_string(off) + ":" + zone;
  pmemobj_close(pop);
  return bytes;
}

}  // namespace

std::vector<Mode> AllModes() {
  return {Mode::kFileMmap, Mode::kFileNoMmap, Mode::kInternal, Mode::kPmem};
}

std::string ParamName(const ::testing::TestParamInfo<Mode>& info) {
  std::ostringstream name;
  PrintTo(info.param, &name);
  return name.str();
}

void PrintTo(Mode mode, std::ostream* os) {
  switch (mode) {
    case Mode::kFileMmap:
      *os << "FileMmap";
      return;
    case Mode::kFileNoMmap:
      *os << "FileNoMmap";
      return;
    case Mode::kInternal:
      *os << "Internal";
      return;
    case Mode::kPmem:
      *os << "Pmem";
      return;
  }
  *os << "Unknown";
}

unsigned DbModeTest::ModeFlags() const {
  switch (mode()) {
    case Mode::kFileMmap:
      return kDefault;
    case Mode::kFileNoMmap:
      return kNoMmap;
    case Mode::kInternal:
      return kInternal;
    case Mode::kPmem:
      return kDefault;
  }
  return kDefault;
}

Options DbModeTest::CreateOptions(unsigned flags) const {
  Options options;
  options.flags = ModeFlags() | flags;
  options.open_flags = O_RDWR | O_CREAT | O_TRUNC;
  if (mode() == Mode::kPmem) options.backend = BackendKind::kPmem;
  return options;
}

Options DbModeTest::ReopenOptions(unsigned flags) const {
  Options options;
  options.flags = ModeFlags() | flags;
  options.open_flags = O_RDWR;
  return options;
}

std::string DbModeTest::NameFor(const std::string& base) const {
  return persistent() ? dir_.File(base) : "internal:" + base;
}

Status DbModeTest::OpenAt(const std::string& base, const Options& options,
                          std::unique_ptr<Db>* db) const {
  // Before the first pool is opened: libpmem reads it once. Pools live on tmpfs here,
  // where cache flushes are all the persistence there is (docs/pmem.md).
  if (mode() == Mode::kPmem) setenv("PMEM_IS_PMEM_FORCE", "1", 0);
  return Db::Open(NameFor(base), options, db);
}

std::string DbModeTest::StoredBytes() const {
  return mode() == Mode::kPmem ? PoolDatabaseBytes(Name()) : ReadDataBytes(Name());
}

}  // namespace ptdb::test
