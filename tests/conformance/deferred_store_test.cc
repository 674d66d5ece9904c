// Replaces inside a write transaction are held back and applied together at the
// handle's next call (frontend/deferred_stores.h, Engine::StoreBatch). Whatever call
// comes next, and in whatever mix with other writes, the database must look as if each
// replace had been applied when it was made.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>

#include "ptdb/db.h"
#include "tests/conformance/fixture.h"
#include "tests/conformance/test_util.h"

namespace ptdb::test {
namespace {

class DeferredStoreTest : public DbModeTest {
 protected:
  // Requires `want` and a clean check, and after a reopen again (persistent modes).
  void ExpectAfterReopen(std::unique_ptr<Db>* db, const Dump& want) {
    EXPECT_EQ(DumpDb(db->get()), want);
    PTDB_EXPECT_OK((*db)->Check());
    if (!persistent()) return;
    db->reset();
    PTDB_ASSERT_OK(Open(ReopenOptions(), db));
    EXPECT_EQ(DumpDb(db->get()), want);
    PTDB_EXPECT_OK((*db)->Check());
  }
};

std::string Key(int i) { return "key-" + std::to_string(i); }

TEST_P(DeferredStoreTest, EveryReadSeesTheReplacesMadeBeforeIt) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db));
  Dump model;
  for (int i = 0; i < 50; i++) {
    model[Key(i)] = "old";
    PTDB_ASSERT_OK(db->Store(Key(i), "old"));
  }
  PTDB_ASSERT_OK(db->TransactionStart());
  // Existing keys and new ones, a few at a time, each batch followed by another read.
  for (int i = 40; i < 60; i++) {
    model[Key(i)] = "new-" + std::to_string(i);
    PTDB_ASSERT_OK(db->Store(Key(i), model[Key(i)]));
  }
  std::string value;
  PTDB_ASSERT_OK(db->Fetch(Key(59), &value));
  EXPECT_EQ(value, "new-59");
  model[Key(60)] = "sixty";
  PTDB_ASSERT_OK(db->Store(Key(60), "sixty"));
  bool exists = false;
  PTDB_ASSERT_OK(db->Exists(Key(60), &exists));
  EXPECT_TRUE(exists);
  model[Key(61)] = "parsed";
  PTDB_ASSERT_OK(db->Store(Key(61), "parsed"));
  std::string parsed;
  PTDB_ASSERT_OK(db->ParseRecord(Key(61), [&](std::string_view, std::string_view data) {
    parsed = data;
    return Status::OK();
  }));
  EXPECT_EQ(parsed, "parsed");
  model[Key(62)] = "walked";
  PTDB_ASSERT_OK(db->Store(Key(62), "walked"));
  EXPECT_EQ(DumpDb(db.get()), model);
  model[Key(63)] = "listed";
  PTDB_ASSERT_OK(db->Store(Key(63), "listed"));
  std::string key;
  size_t listed = 0;
  for (Status st = db->FirstKey(&key); st.ok(); st = db->NextKey(&key)) listed++;
  EXPECT_EQ(listed, model.size());
  model[Key(64)] = "checked";
  PTDB_ASSERT_OK(db->Store(Key(64), "checked"));
  uint64_t records = 0;
  PTDB_ASSERT_OK(db->Check([&](std::string_view, std::string_view) {
    records++;
    return Status::OK();
  }));
  EXPECT_EQ(records, model.size());
  PTDB_ASSERT_OK(db->TransactionCommit());
  ExpectAfterReopen(&db, model);
}

// Held-back replaces keep their place among the writes that are not held back: a big
// value, a delete, an append, an insert or a modify of the same key.
TEST_P(DeferredStoreTest, OrderIsKeptWithEveryOtherWrite) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db));
  PTDB_ASSERT_OK(db->TransactionStart());
  const std::string big(5000, 'b');
  PTDB_ASSERT_OK(db->Store("k", "1"));
  PTDB_ASSERT_OK(db->Store("k", big));
  std::string value;
  PTDB_ASSERT_OK(db->Fetch("k", &value));
  EXPECT_EQ(value, big);
  PTDB_ASSERT_OK(db->Store("k", "3"));
  PTDB_ASSERT_OK(db->Store("j", "a"));
  PTDB_ASSERT_OK(db->Delete("j"));
  PTDB_ASSERT_OK(db->Store("j", "b"));
  PTDB_ASSERT_OK(db->Append("j", "c"));
  PTDB_ASSERT_OK(db->Store("m", "x"));
  EXPECT_EQ(db->Store("m", "y", StoreMode::kInsert).code(), Error::kExists);
  PTDB_ASSERT_OK(db->Store("n", "x"));
  PTDB_ASSERT_OK(db->Store("n", "z", StoreMode::kModify));
  PTDB_ASSERT_OK(db->Store("d", "gone"));
  PTDB_ASSERT_OK(db->Delete("d"));
  EXPECT_EQ(db->Delete("d").code(), Error::kNoExist);
  PTDB_ASSERT_OK(db->Store("w", "before the wipe"));
  PTDB_ASSERT_OK(db->WipeAll());
  EXPECT_EQ(DumpDb(db.get()), Dump{});
  PTDB_ASSERT_OK(db->Store("k", "3"));
  PTDB_ASSERT_OK(db->Store("j", "b"));
  PTDB_ASSERT_OK(db->Append("j", "c"));
  PTDB_ASSERT_OK(db->Store("k", "4"));
  PTDB_ASSERT_OK(db->TransactionCommit());
  ExpectAfterReopen(&db, Dump{{"j", "bc"}, {"k", "4"}});
}

