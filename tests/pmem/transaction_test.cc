// User transactions on a pool, beyond the conformance suite: an operation that fails
// inside one is taken back alone, a transaction larger than the pool's free space fails
// cleanly, a transaction libpmemobj aborted can only be cancelled, other threads never
// see uncommitted data, and a thread has one transaction at a time across pools.
#include <gtest/gtest.h>
#include <libpmemobj.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/pmem/pmem_test_util.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

class PmemTransactionTest : public ::testing::Test {
 protected:
  std::string Path(const char* base = "db.pool") const { return dir_.File(base); }
  void Create(std::unique_ptr<Db>* db, uint64_t pool_size = 0, unsigned flags = 0) {
    PTDB_ASSERT_OK(Db::Open(Path(), PmemCreateOptions(pool_size, flags), db));
  }
  // Closes *db, reopens the pool and requires `want` and a clean check.
  void ExpectAfterReopen(std::unique_ptr<Db>* db, const Dump& want) {
    db->reset();
    PTDB_ASSERT_OK(Db::Open(Path(), ReopenRw(), db));
    PTDB_EXPECT_OK((*db)->Check());
    EXPECT_EQ(DumpDb(db->get()), want);
  }

  TempDir dir_;
};

std::string Value(int i, size_t len) {
  std::string v(len, '\0');
  for (size_t j = 0; j < len; j++) v[j] = char(i * 13 + int(j));
  return v;
}

TEST_F(PmemTransactionTest, FailedOperationsLeaveTheTransactionAlive) {
  std::unique_ptr<Db> db;
  Create(&db);
  PTDB_ASSERT_OK(db->Store("old", "1"));
  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->Store("a", "2"));
  EXPECT_EQ(db->Store("old", "x", StoreMode::kInsert).code(), Error::kExists);
  EXPECT_EQ(db->Store("a", "x", StoreMode::kInsert).code(), Error::kExists);
  EXPECT_EQ(db->Store("missing", "x", StoreMode::kModify).code(), Error::kNoExist);
  EXPECT_EQ(db->Delete("missing").code(), Error::kNoExist);
  PTDB_ASSERT_OK(db->Delete("old"));
  PTDB_ASSERT_OK(db->Store("b", "3"));
  PTDB_EXPECT_OK(db->Check());
  PTDB_ASSERT_OK(db->TransactionPrepareCommit());
  PTDB_ASSERT_OK(db->TransactionCommit());
  const Dump want{{"a", "2"}, {"b", "3"}};
  EXPECT_EQ(DumpDb(db.get()), want);
  ExpectAfterReopen(&db, want);
}

// A pool too small for the transaction: the store that does not fit fails with kOom and
// leaves nothing, while the transaction keeps what came before it (commit) or drops all
// of it (cancel). Both pool limits: zones (new records) and the undo log (values
// overwritten in place, each logged whole).
TEST_F(PmemTransactionTest, TransactionLargerThanThePoolFailsCleanly) {
  for (const bool in_place : {false, true}) {
    for (const bool commit : {true, false}) {
      SCOPED_TRACE(std::string(in_place ? "overwrites" : "new records") +
                   (commit ? ", commit" : ", cancel"));
      constexpr size_t kLen = 256 << 10;
      std::unique_ptr<Db> db;
      Create(&db, pmem_layout::kMinPoolSize * 2);
      Dump before;
      for (int i = 0; in_place && i < 16; i++) {
        const std::string key = "big" + std::to_string(i);
        PTDB_ASSERT_OK(db->Store(key, Value(i, kLen)));
        before[key] = Value(i, kLen);
      }
      PTDB_ASSERT_OK(db->Store("small", "s"));
      before["small"] = "s";
      Dump model = before;
      PTDB_ASSERT_OK(db->TransactionStart());
      Status failed;
      int done = 0;
      for (int i = 0; i < 1000 && failed.ok(); i++) {
        const std::string key = "big" + std::to_string(in_place ? i % 16 : 100 + i);
        const std::string value = Value(1000 + i, kLen);
        failed = db->Store(key, value);
        if (failed.ok()) {
          model[key] = value;
          done++;
        }
      }
      ASSERT_EQ(failed.code(), Error::kOom) << failed.ToString();
      EXPECT_TRUE(MentionsWord(failed.message(), in_place ? "undo log" : "pool is full"))
          << failed.ToString();
      ASSERT_GT(done, 0) << "nothing fitted: the test proved nothing";
      // The transaction is alive and consistent, with everything before the failure.
      EXPECT_EQ(DumpDb(db.get()), model);
      PTDB_EXPECT_OK(db->Check());
      PTDB_ASSERT_OK(db->Store("small", "t"));
      model["small"] = "t";
      if (commit) {
        PTDB_ASSERT_OK(db->TransactionCommit());
      } else {
        PTDB_ASSERT_OK(db->TransactionCancel());
        model = before;
      }
      EXPECT_EQ(DumpDb(db.get()), model);
      PTDB_EXPECT_OK(db->Check());
      ExpectAfterReopen(&db, model);
      if (HasFatalFailure()) return;
    }
  }
}

