// FreshSpace's freed ranges, below the public API: which bytes a transaction freed, so
// that a write there is logged though it lands in a free record's body.
#include "pmem/pmem_fresh_space.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace ptdb {
namespace {

TEST(FreshRangesTest, RangesReportedInAddressOrderAreEachRemembered) {
  // As coalescing reports the headers it merges away: 24 bytes every 132.
  FreshSpace fresh;
  for (uint64_t i = 0; i < 1000; i++) fresh.Freed(1000 + 132 * i, 24);
  for (uint64_t i = 0; i < 1000; i++) {
    const uint64_t at = 1000 + 132 * i;
    EXPECT_FALSE(fresh.FreeAtStart(at, 24)) << at;
    EXPECT_FALSE(fresh.FreeAtStart(at + 23, 1)) << at;
    EXPECT_FALSE(fresh.FreeAtStart(at - 10, 20)) << "overlaps the start of " << at;
    EXPECT_TRUE(fresh.FreeAtStart(at + 24, 108)) << "the body after " << at;
  }
  EXPECT_TRUE(fresh.FreeAtStart(0, 1000));
  EXPECT_TRUE(fresh.FreeAtStart(1000 + 132 * 999 + 24, 5000));
}

TEST(FreshRangesTest, AgreesWithAByteMapInAnyOrder) {
  std::mt19937_64 rng(3);
  for (int round = 0; round < 200; round++) {
    FreshSpace fresh;
    std::vector<bool> freed(4096);
    uint64_t next = 0;
    for (int i = 0; i < 60; i++) {
      // Mostly ascending and touching or not (the fast path), sometimes anywhere.
      uint64_t off = rng() % 4 == 0 ? rng() % 4000 : next + rng() % 3;
      if (off >= 4000) off = rng() % 4000;
      const uint64_t len = 1 + rng() % 40;
      fresh.Freed(off, len);
      for (uint64_t b = off; b < off + len; b++) freed[b] = true;
      next = off + len;
    }
    for (int q = 0; q < 400; q++) {
      const uint64_t off = rng() % 4000, len = 1 + rng() % 60;
      bool any = false;
      for (uint64_t b = off; b < off + len; b++) any = any || freed[b];
      ASSERT_EQ(fresh.FreeAtStart(off, len), !any) << "round " << round << " at " << off;
    }
  }
}

}  // namespace
}  // namespace ptdb
