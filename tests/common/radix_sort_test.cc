#include "common/radix_sort.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace ptdb {
namespace {

using Items = std::vector<std::pair<uint64_t, uint32_t>>;

// Distinct multiples of 8 in [base, base + span), in random order, each with its index.
Items RandomOffsets(uint64_t base, uint64_t span, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::set<uint64_t> taken;
  Items items;
  while (items.size() < n) {
    const uint64_t off = base + 8 * (rng() % (span / 8));
    if (taken.insert(off).second) items.push_back({off, uint32_t(items.size())});
  }
  return items;
}

TEST(RadixSortTest, SortsLikeStdSortAcrossOneAndSeveralPasses) {
  // Spans of 2^11 slots and less (one pass), 2^22 (two), 2^23 (three).
  for (const uint64_t span :
       {uint64_t{64}, uint64_t{8} << 11, uint64_t{8} << 22, uint64_t{8} << 23}) {
    Items items = RandomOffsets(123456 * 8, span, std::min<uint64_t>(span / 8, 50000), span);
    Items want = items;
    std::sort(want.begin(), want.end());
    SortByOffset(&items, 123456 * 8, span, 3);
    EXPECT_EQ(items, want) << "span " << span;
  }
}

TEST(RadixSortTest, OffsetsFarAboveTheBase) {
  // A zone at 2^40: only the offsets' differences from the base are sorted on.
  const uint64_t base = uint64_t{1} << 40;
  Items items = {{base + 8 * 5000, 0}, {base, 1}, {base + (uint64_t{8} << 30), 2}, {base + 8, 3}};
  SortByOffset(&items, base, (uint64_t{8} << 30) + 8, 3);
  EXPECT_EQ(
      items,
      (Items{{base, 1}, {base + 8, 3}, {base + 8 * 5000, 0}, {base + (uint64_t{8} << 30), 2}}));
}

TEST(RadixSortTest, EmptyAndOne) {
  Items none;
  SortByOffset(&none, 0, 1 << 20, 3);
  EXPECT_TRUE(none.empty());
  Items one = {{4096, 7}};
  SortByOffset(&one, 0, 1 << 20, 3);
  EXPECT_EQ(one, (Items{{4096, 7}}));
}

}  // namespace
}  // namespace ptdb