// Replaces inside a transaction are held back (frontend/deferred_stores.h). One that
// meets a full pool when they are applied fails the call that applied them, and the
// transaction, which the caller was told had stored it: the commit fails and leaves
// the database as it was.
TEST_F(PmemTransactionTest, HeldBackReplaceThatDoesNotFitFailsTheTransaction) {
  std::unique_ptr<Db> db;
  Create(&db, pmem_layout::kMinPoolSize * 2);
  PTDB_ASSERT_OK(db->Store("kept", "1"));
  const Dump before{{"kept", "1"}};
  PTDB_ASSERT_OK(db->TransactionStart());
  Status failed;
  int made = 0;
  for (int i = 0; i < 1000000 && failed.ok(); i++, made++) {
    failed = db->Store("key" + std::to_string(i), Value(i, 1000));
  }
  ASSERT_EQ(failed.code(), Error::kOom) << failed.ToString();
  EXPECT_TRUE(MentionsWord(failed.message(), "earlier")) << failed.ToString();
  ASSERT_GT(made, 16) << "the pool filled before a batch was held back";
  std::string value;
  PTDB_EXPECT_OK(db->Fetch("kept", &value));
  const Status commit = db->TransactionCommit();
  EXPECT_EQ(commit.code(), Error::kOom) << commit.ToString();
  EXPECT_TRUE(MentionsWord(commit.message(), "commit")) << commit.ToString();
  EXPECT_EQ(DumpDb(db.get()), before);
  PTDB_EXPECT_OK(db->Check());
  ExpectAfterReopen(&db, before);
  // The next transaction starts afresh.
  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->Store("next", "2"));
  PTDB_ASSERT_OK(db->TransactionCommit());
  ExpectAfterReopen(&db, Dump{{"kept", "1"}, {"next", "2"}});
}

// libpmemobj aborting the transaction by itself (here: the test aborts it, on the
// transaction's thread) undoes all of it; every later write and the commit say so, and
// the handle works again once the transaction is over.
TEST_F(PmemTransactionTest, TransactionAbortedByLibpmemobjCannotCommit) {
  for (const bool end_by_commit : {true, false}) {
    SCOPED_TRACE(end_by_commit ? "commit" : "cancel");
    std::unique_ptr<Db> db;
    Create(&db);
    PTDB_ASSERT_OK(db->Store("kept", "1"));
    PTDB_ASSERT_OK(db->TransactionStart());
    PTDB_ASSERT_OK(db->Store("a", Value(1, 5000)));
    PTDB_ASSERT_OK(db->Delete("kept"));
    ASSERT_EQ(pmemobj_tx_stage(), TX_STAGE_WORK);
    pmemobj_tx_abort(ENOMEM);
    const Status store = db->Store("b", "2");
    EXPECT_EQ(store.code(), Error::kOom) << store.ToString();
    EXPECT_TRUE(MentionsWord(store.message(), "cancel")) << store.ToString();
    EXPECT_EQ(db->TransactionPrepareCommit().code(), Error::kOom);
    // Reads see the state before the transaction: the abort undid it already.
    EXPECT_EQ(DumpDb(db.get()), (Dump{{"kept", "1"}}));
    if (end_by_commit) {
      const Status commit = db->TransactionCommit();
      EXPECT_EQ(commit.code(), Error::kOom);
      EXPECT_TRUE(MentionsWord(commit.message(), "committed")) << commit.ToString();
    } else {
      PTDB_ASSERT_OK(db->TransactionCancel());
    }
    EXPECT_EQ(pmemobj_tx_stage(), TX_STAGE_NONE);
    PTDB_ASSERT_OK(db->Store("after", "3"));
    PTDB_ASSERT_OK(db->TransactionStart());
    PTDB_ASSERT_OK(db->Store("next", "4"));
    PTDB_ASSERT_OK(db->TransactionCommit());
    ExpectAfterReopen(&db, Dump{{"kept", "1"}, {"after", "3"}, {"next", "4"}});
    if (HasFatalFailure()) return;
  }
}

