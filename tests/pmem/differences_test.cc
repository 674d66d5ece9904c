// Where a pmem database must differ from a file database (docs/pmem.md, "Differences"):
// no file descriptor, so no open hook; always mapped, so no kNoMmap; libpmemobj's own
// lock, so one handle per pool and no lock hooks. Each difference is a clear error, not
// a silent change of meaning. Also: open(2) flags, and how Open picks the backend.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

class PmemDifferencesTest : public ::testing::Test {
 protected:
  std::string Path() const { return dir_.File("db.pool"); }

  // Creates the pool with one record.
  void MakePool() {
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(Db::Open(Path(), PmemCreateOptions(), &db));
    PTDB_ASSERT_OK(db->Store("k", "v"));
  }

  // The pool still opens and holds exactly {"k": "v"}.
  void ExpectPoolIntact() {
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(Db::Open(Path(), ReopenRw(), &db));
    EXPECT_EQ(DumpDb(db.get()), (Dump{{"k", "v"}}));
    PTDB_EXPECT_OK(db->Check());
  }

  TempDir dir_;
};

TEST_F(PmemDifferencesTest, NoFileDescriptor) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(Path(), PmemCreateOptions(), &db));
  EXPECT_EQ(db->Fd(), -1);
}

TEST_F(PmemDifferencesTest, OpenHookIsRefused) {
  Options options = PmemCreateOptions();
  int calls = 0;
  options.open_hook = [&](int) {
    calls++;
    return Status::OK();
  };
  std::unique_ptr<Db> db;
  Status s = Db::Open(Path(), options, &db);
  EXPECT_EQ(s.code(), Error::kEinval) << s.ToString();
  EXPECT_TRUE(MentionsWord(s.message(), "open hook")) << s.ToString();
  EXPECT_EQ(db, nullptr);

  MakePool();
  Options reopen = ReopenRw();
  reopen.open_hook = options.open_hook;
  s = Db::Open(Path(), reopen, &db);
  EXPECT_EQ(s.code(), Error::kEinval) << s.ToString();
  EXPECT_EQ(calls, 0);
  ExpectPoolIntact();
}

TEST_F(PmemDifferencesTest, NoMmapIsRefused) {
  std::unique_ptr<Db> db;
  Status s = Db::Open(Path(), PmemCreateOptions(0, kNoMmap), &db);
  EXPECT_EQ(s.code(), Error::kEinval) << s.ToString();
  EXPECT_TRUE(MentionsWord(s.message(), "kNoMmap")) << s.ToString();

  PTDB_ASSERT_OK(Db::Open(Path(), PmemCreateOptions(), &db));
  const unsigned before = db->GetFlags();
  s = db->AddFlag(kNoMmap);
  EXPECT_EQ(s.code(), Error::kEinval) << s.ToString();
  EXPECT_TRUE(MentionsWord(s.message(), "mapped")) << s.ToString();
  EXPECT_EQ(db->GetFlags(), before);
  // Removing a flag that is not set changes nothing and is fine.
  PTDB_EXPECT_OK(db->RemoveFlag(kNoMmap));
  PTDB_ASSERT_OK(db->Store("still", "writable"));
  PTDB_EXPECT_OK(db->Check());
}

TEST_F(PmemDifferencesTest, OtherSettableFlagsWork) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(Path(), PmemCreateOptions(), &db));
  Dump expected;
  for (unsigned flag : {kNoSync, kSeqnum, kAllowNesting, kNoLock}) {
    SCOPED_TRACE("flag " + std::to_string(flag));
    PTDB_ASSERT_OK(db->AddFlag(flag));
    EXPECT_NE(db->GetFlags() & flag, 0u);
    PTDB_ASSERT_OK(db->Store("with-" + std::to_string(flag), "on"));
    expected["with-" + std::to_string(flag)] = "on";
    PTDB_ASSERT_OK(db->RemoveFlag(flag));
    EXPECT_EQ(db->GetFlags() & flag, 0u);
    PTDB_ASSERT_OK(db->Store("without-" + std::to_string(flag), "off"));
    expected["without-" + std::to_string(flag)] = "off";
  }
  EXPECT_EQ(DumpDb(db.get()), expected);
  PTDB_EXPECT_OK(db->Check());
}

