// A handle opened with kNoLock (one process, no locks) that dies between two calls leaves
// a whole file holding everything those calls did. The cases that broke it: a commit,
// then plain writes (by the same handle, or by the next kNoLock process), then the crash.
// The commit's bundle stayed pending, so the next locked open replayed it over the plain
// writes: a record moved by a plain write came back at its old, freed place, and check()
// found the free lists corrupt. Now the first plain write after a commit retires the
// bundle, as a locked handle's does, and a kNoLock open recovers as a lone opener does.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>

#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

class NoLockCrashTest : public ::testing::TestWithParam<bool> {
 protected:
  Options ChildOptions() const {
    Options o;
    o.flags = kNoLock | (GetParam() ? 0u : unsigned(kNoMmap));
    o.open_flags = O_RDWR | O_CREAT;
    return o;
  }

  // Runs fn on a kNoLock handle in a child that then dies without closing it. fn also
  // runs here without a database (db null), to build the model of what it does.
  void RunAndDie(const std::function<void(Db*, Dump*)>& fn, Dump* model) {
    fn(nullptr, model);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::unique_ptr<Db> db;
      if (!Db::Open(path_, ChildOptions(), &db).ok()) _exit(2);
      Dump scratch;
      fn(db.get(), &scratch);
      _exit(0);  // a crash: no close
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "the child died of a signal";
    ASSERT_EQ(WEXITSTATUS(status), 0) << "the child's calls failed";
  }

  void ExpectFileHolds(const Dump& model) {
    Options o;
    o.open_flags = O_RDWR;
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(Db::Open(path_, o, &db));
    PTDB_EXPECT_OK(db->Check());
    EXPECT_EQ(DumpDb(db.get()), model);
  }

  TempDir dir_;
  const std::string path_ = dir_.File("db.ptdb");
};

// Each step acts on the database (db non-null) or only on the model (db null).
void Put(Db* db, Dump* model, const std::string& key, const std::string& value) {
  if (db != nullptr && !db->Store(key, value).ok()) _exit(4);
  (*model)[key] = value;
}
void Remove(Db* db, Dump* model, const std::string& key) {
  if (db != nullptr && !db->Delete(key).ok()) _exit(5);
  model->erase(key);
}
void InTransaction(Db* db, const std::function<void()>& body) {
  if (db != nullptr && !db->TransactionStart().ok()) _exit(6);
  body();
  if (db != nullptr && !db->TransactionCommit().ok()) _exit(7);
}

// A commit over plain records, then plain writes over what it did: a value that no
// longer fits moves its record, a delete frees one, and new records may reuse the space
// the transaction freed.
void Commit(Db* db, Dump* m) {
  for (int i = 0; i < 100; i++) Put(db, m, "plain" + std::to_string(i), "before");
  InTransaction(db, [&] {
    Put(db, m, "k", "v1");
    Put(db, m, "plain7", "changed in the transaction");
    Remove(db, m, "plain8");
  });
}
void PlainWritesAfter(Db* db, Dump* m) {
  Put(db, m, "k", std::string(500, 'z'));
  Remove(db, m, "plain5");
  Put(db, m, "plain7", "changed again, by a plain write");
  for (int i = 0; i < 20; i++) Put(db, m, "after" + std::to_string(i), "a plain write");
}

TEST_P(NoLockCrashTest, PlainWritesAfterACommitSurviveACrash) {
  Dump model;
  ASSERT_NO_FATAL_FAILURE(RunAndDie(
      [](Db* db, Dump* m) {
        Commit(db, m);
        PlainWritesAfter(db, m);
      },
      &model));
  ExpectFileHolds(model);
}

TEST_P(NoLockCrashTest, CommitsBetweenPlainWritesSurviveACrash) {
  Dump model;
  ASSERT_NO_FATAL_FAILURE(RunAndDie(
      [](Db* db, Dump* m) {
        for (int round = 0; round < 5; round++) {
          const std::string r = std::to_string(round);
          InTransaction(db, [&] {
            for (int i = 0; i < 10; i++) Put(db, m, "tx" + std::to_string(i), "round " + r);
          });
          for (int i = 0; i < 10; i++) {
            Put(db, m, "tx" + std::to_string(i), std::string(50 + 30 * round, 'p'));
          }
          if (round % 2 == 1) Remove(db, m, "tx3");
        }
      },
      &model));
  ExpectFileHolds(model);
}

// The commit and the plain writes in two processes, one after the other, each dying
// without a close: the second one's open must retire (replay) the first one's bundle
// before it writes, as an opener that is alone does.
TEST_P(NoLockCrashTest, PlainWritesOfTheNextProcessSurviveACrash) {
  Dump model;
  ASSERT_NO_FATAL_FAILURE(RunAndDie(Commit, &model));
  ASSERT_NO_FATAL_FAILURE(RunAndDie(PlainWritesAfter, &model));
  ExpectFileHolds(model);
}

// Only reads after the last commit: its bundle is still pending at the crash, and the
// next open replays it, which changes nothing.
TEST_P(NoLockCrashTest, ACommitFollowedOnlyByReadsSurvivesACrash) {
  Dump model;
  ASSERT_NO_FATAL_FAILURE(RunAndDie(
      [](Db* db, Dump* m) {
        for (int i = 0; i < 50; i++) Put(db, m, "plain" + std::to_string(i), "before");
        InTransaction(db, [&] {
          Put(db, m, "k", "v1");
          Remove(db, m, "plain1");
        });
        std::string value;
        if (db != nullptr && (!db->Fetch("k", &value).ok() || value != "v1")) _exit(8);
      },
      &model));
  ExpectFileHolds(model);
}

INSTANTIATE_TEST_SUITE_P(Mapping, NoLockCrashTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "Mmap" : "NoMmap");
                         });

}  // namespace
}  // namespace ptdb::test
