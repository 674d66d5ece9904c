// Write transactions through the public API: atomic, private until commit, nested only
// when asked, one sync per durable commit. Crash safety is tested in tests/crash/.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "ptdb/db.h"
#include "tests/conformance/fixture.h"
#include "tests/conformance/test_util.h"

namespace ptdb::test {
namespace {

using TransactionTest = DbModeTest;
using PersistentTransactionTest = DbModeTest;

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    const Status _s = (expr);                               \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s.ToString(); \
  } while (0)

std::string Fetched(Db* db, std::string_view key) {
  std::string value;
  const Status s = db->Fetch(key, &value);
  EXPECT_TRUE(s.ok()) << "Fetch '" << key << "': " << s.ToString();
  return value;
}

Dump Numbered(int from, int to, const std::string& tag) {
  Dump d;
  for (int i = from; i < to; i++) d["k" + std::to_string(i)] = tag + std::to_string(i * 31);
  return d;
}

void StoreAll(Db* db, const Dump& d) {
  for (const auto& [k, v] : d) ASSERT_OK(db->Store(k, v));
}

TEST_P(TransactionTest, CommitKeepsEveryChange) {
  std::unique_ptr<Db> db;
  ASSERT_OK(Create(&db));
  StoreAll(db.get(), Numbered(0, 50, "old"));
  ASSERT_OK(db->TransactionStart());
  Dump want = Numbered(0, 50, "old");
  for (int i = 0; i < 50; i += 2) {
    ASSERT_OK(db->Delete("k" + std::to_string(i)));
    want.erase("k" + std::to_string(i));
  }
  const Dump added = Numbered(100, 400, "new");
  StoreAll(db.get(), added);
  want.insert(added.begin(), added.end());
  ASSERT_OK(db->Append("k1", "+tail"));
  want["k1"] += "+tail";
  EXPECT_EQ(DumpDb(db.get()), want) << "the transaction sees its own changes";
  ASSERT_OK(db->TransactionCommit());
  EXPECT_EQ(DumpDb(db.get()), want);
  EXPECT_TRUE(db->Check().ok());
  if (persistent()) {
    db.reset();
    ASSERT_OK(Open(ReopenOptions(), &db));
    EXPECT_EQ(DumpDb(db.get()), want);
    EXPECT_TRUE(db->Check().ok());
  }
}

TEST_P(TransactionTest, CancelUndoesEverythingIncludingGrowthAndSeqnum) {
  std::unique_ptr<Db> db;
  ASSERT_OK(Create(&db, kSeqnum));
  const Dump before = Numbered(0, 20, "v");
  StoreAll(db.get(), before);
  uint64_t seq_before;
  ASSERT_OK(db->GetSeqnum(&seq_before));
  ASSERT_OK(db->TransactionStart());
  StoreAll(db.get(), Numbered(1000, 6000, "grow"));  // enough to add zones
  ASSERT_OK(db->Delete("k3"));
  ASSERT_OK(db->WipeAll());
  uint64_t seq_inside;
  ASSERT_OK(db->GetSeqnum(&seq_inside));
  EXPECT_GT(seq_inside, seq_before);
  ASSERT_OK(db->TransactionCancel());
  EXPECT_EQ(DumpDb(db.get()), before);
  uint64_t seq_after;
  ASSERT_OK(db->GetSeqnum(&seq_after));
  EXPECT_EQ(seq_after, seq_before);
  EXPECT_TRUE(db->Check().ok());
  // The handle writes normally afterwards, and its allocator forgot the dropped zones.
  StoreAll(db.get(), Numbered(20, 3000, "after"));
  EXPECT_TRUE(db->Check().ok());
}

TEST_P(TransactionTest, NestingIsRefusedUnlessAllowed) {
  std::unique_ptr<Db> db;
  ASSERT_OK(Create(&db));
  ASSERT_OK(db->TransactionStart());
  EXPECT_EQ(db->TransactionStart().code(), Error::kEinval);
  ASSERT_OK(db->Store("a", "1"));
  ASSERT_OK(db->TransactionCommit());
  EXPECT_EQ(Fetched(db.get(), "a"), "1");
}

TEST_P(TransactionTest, NestedCommitsCountAndInnerCancelFailsTheOuter) {
  std::unique_ptr<Db> db;
  ASSERT_OK(Create(&db, kAllowNesting));
  ASSERT_OK(db->TransactionStart());
  ASSERT_OK(db->Store("a", "1"));
  ASSERT_OK(db->TransactionStart());
  ASSERT_OK(db->Store("b", "2"));
  ASSERT_OK(db->TransactionCommit());  // inner: only counts
  ASSERT_OK(db->TransactionCommit());
  EXPECT_EQ(DumpDb(db.get()), (Dump{{"a", "1"}, {"b", "2"}}));

  ASSERT_OK(db->TransactionStart());
  ASSERT_OK(db->Store("c", "3"));
  ASSERT_OK(db->TransactionStart());
  ASSERT_OK(db->Store("d", "4"));
  ASSERT_OK(db->TransactionCancel());  // inner cancel dooms the outer one
  EXPECT_EQ(db->TransactionCommit().code(), Error::kEinval);
  EXPECT_EQ(DumpDb(db.get()), (Dump{{"a", "1"}, {"b", "2"}}));
  EXPECT_TRUE(db->Check().ok());
}

TEST_P(TransactionTest, MisuseGivesClearErrors) {
  std::unique_ptr<Db> db;
  ASSERT_OK(Create(&db));
  EXPECT_EQ(db->TransactionCommit().code(), Error::kEinval);
  EXPECT_EQ(db->TransactionCancel().code(), Error::kEinval);
  EXPECT_EQ(db->TransactionPrepareCommit().code(), Error::kEinval);
  if (mode() != Mode::kInternal) {
    ASSERT_OK(db->ChainLock("x"));
    EXPECT_EQ(db->TransactionStart().code(), Error::kLock);
    ASSERT_OK(db->ChainUnlock("x"));
  }
  ASSERT_OK(db->TransactionStart());
  ASSERT_OK(db->Store("x", "1"));
  ASSERT_OK(db->TransactionPrepareCommit());
  ASSERT_OK(db->TransactionPrepareCommit());  // idempotent
  ASSERT_OK(db->TransactionCommit());
  EXPECT_EQ(Fetched(db.get(), "x"), "1");
}

TEST_P(PersistentTransactionTest, ReadOnlyHandleCannotStart) {
  {
    std::unique_ptr<Db> db;
    ASSERT_OK(Create(&db));
  }
  std::unique_ptr<Db> ro;
  Options o = ReopenOptions();
  o.open_flags = O_RDONLY;
  ASSERT_OK(Open(o, &ro));
  EXPECT_EQ(ro->TransactionStart().code(), Error::kRdonly);
}

TEST_P(PersistentTransactionTest, DurableCommitSyncsOnceAndNoSyncNever) {
  std::unique_ptr<Db> db;
  ASSERT_OK(Create(&db));
  Stats s0;
  ASSERT_OK(db->GetStats(&s0));
  for (int t = 0; t < 5; t++) {
    ASSERT_OK(db->TransactionStart());
    for (int i = 0; i < 10; i++) ASSERT_OK(db->Store("k" + std::to_string(t * 10 + i), "v"));
    ASSERT_OK(db->TransactionCommit());
  }
  Stats s1;
  ASSERT_OK(db->GetStats(&s1));
  EXPECT_EQ(s1.transactions - s0.transactions, 5u);
  // A pool's commit persists with cache flushes inside libpmemobj: no sync call at all.
  const uint64_t want_syncs = mode() == Mode::kPmem ? 0 : 5;
  EXPECT_EQ(s1.syncs - s0.syncs, want_syncs) << "one sync per durable commit on a file";
  ASSERT_OK(db->AddFlag(kNoSync));
  ASSERT_OK(db->TransactionStart());
  ASSERT_OK(db->Store("nosync", "v"));
  ASSERT_OK(db->TransactionCommit());
  Stats s2;
  ASSERT_OK(db->GetStats(&s2));
  EXPECT_EQ(s2.syncs, s1.syncs);
  EXPECT_EQ(Fetched(db.get(), "nosync"), "v");
}

TEST_P(PersistentTransactionTest, OtherProcessSeesOldDataUntilCommit) {
  std::unique_ptr<Db> db;
  ASSERT_OK(Create(&db));
  ASSERT_OK(db->Store("key", "old"));
  ASSERT_OK(db->TransactionStart());
  ASSERT_OK(db->Store("key", "new"));
  ASSERT_OK(db->Store("added", "x"));
  // A child opens its own handle and reads while the transaction is open. A pool has one
  // process (docs/pmem.md): there the child cannot open it at all, before or after the
  // commit (threads are tested in tests/pmem/transaction_test.cc).
  auto child_reads = [&](const std::string& want_key, bool want_added) {
    const pid_t pid = fork();
    if (pid == 0) {
      alarm(20);
      std::unique_ptr<Db> other;
      const Status open = Open(ReopenOptions(), &other);
      if (mode() == Mode::kPmem) _exit(open.code() == Error::kLock ? 0 : 13);
      if (!open.ok()) _exit(10);
      std::string v;
      if (!other->Fetch("key", &v).ok() || v != want_key) _exit(11);
      bool exists;
      if (!other->Exists("added", &exists).ok() || exists != want_added) _exit(12);
      _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
  };
  EXPECT_EQ(child_reads("old", false), 0);
  ASSERT_OK(db->TransactionCommit());
  EXPECT_EQ(child_reads("new", true), 0);
}

TEST_P(PersistentTransactionTest, BulkTransactionReopensClean) {
  std::unique_ptr<Db> db;
  ASSERT_OK(Create(&db));
  const Dump d = Numbered(0, 20000, "bulk");
  ASSERT_OK(db->TransactionStart());
  StoreAll(db.get(), d);
  ASSERT_OK(db->TransactionCommit());
  db.reset();
  ASSERT_OK(Open(ReopenOptions(), &db));
  EXPECT_EQ(DumpDb(db.get()), d);
  EXPECT_TRUE(db->Check().ok());
}

INSTANTIATE_TEST_SUITE_P(Modes, TransactionTest, ::testing::ValuesIn(AllModes()), ParamName);
INSTANTIATE_TEST_SUITE_P(PersistentModes, PersistentTransactionTest,
                         ::testing::Values(Mode::kFileMmap, Mode::kFileNoMmap, Mode::kPmem),
                         ParamName);

}  // namespace
}  // namespace ptdb::test
