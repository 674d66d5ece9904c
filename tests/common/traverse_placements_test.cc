// The bookkeeping of a traverse in space order (common/traverse_placements.h): which
// records written during the walk it passes over and which it owes a visit at the end.
#include "common/traverse_placements.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace ptdb {
namespace {

using Places = std::vector<uint64_t>;

// Names the database the walks in these tests walk.
const int kSpace = 0;

TEST(TraversePlacementsTest, NothingPlacedSkipsNothingAndOwesNothing) {
  TraversePlacements p(&kSpace);
  p.set_cursor(1000);
  EXPECT_FALSE(p.Skip(500));
  EXPECT_FALSE(p.Skip(2000));
  EXPECT_TRUE(p.owed().empty());
}

TEST(TraversePlacementsTest, NewKeysAheadAreSkippedAndBehindAreNotOwed) {
  TraversePlacements p(&kSpace);
  p.set_cursor(1000);
  p.Placed("ahead", 0, 4000);
  p.Placed("behind", 0, 200);
  EXPECT_TRUE(p.Skip(4000));
  EXPECT_FALSE(p.Skip(200));
  EXPECT_TRUE(p.owed().empty());
}

TEST(TraversePlacementsTest, VisitedRecordMovedAheadIsSkipped) {
  TraversePlacements p(&kSpace);
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
  TraversePlacements p(&kSpace);
  p.set_cursor(1000);
  p.Placed("k", 2000, 3000);
  EXPECT_FALSE(p.Skip(3000));
  EXPECT_TRUE(p.owed().empty());
}

TEST(TraversePlacementsTest, UnvisitedRecordMovedBehindIsOwedWithEveryLaterPlace) {
  TraversePlacements p(&kSpace);
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
  TraversePlacements p(&kSpace);
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
  TraversePlacements p(&kSpace);
  p.set_cursor(1000);
  p.Placed("k", 500, 3000);  // visited, moved ahead: skipped there
  p.Placed("k", 3000, 200);  // and back behind: visited already
  EXPECT_TRUE(p.owed().empty());
  EXPECT_FALSE(p.Skip(3000));
}

// Each thread tells its own walks, of the database written to only: nested walks of the
// same database all hear of a placement, a walk of another one does not, and a walk
// that ended hears of nothing.
TEST(TraversePlacementsTest, PlacementsReachTheThreadsWalksOfTheSameSpace) {
  const int other_space = 0;
  TraversePlacements outer(&kSpace);
  outer.set_cursor(1000);
  {
    TraversePlacements other(&other_space);
    other.set_cursor(1000);
    {
      TraversePlacements inner(&kSpace);
      inner.set_cursor(1000);
      TraversePlacements::NotePlaced(&kSpace, "k", 0, 2000);
      EXPECT_TRUE(inner.Skip(2000));
      EXPECT_TRUE(outer.Skip(2000));
      EXPECT_FALSE(other.Skip(2000));
    }
    TraversePlacements::NotePlaced(&other_space, "j", 0, 3000);
    EXPECT_TRUE(other.Skip(3000));
    EXPECT_FALSE(outer.Skip(3000));
  }
  // Another thread's placements are its own walks' business.
  std::thread([] { TraversePlacements::NotePlaced(&kSpace, "t", 0, 4000); }).join();
  EXPECT_FALSE(outer.Skip(4000));
}

}  // namespace
}  // namespace ptdb