TEST_F(PmemTransactionTest, SeqnumAndWipeCommit) {
  std::unique_ptr<Db> db;
  Create(&db, 0, kSeqnum);
  for (int i = 0; i < 100; i++) PTDB_ASSERT_OK(db->Store("k" + std::to_string(i), "v"));
  uint64_t seq_before;
  PTDB_ASSERT_OK(db->GetSeqnum(&seq_before));
  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->WipeAll());
  PTDB_ASSERT_OK(db->Store("only", "1"));
  PTDB_ASSERT_OK(db->TransactionCommit());
  uint64_t seq_after;
  PTDB_ASSERT_OK(db->GetSeqnum(&seq_after));
  EXPECT_EQ(seq_after, seq_before + 2);
  ExpectAfterReopen(&db, Dump{{"only", "1"}});
  PTDB_ASSERT_OK(db->GetSeqnum(&seq_after));
  EXPECT_EQ(seq_after, seq_before + 2);
}

TEST_F(PmemTransactionTest, ClosingInsideATransactionCancelsIt) {
  std::unique_ptr<Db> db;
  Create(&db);
  PTDB_ASSERT_OK(db->Store("a", "1"));
  PTDB_ASSERT_OK(db->TransactionStart());
  for (int i = 0; i < 3000; i++) PTDB_ASSERT_OK(db->Store("n" + std::to_string(i), "x"));
  PTDB_ASSERT_OK(db->Delete("a"));
  db.reset();
  EXPECT_EQ(pmemobj_tx_stage(), TX_STAGE_NONE);
  PTDB_ASSERT_OK(Db::Open(Path(), ReopenRw(), &db));
  PTDB_EXPECT_OK(db->Check());
  EXPECT_EQ(DumpDb(db.get()), (Dump{{"a", "1"}}));
}

TEST_F(PmemTransactionTest, InnerCancelUndoesTheWholeNest) {
  std::unique_ptr<Db> db;
  Create(&db, 0, kAllowNesting);
  PTDB_ASSERT_OK(db->Store("a", "1"));
  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->Store("b", "2"));
  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->Store("c", "3"));
  PTDB_ASSERT_OK(db->TransactionCommit());
  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->Delete("a"));
  PTDB_ASSERT_OK(db->TransactionCancel());
  EXPECT_EQ(db->TransactionCommit().code(), Error::kEinval);
  EXPECT_EQ(pmemobj_tx_stage(), TX_STAGE_NONE);
  ExpectAfterReopen(&db, Dump{{"a", "1"}});
}

// A wipe keeps only the first zone and gives the other zone objects back to the pool,
// when its transaction commits: a cancelled one keeps them all.
TEST_F(PmemTransactionTest, WipeGivesZonesBackOnCommit) {
  auto objects = [&] {
    RawPool pool(Path());
    EXPECT_TRUE(pool.ok()) << pmemobj_errormsg();
    return pool.ok() ? pool.Objects().size() : 0;
  };
  std::unique_ptr<Db> db;
  Create(&db);
  Dump all;
  for (int i = 0; i < 20000; i++) all["k" + std::to_string(i)] = Value(i, 200);
  for (const auto& [k, v] : all) PTDB_ASSERT_OK(db->Store(k, v));
  db.reset();
  const size_t zones = objects();
  ASSERT_GT(zones, 1u) << "the test needs several zones";

  PTDB_ASSERT_OK(Db::Open(Path(), ReopenRw(), &db));
  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->WipeAll());
  PTDB_ASSERT_OK(db->Store("x", "1"));
  PTDB_EXPECT_OK(db->Check());
  PTDB_ASSERT_OK(db->TransactionCancel());
  db.reset();
  EXPECT_EQ(objects(), zones);
  ExpectAfterReopen(&db, all);

  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->WipeAll());
  PTDB_ASSERT_OK(db->Store("x", "1"));
  PTDB_ASSERT_OK(db->TransactionCommit());
  db.reset();
  EXPECT_EQ(objects(), 1u);
  ExpectAfterReopen(&db, Dump{{"x", "1"}});
  // The database grows again into the space given back.
  for (const auto& [k, v] : all) PTDB_ASSERT_OK(db->Store(k, v));
  all["x"] = "1";
  ExpectAfterReopen(&db, all);
}

