// The bookkeeping of a traverse in space order (common/traverse_placements.h): which
// records written during the walk it passes over and which it owes a visit at the end.
#include "common/traverse_placements.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace ptdb {
namespace {

using Places = std::vector<uint64_t>;

TEST(TraversePlacementsTest, NothingPlacedSkipsNothingAndOwesNothing) {
  TraversePlacements p(nullptr);
  p.set_cursor(1000);
  EXPECT_FALSE(p.Skip(500));
  EXPECT_FALSE(p.Skip(2000));
  EXPECT_TRUE(p.owed().empty());
}

TEST(TraversePlacementsTest, NewKeysAheadAreSkippedAndBehindAreNotOwed) {
  TraversePlacements p(nullptr);
  p.set_cursor(1000);
  p.Placed("ahead", 0, 4000);
  p.Placed("behind", 0, 200);
  EXPECT_TRUE(p.Skip(4000));
  EXPECT_FALSE(p.Skip(200));
  EXPECT_TRUE(p.owed().empty());
}

TEST(TraversePlacementsTest, VisitedRecordMovedAheadIsSkipped) {
  TraversePlacements p(nullptr);
  p.set_cursor(1000);
  p.Placed("k", 800, 3000);  // the walk passed 800
  EXPECT_TRUE(p.Skip(3000));
  EXPECT_TRUE(p.owed().empty());
  // Moved on again, ahead: its old place is free now, its new one skipped.
  p.Placed("k", 3000, 5000);
  EXPECT_FALSE(p.Skip(3000));
  EXPECT_TRUE(p.Skip(5000));
  EXPECT_TRUE(p.owed().empty());
}

TEST(TraversePlacementsTest, UnvisitedRecordMovedAheadIsVisitedWhereItLands) {
  TraversePlacements p(nullptr);
  p.set_cursor(1000);
  p.Placed("k", 2000, 3000);
  EXPECT_FALSE(p.Skip(3000));
  EXPECT_TRUE(p.owed().empty());
}

TEST(TraversePlacementsTest, UnvisitedRecordMovedBehindIsOwedWithEveryLaterPlace) {
  TraversePlacements p(nullptr);
  p.set_cursor(1000);
  p.Placed("k", 2000, 300);
  ASSERT_EQ(p.owed().size(), 1u);
  EXPECT_EQ(p.owed().at("k"), Places({300}));
  // Moved ahead now: still owed (the walk skips it there), and owed once.
  p.Placed("k", 300, 6000);
  EXPECT_TRUE(p.Skip(6000));
  p.set_cursor(7000);
  p.Placed("k", 6000, 100);
  ASSERT_EQ(p.owed().size(), 1u);
  EXPECT_EQ(p.owed().at("k"), Places({300, 6000, 100}));
}

TEST(TraversePlacementsTest, SpaceReusedByAnUnvisitedRecordIsNoLongerSkipped) {
  TraversePlacements p(nullptr);
  p.set_cursor(1000);
  p.Placed("new", 0, 4000);
  ASSERT_TRUE(p.Skip(4000));
  // "new" moves away, and an unvisited record moves into its old place: the walk
  // must visit that one there.
  p.Placed("new", 4000, 9000);
  p.Placed("old", 5000, 4000);
  EXPECT_FALSE(p.Skip(4000));
  EXPECT_TRUE(p.Skip(9000));
  EXPECT_TRUE(p.owed().empty());
}

TEST(TraversePlacementsTest, RecordPlacedAheadThenMovedBehindIsNotOwed) {
  TraversePlacements p(nullptr);
  p.set_cursor(1000);
  p.Placed("k", 500, 3000);  // visited, moved ahead: skipped there
  p.Placed("k", 3000, 200);  // and back behind: visited already
  EXPECT_TRUE(p.owed().empty());
  EXPECT_FALSE(p.Skip(3000));
}

TEST(TraversePlacementsTest, KeepsItsOuterWalk) {
  TraversePlacements outer(nullptr);
  TraversePlacements inner(&outer);
  EXPECT_EQ(inner.outer(), &outer);
  EXPECT_EQ(outer.outer(), nullptr);
}

}  // namespace
}  // namespace ptdb
