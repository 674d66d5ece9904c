// Pools that are not what a ptdb pool should be: each gives a clear error (or, where the
// damage is in the database's bytes, check() reports it), nothing crashes, and nothing
// writes into libpmemobj's own metadata.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <libpmemobj.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "common/format.h"
#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/pmem/pmem_test_util.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

class PmemBadInputTest : public ::testing::Test {
 protected:
  std::string Path() const { return dir_.File("db.pool"); }

  // A pool holding `n` records.
  Dump MakePool(int n) {
    Dump expected;
    std::unique_ptr<Db> db;
    const Status s = Db::Open(Path(), PmemCreateOptions(), &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) return expected;
    for (int i = 0; i < n; i++) {
      const std::string key = "key-" + std::to_string(i);
      const std::string value(size_t(i % 50), char('a' + i % 26));
      EXPECT_TRUE(db->Store(key, value).ok());
      expected[key] = value;
    }
    return expected;
  }

  Status OpenRw(std::unique_ptr<Db>* db) const { return Db::Open(Path(), ReopenRw(), db); }

  TempDir dir_;
};

// A pool is rescued through an open handle (libpmemobj checks it first), not read raw.
TEST_F(PmemBadInputTest, RescueFileRefusesAPool) {
  const Dump expected = MakePool(20);
  const Status s = Db::RescueFile(Path(), Options(),
                                  [](std::string_view, std::string_view) { return Status::OK(); });
  EXPECT_EQ(s.code(), Error::kEinval) << s.ToString();
  EXPECT_NE(s.message().find("is a pool"), std::string_view::npos) << s.ToString();
  std::unique_ptr<Db> db;
  ASSERT_TRUE(OpenRw(&db).ok());
  Dump saved;
  ASSERT_TRUE(db->Rescue([&](std::string_view k, std::string_view d) {
                  saved.emplace(k, d);
                  return Status::OK();
                }).ok());
  EXPECT_EQ(saved, expected);
}

TEST_F(PmemBadInputTest, PoolOfAnotherLayout) {
  PMEMobjpool* pop = pmemobj_create(Path().c_str(), "not-ptdb", pmem_layout::kMinPoolSize, 0600);
  ASSERT_NE(pop, nullptr) << pmemobj_errormsg();
  pmemobj_close(pop);
  // libpmemobj itself rewrites runtime fields of its pool descriptor (in the first 8 KiB)
  // before it compares the layout; everything after that must stay as it was.
  const auto after_descriptor = [this] { return ReadFileBytes(Path()).substr(8192); };
  const std::string before = after_descriptor();
  for (int flags : {O_RDWR, O_RDWR | O_CREAT, O_RDONLY}) {
    Options options = ReopenRw();
    options.open_flags = flags;
    std::unique_ptr<Db> db;
    const Status s = Db::Open(Path(), options, &db);
    EXPECT_EQ(s.code(), Error::kCorrupt) << s.ToString();
    EXPECT_TRUE(MentionsWord(s.message(), "layout")) << s.ToString();
    EXPECT_EQ(db, nullptr);
  }
  EXPECT_TRUE(after_descriptor() == before) << "a refused open changed the pool";
}

TEST_F(PmemBadInputTest, FileThatIsNotAPool) {
  for (size_t size : {size_t(5), size_t(1) << 20, size_t(pmem_layout::kMinPoolSize)}) {
    SCOPED_TRACE("size " + std::to_string(size));
    std::string junk(size, '\0');
    for (size_t i = 0; i < size; i++) junk[i] = char(i * 131 + 7);
    WriteFileBytes(Path(), junk);
    for (BackendKind kind : {BackendKind::kPmem, BackendKind::kAuto}) {
      Options options = ReopenRw();
      options.backend = kind;
      std::unique_ptr<Db> db;
      const Status s = Db::Open(Path(), options, &db);
      EXPECT_EQ(s.code(), Error::kCorrupt) << s.ToString();
      // kAuto hands bytes it does not know to the file backend, with its own words.
      if (kind == BackendKind::kPmem) {
        EXPECT_TRUE(MentionsWord(s.message(), "not a ptdb pool")) << s.ToString();
      }
    }
    EXPECT_TRUE(ReadFileBytes(Path()) == junk) << "a refused open changed the file";
  }
}

