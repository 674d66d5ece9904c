// LoggedBlocks: which bytes a pool transaction may write with no undo-log call. Saying
// "covered" for a byte that was neither logged nor free at the start would lose it on
// an abort or a crash, so the tests probe the edges of every range.
#include "pmem/pmem_logged_blocks.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace ptdb {
namespace {

// Addresses in one made-up pool: only their values matter, nothing is dereferenced.
alignas(64) uint8_t pool[4096];

TEST(LoggedBlocksTest, RecordsCutOneBelowAnotherMakeOneRun) {
  LoggedBlocks logged;
  // Three 136-byte records cut from a free record's end, each below the last.
  logged.AddFresh(pool + 3000, pool + 3136);
  logged.AddFresh(pool + 2864, pool + 3000);
  logged.AddFresh(pool + 2728, pool + 2864);
  EXPECT_TRUE(logged.Covers(pool + 2728, 408));
  EXPECT_TRUE(logged.Covers(pool + 2990, 20));  // across two records
  EXPECT_FALSE(logged.Covers(pool + 2727, 1));
  EXPECT_FALSE(logged.Covers(pool + 3136, 1));
  EXPECT_FALSE(logged.Covers(pool + 3130, 8));  // runs past the end
}

TEST(LoggedBlocksTest, AFreshRangeApartFromTheRunLeavesTheGapUncovered) {
  LoggedBlocks logged;
  logged.AddFresh(pool + 1000, pool + 1100);
  logged.AddFresh(pool + 1200, pool + 1300);  // 100 bytes apart: not one run
  EXPECT_TRUE(logged.Covers(pool + 1000, 100));
  EXPECT_TRUE(logged.Covers(pool + 1200, 100));
  EXPECT_FALSE(logged.Covers(pool + 1100, 1));
  EXPECT_FALSE(logged.Covers(pool + 1150, 8));
  EXPECT_FALSE(logged.Covers(pool + 1199, 1));
}

TEST(LoggedBlocksTest, SnapshottedBlocksAndTheFreshRunTogether) {
  LoggedBlocks logged;
  logged.AddRange(pool + 64, pool + 128);  // a snapshot, in whole blocks
  logged.AddFresh(pool + 500, pool + 636);
  EXPECT_TRUE(logged.Covers(pool + 64, 64));
  EXPECT_TRUE(logged.Covers(pool + 500, 136));
  EXPECT_FALSE(logged.Covers(pool + 120, 16));  // half in the snapshot block
  EXPECT_FALSE(logged.Covers(pool + 300, 8));
}

TEST(LoggedBlocksTest, ClearForgetsTheRunAndTheBlocks) {
  LoggedBlocks logged;
  logged.AddRange(pool + 64, pool + 128);
  logged.AddFresh(pool + 500, pool + 636);
  logged.Clear();
  EXPECT_FALSE(logged.Covers(pool + 64, 8));
  EXPECT_FALSE(logged.Covers(pool + 500, 8));
  // A new transaction's run starts where its first fresh range is.
  logged.AddFresh(pool + 2000, pool + 2100);
  EXPECT_TRUE(logged.Covers(pool + 2000, 100));
  EXPECT_FALSE(logged.Covers(pool + 500, 8));
}

}  // namespace
}  // namespace ptdb