TEST_P(DeferredStoreTest, CancelDropsTheReplacesHeldBack) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db));
  PTDB_ASSERT_OK(db->Store("kept", "1"));
  PTDB_ASSERT_OK(db->TransactionStart());
  for (int i = 0; i < 5; i++) PTDB_ASSERT_OK(db->Store(Key(i), "cancelled"));
  PTDB_ASSERT_OK(db->Store("kept", "cancelled"));
  PTDB_ASSERT_OK(db->TransactionCancel());
  EXPECT_EQ(DumpDb(db.get()), (Dump{{"kept", "1"}}));
  // The next transaction starts with nothing held back.
  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->Store("next", "2"));
  PTDB_ASSERT_OK(db->TransactionCommit());
  ExpectAfterReopen(&db, Dump{{"kept", "1"}, {"next", "2"}});
}

TEST_P(DeferredStoreTest, PrepareCommitAppliesThem) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db));
  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->Store("a", "1"));
  PTDB_ASSERT_OK(db->Store("b", "2"));
  PTDB_ASSERT_OK(db->TransactionPrepareCommit());
  PTDB_ASSERT_OK(db->TransactionCommit());
  ExpectAfterReopen(&db, Dump{{"a", "1"}, {"b", "2"}});
}

TEST_P(DeferredStoreTest, NestedTransactionsShareThem) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db, kAllowNesting));
  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->Store("outer", "1"));
  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->Store("inner", "2"));
  PTDB_ASSERT_OK(db->TransactionCommit());
  PTDB_ASSERT_OK(db->Store("after", "3"));
  PTDB_ASSERT_OK(db->TransactionCommit());
  const Dump committed{{"after", "3"}, {"inner", "2"}, {"outer", "1"}};
  EXPECT_EQ(DumpDb(db.get()), committed);
  // An inner cancel fails the outer commit, replaces held back or not.
  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->Store("inner", "cancelled"));
  PTDB_ASSERT_OK(db->TransactionCancel());
  PTDB_ASSERT_OK(db->Store("outer", "lost"));
  EXPECT_EQ(db->TransactionCommit().code(), Error::kEinval);
  ExpectAfterReopen(&db, committed);
}

// A replace the caller's own read lock refuses is refused at once, not held back.
TEST_P(DeferredStoreTest, RefusedAtOnceUnderTheCallersReadLock) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db));
  PTDB_ASSERT_OK(db->TransactionStart());
  PTDB_ASSERT_OK(db->ChainLockRead("k"));
  EXPECT_EQ(db->Store("k", "v").code(), Error::kLock);
  PTDB_ASSERT_OK(db->ChainUnlockRead("k"));
  PTDB_ASSERT_OK(db->Store("other", "v"));
  PTDB_ASSERT_OK(db->TransactionCommit());
  ExpectAfterReopen(&db, Dump{{"other", "v"}});
}

// More replaces than one batch holds, of sizes on both sides of what is held back,
// mixed with reads, over existing and new keys: the same result as a model.
TEST_P(DeferredStoreTest, ManyReplacesMatchAModel) {
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Create(&db));
  std::mt19937 rng(11);
  Dump model;
  for (int i = 0; i < 500; i++) {
    model[Key(i)] = std::string(1 + rng() % 200, 'o');
    PTDB_ASSERT_OK(db->Store(Key(i), model[Key(i)]));
  }
  for (int tx = 0; tx < 4; tx++) {
    SCOPED_TRACE("transaction " + std::to_string(tx));
    PTDB_ASSERT_OK(db->TransactionStart());
    for (int op = 0; op < 300; op++) {
      const std::string key = Key(int(rng() % 700));
      if (rng() % 8 == 0) {
        std::string value;
        const Status st = db->Fetch(key, &value);
        if (model.count(key)) {
          PTDB_ASSERT_OK(st);
          ASSERT_EQ(value, model[key]);
        } else {
          ASSERT_EQ(st.code(), Error::kNoExist);
        }
        continue;
      }
      const std::string value(1 + rng() % 1200, char('a' + op % 26));
      model[key] = value;
      PTDB_ASSERT_OK(db->Store(key, value));
    }
    PTDB_ASSERT_OK(db->TransactionCommit());
    EXPECT_EQ(DumpDb(db.get()), model);
  }
  ExpectAfterReopen(&db, model);
}

INSTANTIATE_TEST_SUITE_P(AllModes, DeferredStoreTest, ::testing::ValuesIn(AllModes()), ParamName);

}  // namespace
}  // namespace ptdb::test