TEST_F(PmemBadInputTest, PoolTooSmallToCreate) {
  for (uint64_t size : {uint64_t(1), pmem_layout::kMinPoolSize - 1, uint64_t(4) << 20}) {
    std::unique_ptr<Db> db;
    const Status s = Db::Open(Path(), PmemCreateOptions(size), &db);
    EXPECT_EQ(s.code(), Error::kEinval) << s.ToString();
    EXPECT_TRUE(MentionsWord(s.message(), "minimum")) << s.ToString();
    struct stat st;
    EXPECT_NE(stat(Path().c_str(), &st), 0) << "a refused create left a file behind";
  }
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(Path(), PmemCreateOptions(pmem_layout::kMinPoolSize), &db));
  PTDB_ASSERT_OK(db->Store("fits", "in the smallest pool"));
  PTDB_EXPECT_OK(db->Check());
}

// The process that created the pool died before the transaction that writes the
// database committed: a ptdb pool with no root, or a root still all zeros.
TEST_F(PmemBadInputTest, CreationCutShort) {
  for (bool with_root : {false, true}) {
    SCOPED_TRACE(with_root ? "zeroed root" : "no root");
    unlink(Path().c_str());
    PMEMobjpool* pop =
        pmemobj_create(Path().c_str(), pmem_layout::kLayoutName, pmem_layout::kMinPoolSize, 0600);
    ASSERT_NE(pop, nullptr) << pmemobj_errormsg();
    if (with_root) {
      ASSERT_FALSE(OID_IS_NULL(pmemobj_root(pop, pmem_layout::kRootSize)));
    }
    pmemobj_close(pop);

    std::unique_ptr<Db> db;
    Status s = OpenRw(&db);
    EXPECT_EQ(s.code(), Error::kCorrupt) << s.ToString();
    EXPECT_TRUE(MentionsWord(s.message(), "O_CREAT")) << s.ToString();
    Options create = ReopenRw();
    create.open_flags = O_RDWR | O_CREAT;
    PTDB_ASSERT_OK(Db::Open(Path(), create, &db));
    PTDB_ASSERT_OK(db->Store("k", "v"));
    PTDB_ASSERT_OK(db->Check());
    db.reset();
    PTDB_ASSERT_OK(OpenRw(&db));
    EXPECT_EQ(DumpDb(db.get()), (Dump{{"k", "v"}}));
  }
}

TEST_F(PmemBadInputTest, RootOfAnotherSize) {
  PMEMobjpool* pop =
      pmemobj_create(Path().c_str(), pmem_layout::kLayoutName, pmem_layout::kMinPoolSize, 0600);
  ASSERT_NE(pop, nullptr) << pmemobj_errormsg();
  ASSERT_FALSE(OID_IS_NULL(pmemobj_root(pop, 100)));
  pmemobj_close(pop);
  for (int flags : {O_RDWR, O_RDWR | O_CREAT}) {
    Options options = ReopenRw();
    options.open_flags = flags;
    std::unique_ptr<Db> db;
    const Status s = Db::Open(Path(), options, &db);
    EXPECT_EQ(s.code(), Error::kCorrupt) << s.ToString();
    EXPECT_TRUE(MentionsWord(s.message(), "root")) << s.ToString();
  }
  RawPool raw(Path());
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(pmemobj_root_size(raw.pool()), 100u) << "a refused open changed the root";
}

TEST_F(PmemBadInputTest, DamagedHeader) {
  MakePool(10);
  {
    RawPool raw(Path());
    ASSERT_TRUE(raw.ok());
    raw.header()->magic_food[0] ^= 1;
    raw.Persist(raw.header(), 1);
  }
  std::unique_ptr<Db> db;
  const Status s = OpenRw(&db);
  EXPECT_EQ(s.code(), Error::kCorrupt) << s.ToString();
  EXPECT_TRUE(MentionsWord(s.message(), "magic")) << s.ToString();
}