// Repack (a transaction: read every record, wipe_all, store them back) leaves the
// records in as few zones as they need; the wiped zones go back to the pool.
TEST_F(PmemTransactionTest, RepackShrinksThePool) {
  auto objects = [&] {
    RawPool pool(Path());
    EXPECT_TRUE(pool.ok()) << pmemobj_errormsg();
    return pool.ok() ? pool.Objects().size() : 0;
  };
  std::unique_ptr<Db> db;
  Create(&db);
  Dump kept;
  for (int i = 0; i < 20000; i++) {
    const std::string key = "k" + std::to_string(i);
    PTDB_ASSERT_OK(db->Store(key, Value(i, 200)));
    if (i % 10 == 0) kept[key] = Value(i, 200);
  }
  for (int i = 0; i < 20000; i++) {
    if (i % 10 != 0) PTDB_ASSERT_OK(db->Delete("k" + std::to_string(i)));
  }
  db.reset();
  const size_t before = objects();
  PTDB_ASSERT_OK(Db::Open(Path(), ReopenRw(), &db));
  PTDB_ASSERT_OK(db->Repack());
  EXPECT_EQ(DumpDb(db.get()), kept);
  db.reset();
  EXPECT_LT(objects(), before);
  ExpectAfterReopen(&db, kept);
}

// One thread commits and cancels transactions on a key; another reads it all along and
// must only ever see committed values. Build with -fsanitize=thread to check races.
TEST_F(PmemTransactionTest, OtherThreadsNeverSeeUncommittedData) {
  std::unique_ptr<Db> db;
  Create(&db);
  PTDB_ASSERT_OK(db->Store("key", "committed-start"));
  constexpr int kTransactions = 400;
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, refused{0};
  std::atomic<bool> failed{false};
  std::string bad;
  std::thread reader([&] {
    while (!done.load()) {
      std::string v;
      const Status s = db->Fetch("key", &v);
      if (s.code() == Error::kLock) {
        refused++;
      } else if (!s.ok() || v.rfind("committed-", 0) != 0) {
        bad = s.ok() ? v : s.ToString();
        failed = true;
        return;
      } else {
        reads++;
      }
    }
  });
  // The reader must be running before the transactions start (on a busy machine it may
  // otherwise first be scheduled after the last one).
  while (reads.load() + refused.load() == 0 && !failed.load()) std::this_thread::yield();
  for (int t = 0; t < kTransactions; t++) {
    PTDB_ASSERT_OK(db->TransactionStart());
    PTDB_ASSERT_OK(db->Store("key", "uncommitted-" + std::to_string(t)));
    PTDB_ASSERT_OK(db->Store("other" + std::to_string(t % 7), Value(t, 300)));
    if (t % 3 == 0) {
      PTDB_ASSERT_OK(db->TransactionCancel());
      continue;
    }
    PTDB_ASSERT_OK(db->Store("key", "committed-" + std::to_string(t)));
    PTDB_ASSERT_OK(db->TransactionCommit());
  }
  done = true;
  reader.join();
  EXPECT_EQ(bad, "") << "the reader saw data of an uncommitted transaction";
  int last = kTransactions - 1;
  while (last % 3 == 0) last--;
  std::string v;
  PTDB_ASSERT_OK(db->Fetch("key", &v));
  EXPECT_EQ(v, "committed-" + std::to_string(last));
  PTDB_EXPECT_OK(db->Check());
}

// libpmemobj gives a thread one transaction at a time: while it has one open on a pool,
// its writes to another pool are refused with a clear error, and its reads work.
TEST_F(PmemTransactionTest, OneTransactionPerThreadAcrossPools) {
  std::unique_ptr<Db> db, other;
  Create(&db);
  PTDB_ASSERT_OK(Db::Open(Path("other.pool"), PmemCreateOptions(), &other));
  PTDB_ASSERT_OK(other->Store("x", "1"));
  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->Store("a", "1"));
  const Status store = other->Store("y", "2");
  EXPECT_EQ(store.code(), Error::kEinval);
  EXPECT_TRUE(MentionsWord(store.message(), "another")) << store.ToString();
  EXPECT_EQ(other->TransactionStart().code(), Error::kEinval);
  std::string v;
  PTDB_ASSERT_OK(other->Fetch("x", &v));
  EXPECT_EQ(v, "1");
  // Another thread may use the other pool meanwhile.
  std::thread([&] { PTDB_EXPECT_OK(other->Store("z", "3")); }).join();
  PTDB_ASSERT_OK(db->TransactionCommit());
  PTDB_ASSERT_OK(other->Store("y", "2"));
  EXPECT_EQ(DumpDb(other.get()), (Dump{{"x", "1"}, {"y", "2"}, {"z", "3"}}));
  EXPECT_EQ(DumpDb(db.get()), (Dump{{"a", "1"}}));
}

}  // namespace
}  // namespace ptdb::test
