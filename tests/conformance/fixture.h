// The storage modes every conformance test runs in, and how to open a database in each.
// A new backend is one more Mode plus its lines in fixture.cc.
#ifndef PTDB_TESTS_CONFORMANCE_FIXTURE_H_
#define PTDB_TESTS_CONFORMANCE_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "ptdb/db.h"
#include "ptdb/options.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {

// kPmem: a libpmemobj pool in this test's directory (/dev/shm unless PTDB_TEST_DIR says
// otherwise), opened with PMEM_IS_PMEM_FORCE=1, as emulated pmem on tmpfs wants.
enum class Mode { kFileMmap, kFileNoMmap, kInternal, kPmem };

std::vector<Mode> AllModes();
std::string ParamName(const ::testing::TestParamInfo<Mode>& info);
void PrintTo(Mode mode, std::ostream* os);

class DbModeTest : public ::testing::TestWithParam<Mode> {
 protected:
  Mode mode() const { return GetParam(); }
  // The database outlives its handle, so a reopen sees the data.
  bool persistent() const { return mode() != Mode::kInternal; }
  // A pool has no descriptor, no open hook, no kNoMmap (docs/pmem.md).
  bool has_fd() const { return mode() != Mode::kInternal && mode() != Mode::kPmem; }

  // Options that create (or truncate) a database in this mode, with `flags` added.
  Options CreateOptions(unsigned flags = 0) const;
  // Options that open an existing database read-write (persistent modes only).
  Options ReopenOptions(unsigned flags = 0) const;

  // The name Open gets for `base`: a path in this test's directory, or a label.
  std::string NameFor(const std::string& base) const;
  // The main database's name.
  std::string Name() const { return NameFor("db.tdb"); }

  Status OpenAt(const std::string& base, const Options& options, std::unique_ptr<Db>* db) const;
  Status Open(const Options& options, std::unique_ptr<Db>* db) const {
    return OpenAt("db.tdb", options, db);
  }
  // Creates the main database fresh.
  Status Create(std::unique_ptr<Db>* db, unsigned flags = 0) const {
    return Open(CreateOptions(flags), db);
  }

  // The main database's bytes as stored, to show that something left them alone. For a
  // pool, the database's own bytes (header and zone objects, with their offsets), not the
  // whole file: libpmemobj rewrites its metadata (pool header, lanes) on every open even
  // when nothing in the database changes. Call it with no handle open.
  std::string StoredBytes() const;

 private:
  unsigned ModeFlags() const;

  TempDir dir_;
};

}  // namespace ptdb::test

#endif  // PTDB_TESTS_CONFORMANCE_FIXTURE_H_