TEST_F(PmemDifferencesTest, LockHooksAndLockModeAreRefused) {
  Options hooks = PmemCreateOptions();
  hooks.lock_hooks.lock = [](int, int, uint64_t, uint64_t, bool) { return 0; };
  hooks.lock_hooks.unlock = [](int, int, uint64_t, uint64_t) { return 0; };
  Options mode = PmemCreateOptions();
  mode.lock_mode = LockMode::kFcntl;
  for (const Options& options : {hooks, mode}) {
    std::unique_ptr<Db> db;
    const Status s = Db::Open(Path(), options, &db);
    EXPECT_EQ(s.code(), Error::kEinval) << s.ToString();
    EXPECT_TRUE(MentionsWord(s.message(), "lock")) << s.ToString();
    EXPECT_EQ(db, nullptr);
  }
  struct stat st;
  EXPECT_NE(stat(Path().c_str(), &st), 0) << "a refused create left a file behind";
}

TEST_F(PmemDifferencesTest, InternalHasNoPool) {
  Options options = PmemCreateOptions(0, kInternal);
  std::unique_ptr<Db> db;
  const Status s = Db::Open("internal", options, &db);
  EXPECT_EQ(s.code(), Error::kEinval) << s.ToString();
}

TEST_F(PmemDifferencesTest, SecondHandleInTheProcessIsRefused) {
  MakePool();
  std::unique_ptr<Db> first;
  PTDB_ASSERT_OK(Db::Open(Path(), ReopenRw(), &first));
  std::unique_ptr<Db> second;
  const Status s = Db::Open(Path(), ReopenRw(), &second);
  EXPECT_EQ(s.code(), Error::kLock) << s.ToString();
  EXPECT_TRUE(MentionsWord(s.message(), "in use")) << s.ToString();
  EXPECT_EQ(second, nullptr);
  // The first handle is unharmed.
  PTDB_ASSERT_OK(first->Store("k2", "v2"));
  PTDB_ASSERT_OK(first->Delete("k2"));
  first.reset();
  ExpectPoolIntact();
}