// The header's rules are the file's (common/header_checks.h), plus a pool's own: its
// first zone lies past the header.
TEST_F(PmemBadInputTest, HeaderFieldsAreCheckedAsAFileIs) {
  struct Damage {
    const char* what;
    void (*apply)(format::Header* h);
    const char* message;
  };
  const Damage damages[] = {
      {"version of the other byte order",
       [](format::Header* h) { h->version = __builtin_bswap64(format::kVersion); }, "byte order"},
      {"unknown version", [](format::Header* h) { h->version = format::kVersion + 1; }, "version"},
      {"features used but not offered",
       [](format::Header* h) { h->features_used |= uint64_t(1) << 63; }, "features"},
      {"first zone inside the header",
       [](format::Header* h) { h->first_zone = format::kHeaderSize - 8; }, "inside the header"},
  };
  for (const Damage& d : damages) {
    SCOPED_TRACE(d.what);
    unlink(Path().c_str());  // the previous damage's pool
    MakePool(3);
    {
      RawPool raw(Path());
      ASSERT_TRUE(raw.ok());
      d.apply(raw.header());
      raw.Persist(raw.header(), sizeof(format::Header));
    }
    std::unique_ptr<Db> db;
    const Status s = OpenRw(&db);
    EXPECT_EQ(s.code(), Error::kCorrupt) << s.ToString();
    EXPECT_NE(s.message().find(d.message), std::string_view::npos) << s.ToString();
  }
}

// Extents come from the pool's objects, not from the zone chain: a zone object nobody
// linked (or an object of a type ptdb never makes) is found.
TEST_F(PmemBadInputTest, ObjectsOutsideTheZoneChain) {
  const Dump expected = MakePool(100);
  {
    RawPool raw(Path());
    ASSERT_TRUE(raw.ok());
    PMEMoid stray;
    ASSERT_EQ(pmemobj_zalloc(raw.pool(), &stray, 256 << 10, pmem_layout::kZoneType), 0);
  }
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(OpenRw(&db));
  EXPECT_EQ(DumpDb(db.get()), expected);
  const Status s = db->Check();
  EXPECT_EQ(s.code(), Error::kCorrupt) << s.ToString();
  db.reset();

  {
    RawPool raw(Path());
    ASSERT_TRUE(raw.ok());
    PMEMoid foreign;
    ASSERT_EQ(pmemobj_zalloc(raw.pool(), &foreign, 64, 77), 0);
  }
  const Status open = OpenRw(&db);
  EXPECT_EQ(open.code(), Error::kCorrupt) << open.ToString();
  EXPECT_TRUE(MentionsWord(open.message(), "type 77")) << open.ToString();
}

// Offsets that point where no free record can be (into the header, into libpmemobj's
// lanes, past the pool) are kCorrupt, and nothing is written there.
TEST_F(PmemBadInputTest, OffsetsOutsideTheDatabase) {
  MakePool(50);
  const uint64_t outside[] = {4096, uint64_t(1) << 20, uint64_t(1) << 40};
  for (uint64_t target : outside) {
    SCOPED_TRACE("offset " + std::to_string(target));
    {
      RawPool raw(Path());
      ASSERT_TRUE(raw.ok());
      // Every free list of the first zone now starts outside the database.
      format::ZoneBody* body = reinterpret_cast<format::ZoneBody*>(
          raw.At(raw.header()->first_zone) + format::kUsedHeaderSize);
      for (uint64_t& head : body->buckets) head = target;
      raw.Persist(body->buckets, sizeof(body->buckets));
    }
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(OpenRw(&db));
    const Status check = db->Check();
    EXPECT_EQ(check.code(), Error::kCorrupt) << check.ToString();
    // Allocations walk the broken lists: they must fail, not write through them.
    Status store;
    for (int i = 0; i < 100 && store.ok(); i++) {
      store = db->Store("new-" + std::to_string(i), std::string(size_t(i), 'n'));
    }
    EXPECT_EQ(store.code(), Error::kCorrupt) << store.ToString();
    db.reset();
    {
      RawPool raw(Path());
      EXPECT_TRUE(raw.ok()) << "the pool itself was damaged: " << pmemobj_errormsg();
    }
    MakePool(50);
  }
}

}  // namespace
}  // namespace ptdb::test
