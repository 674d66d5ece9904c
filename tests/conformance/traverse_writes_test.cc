// A traverse whose callback writes: records it moves, deletes, adds, a wipe, a nested
// walk. Every mode, and the file modes also without locks, where the walk reads the
// space in address order (common/engine.h) instead of the tree's order. Either way no
// record is visited twice or after its delete, and every record the callback leaves
// alone until its turn is visited.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ptdb/db.h"
#include "tests/conformance/fixture.h"
#include "tests/conformance/test_util.h"

namespace ptdb::test {
namespace {

class TraverseWritesTest : public DbModeTest {
 protected:
  // A pool's handle is its only writer anyway; a file's is with kNoLock.
  std::vector<unsigned> FlagSets() const {
    if (mode() == Mode::kPmem) return {0};
    return {0, kNoLock};
  }
  // Whether the walk reads the space in address order. Then every record the callback
  // does not delete before its turn is visited, moved or not. In the tree's order, a
  // record moved meanwhile may be missed, as the API allows for records changed during
  // the walk.
  bool SpaceOrder(unsigned flags) const { return mode() == Mode::kPmem || (flags & kNoLock); }
};

std::string Key(int i) { return "key-" + std::to_string(i); }

// Each visit appends to its own record and to another original one, so records keep
// moving both ways past the walk, deletes another, and now and then adds a key. Records
// freed next to each other make the allocator merge them while the walk is under way,
// and the added keys fill buckets that are then pushed a level down in the tree. The
// database's seed varies from run to run, and with it the order of the tree's walk.
TEST_P(TraverseWritesTest, EveryRecordOnceWhileTheCallbackMovesDeletesAndAdds) {
  for (unsigned flags : FlagSets()) {
    SCOPED_TRACE(flags == kNoLock ? "kNoLock" : "locks");
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(Create(&db, flags));
    constexpr int kRecords = 4000;
    std::map<std::string, std::string> model;
    for (int i = 0; i < kRecords; i++) {
      model[Key(i)] = std::string(40, char('a' + i % 26));
      PTDB_ASSERT_OK(db->Store(Key(i), model[Key(i)]));
    }
    Stats before;
    PTDB_ASSERT_OK(db->GetStats(&before));
    std::mt19937 rng(7);
    std::set<std::string> visited, deleted_unvisited, moved_unvisited;
    int added = 0;
    uint64_t count = 0;
    PTDB_ASSERT_OK(db->Traverse(
        [&](std::string_view k, std::string_view d) {
          const std::string key(k);
          EXPECT_TRUE(visited.insert(key).second) << "visited twice: " << key;
          EXPECT_EQ(deleted_unvisited.count(key), 0u) << "visited after its delete: " << key;
          if (key.rfind("key-", 0) != 0) return !HasFailure();  // an added key
          EXPECT_EQ(d, model[key]) << key;
          const std::string more(150, 'm');
          EXPECT_TRUE(db->Append(key, more).ok());
          model[key] += more;
          const std::string other = Key(int(rng() % kRecords));
          if (model.count(other) != 0 && other != key) {
            EXPECT_TRUE(db->Append(other, more).ok());
            model[other] += more;
            if (visited.count(other) == 0) moved_unvisited.insert(other);
          }
          if (visited.size() % 5 == 0) {
            // Two neighbours in the file, most likely: stored one after the other.
            const int first = int(rng() % (kRecords - 1));
            for (const std::string& victim : {Key(first), Key(first + 1)}) {
              if (victim == key || model.count(victim) == 0) continue;
              EXPECT_TRUE(db->Delete(victim).ok());
              model.erase(victim);
              if (visited.count(victim) == 0) deleted_unvisited.insert(victim);
            }
          }
          if (visited.size() % 7 == 0) {
            const std::string fresh = "added-" + std::to_string(added++);
            EXPECT_TRUE(db->Store(fresh, "new").ok());
            model[fresh] = "new";
          }
          return !HasFailure();
        },
        &count));
    ASSERT_FALSE(HasFailure());
    EXPECT_EQ(count, visited.size());
    for (int i = 0; i < kRecords; i++) {
      const std::string key = Key(i);
      EXPECT_TRUE(visited.count(key) != 0 || deleted_unvisited.count(key) != 0 ||
                  (moved_unvisited.count(key) != 0 && !SpaceOrder(flags)))
          << "never visited: " << key;
    }
    EXPECT_GT(moved_unvisited.size(), 500u);
    EXPECT_GT(deleted_unvisited.size(), 50u);
    Stats after;
    PTDB_ASSERT_OK(db->GetStats(&after));
    EXPECT_GT(after.alloc_coalesce_succeeded, before.alloc_coalesce_succeeded)
        << "no free records were merged during the walk";
    EXPECT_EQ(DumpDb(db.get()), model);
    PTDB_ASSERT_OK(db->Check());
  }
}

TEST_P(TraverseWritesTest, WipeInTheCallbackEndsTheWalkOverTheOldRecords) {
  for (unsigned flags : FlagSets()) {
    SCOPED_TRACE(flags == kNoLock ? "kNoLock" : "locks");
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(Create(&db, flags));
    for (int i = 0; i < 2000; i++) PTDB_ASSERT_OK(db->Store(Key(i), std::string(100, 'v')));
    int visits = 0, old_after_wipe = 0;
    bool wiped = false;
    PTDB_ASSERT_OK(db->Traverse([&](std::string_view k, std::string_view) {
      visits++;
      if (wiped && k.rfind("key-", 0) == 0) old_after_wipe++;
      if (visits == 10) {
        EXPECT_TRUE(db->WipeAll().ok());
        EXPECT_TRUE(db->Store("after", "wipe").ok());
        wiped = true;
      }
      return true;
    }));
    EXPECT_EQ(old_after_wipe, 0);
    EXPECT_LE(visits, 11);
    EXPECT_EQ(DumpDb(db.get()), (Dump{{"after", "wipe"}}));
    PTDB_ASSERT_OK(db->Check());
  }
}

// The inner walk moves every record it visits: the outer one sees none twice, and in
// space order sees each.
TEST_P(TraverseWritesTest, NestedWalkThatMovesRecords) {
  for (unsigned flags : FlagSets()) {
    SCOPED_TRACE(flags == kNoLock ? "kNoLock" : "locks");
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(Create(&db, flags));
    constexpr int kRecords = 1500;
    for (int i = 0; i < kRecords; i++) PTDB_ASSERT_OK(db->Store(Key(i), "x"));
    std::set<std::string> outer;
    int inner_walks = 0;
    PTDB_ASSERT_OK(db->Traverse([&](std::string_view k, std::string_view) {
      EXPECT_TRUE(outer.emplace(k).second) << "outer visited twice: " << k;
      if (outer.size() % 500 == 1) {
        inner_walks++;
        std::set<std::string> inner;
        EXPECT_TRUE(db->Traverse([&](std::string_view ik, std::string_view) {
                        EXPECT_TRUE(inner.emplace(ik).second) << "inner visited twice: " << ik;
                        EXPECT_TRUE(db->Append(ik, std::string(64, 'g')).ok());
                        return !HasFailure();
                      }).ok());
        EXPECT_EQ(inner.size(), size_t(kRecords));
      }
      return !HasFailure();
    }));
    EXPECT_EQ(inner_walks, 3);
    if (SpaceOrder(flags)) {
      EXPECT_EQ(outer.size(), size_t(kRecords));
    }
    std::string value;
    PTDB_ASSERT_OK(db->Fetch(Key(0), &value));
    EXPECT_EQ(value.size(), 1 + 3 * 64u);
    PTDB_ASSERT_OK(db->Check());
  }
}

// A walk inside a transaction whose callback cancels it: the records come back as they
// were, the walk ends without harm, and nothing is left inconsistent.
TEST_P(TraverseWritesTest, TransactionCancelledInTheCallback) {
  for (unsigned flags : FlagSets()) {
    SCOPED_TRACE(flags == kNoLock ? "kNoLock" : "locks");
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(Create(&db, flags));
    Dump before;
    for (int i = 0; i < 1000; i++) {
      before[Key(i)] = "v";
      PTDB_ASSERT_OK(db->Store(Key(i), "v"));
    }
    PTDB_ASSERT_OK(db->TransactionStart());
    int visits = 0;
    const Status st = db->Traverse([&](std::string_view k, std::string_view) {
      if (++visits <= 100) {
        EXPECT_TRUE(db->Append(k, std::string(300, 'a')).ok());
        EXPECT_TRUE(db->Store("added-" + std::to_string(visits), "n").ok());
      }
      if (visits == 100) {
        EXPECT_TRUE(db->TransactionCancel().ok());
      }
      return true;
    });
    PTDB_EXPECT_OK(st);
    EXPECT_GE(visits, 100);
    EXPECT_LE(visits, 1100);
    EXPECT_EQ(DumpDb(db.get()), before);
    PTDB_ASSERT_OK(db->Check());
  }
}

INSTANTIATE_TEST_SUITE_P(AllModes, TraverseWritesTest, ::testing::ValuesIn(AllModes()), ParamName);

}  // namespace
}  // namespace ptdb::test