// A child process holds the pool open until told to go.
class PoolHolder {
 public:
  explicit PoolHolder(const std::string& path) {
    int ready[2], go[2];
    if (pipe(ready) != 0 || pipe(go) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(ready[0]);
      close(go[1]);
      std::unique_ptr<Db> db;
      const char ok = Db::Open(path, ReopenRw(), &db).ok() ? 'y' : 'n';
      if (write(ready[1], &ok, 1) != 1) _exit(2);
      char c;
      (void)!read(go[0], &c, 1);
      db.reset();
      _exit(0);
    }
    close(ready[1]);
    close(go[0]);
    go_ = go[1];
    char c = 'n';
    opened_ = read(ready[0], &c, 1) == 1 && c == 'y';
    close(ready[0]);
  }
  ~PoolHolder() {
    if (go_ >= 0) close(go_);  // the child's read returns: it closes the pool and exits
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  bool opened() const { return opened_; }

 private:
  pid_t pid_ = -1;
  int go_ = -1;
  bool opened_ = false;
};

TEST_F(PmemDifferencesTest, PoolOpenInAnotherProcessIsLock) {
  MakePool();
  {
    PoolHolder holder(Path());
    ASSERT_TRUE(holder.opened());
    std::unique_ptr<Db> db;
    Status s = Db::Open(Path(), ReopenRw(), &db);
    EXPECT_EQ(s.code(), Error::kLock) << s.ToString();
    EXPECT_TRUE(MentionsWord(s.message(), "in use by another process")) << s.ToString();
    // Re-creating it under the holder is refused as well, and destroys nothing.
    s = Db::Open(Path(), PmemCreateOptions(), &db);
    EXPECT_EQ(s.code(), Error::kLock) << s.ToString();
  }
  ExpectPoolIntact();
}

TEST_F(PmemDifferencesTest, OpenFlags) {
  std::unique_ptr<Db> db;
  Options rw = ReopenRw();
  rw.backend = BackendKind::kPmem;
  // Absent, without O_CREAT: as open(2).
  Status s = Db::Open(Path(), rw, &db);
  EXPECT_EQ(s.code(), Error::kIo) << s.ToString();
  // Creating needs O_RDWR.
  Options create_ro = PmemCreateOptions();
  create_ro.open_flags = O_RDONLY | O_CREAT;
  s = Db::Open(Path(), create_ro, &db);
  EXPECT_EQ(s.code(), Error::kEinval) << s.ToString();

  MakePool();
  // O_EXCL on an existing pool: as open(2), and the pool is left alone.
  Options excl = PmemCreateOptions();
  excl.open_flags = O_RDWR | O_CREAT | O_EXCL;
  s = Db::Open(Path(), excl, &db);
  EXPECT_EQ(s.code(), Error::kIo) << s.ToString();
  // O_TRUNC re-creates the pool, which needs O_CREAT.
  Options trunc = ReopenRw();
  trunc.open_flags = O_RDWR | O_TRUNC;
  s = Db::Open(Path(), trunc, &db);
  EXPECT_EQ(s.code(), Error::kEinval) << s.ToString();
  // O_CREAT alone opens what is there.
  Options create = PmemCreateOptions();
  create.open_flags = O_RDWR | O_CREAT;
  PTDB_ASSERT_OK(Db::Open(Path(), create, &db));
  EXPECT_EQ(DumpDb(db.get()), (Dump{{"k", "v"}}));
  db.reset();
  ExpectPoolIntact();

  PTDB_ASSERT_OK(Db::Open(Path(), PmemCreateOptions(), &db));
  EXPECT_TRUE(DumpDb(db.get()).empty()) << "O_TRUNC kept the records";
  PTDB_EXPECT_OK(db->Check());
}

TEST_F(PmemDifferencesTest, PoolSizeIsTheFileSize) {
  for (uint64_t size : {uint64_t(0), pmem_layout::kMinPoolSize, uint64_t(24) << 20}) {
    SCOPED_TRACE("pool_size " + std::to_string(size));
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(Db::Open(Path(), PmemCreateOptions(size), &db));
    struct stat st;
    ASSERT_EQ(stat(Path().c_str(), &st), 0);
    EXPECT_EQ(uint64_t(st.st_size), size ? size : pmem_layout::kDefaultPoolSize);
    PTDB_EXPECT_OK(db->Check());
  }
}

// An existing database keeps its backend; Options::backend chooses only for a new one,
// or for one O_TRUNC re-creates.
TEST_F(PmemDifferencesTest, BackendIsDetected) {
  MakePool();
  Options as_file = ReopenRw();
  as_file.backend = BackendKind::kFile;
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(Path(), as_file, &db));
  EXPECT_EQ(db->Fd(), -1) << "a pool was opened as a file";
  EXPECT_EQ(DumpDb(db.get()), (Dump{{"k", "v"}}));
  db.reset();

  as_file.open_flags = O_RDWR | O_CREAT | O_TRUNC;
  PTDB_ASSERT_OK(Db::Open(Path(), as_file, &db));
  EXPECT_GE(db->Fd(), 0) << "O_TRUNC with kFile did not make a file database";
  PTDB_ASSERT_OK(db->Store("file", "yes"));
  db.reset();
  EXPECT_EQ(ReadFileBytes(Path()).substr(0, sizeof(format::kMagicFood) - 1),
            std::string(format::kMagicFood));

  Options as_pmem = ReopenRw();
  as_pmem.backend = BackendKind::kPmem;
  PTDB_ASSERT_OK(Db::Open(Path(), as_pmem, &db));
  EXPECT_GE(db->Fd(), 0) << "a file was opened as a pool";
  EXPECT_EQ(DumpDb(db.get()), (Dump{{"file", "yes"}}));
}

}  // namespace
}  // namespace ptdb::test
