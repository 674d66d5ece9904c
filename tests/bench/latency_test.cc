// The latency summary ptdb-bench prints: nearest-rank percentiles of per-operation times.
#include "bench/latency.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

namespace ptdb::bench {
namespace {

TEST(LatencyTest, NearestRankPercentilesOfShuffledTimes) {
  std::vector<uint32_t> samples;
  for (uint32_t ns = 1; ns <= 1000; ns++) samples.push_back(ns);
  std::shuffle(samples.begin(), samples.end(), std::mt19937(7));
  const LatencySummary s = SummarizeLatencies(samples);
  EXPECT_EQ(s.count, 1000u);
  EXPECT_EQ(s.p50_ns, 500u);
  EXPECT_EQ(s.p99_ns, 990u);
  EXPECT_EQ(s.p999_ns, 999u);
  EXPECT_EQ(s.max_ns, 1000u);
}

TEST(LatencyTest, OneStallShowsOnlyAtTheTop) {
  std::vector<uint32_t> samples(10000, 700);
  samples[4321] = 9'000'000;
  const LatencySummary s = SummarizeLatencies(samples);
  EXPECT_EQ(s.p50_ns, 700u);
  EXPECT_EQ(s.p99_ns, 700u);
  EXPECT_EQ(s.p999_ns, 700u);
  EXPECT_EQ(s.max_ns, 9'000'000u);
}

TEST(LatencyTest, FewSamples) {
  EXPECT_EQ(SummarizeLatencies({}).count, 0u);
  const LatencySummary one = SummarizeLatencies({42});
  EXPECT_EQ(one.count, 1u);
  EXPECT_EQ(one.p50_ns, 42u);
  EXPECT_EQ(one.p999_ns, 42u);
  EXPECT_EQ(one.max_ns, 42u);
  const LatencySummary two = SummarizeLatencies({30, 10});
  EXPECT_EQ(two.p50_ns, 10u);
  EXPECT_EQ(two.p99_ns, 30u);
}

TEST(LatencyTest, EachLapEndsOneOperation) {
  using std::chrono::microseconds;
  using std::chrono::seconds;
  const LatencyLog::Clock::time_point t0{};
  LatencyLog log(4);
  log.Start(t0);
  log.Lap(t0 + microseconds(5));
  log.Lap(t0 + microseconds(2005));
  log.Lap(t0 + microseconds(2005) + seconds(10));  // kept as the longest time it can hold
  const LatencySummary s = log.Summarize();
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(s.p50_ns, 2'000'000u);
  EXPECT_EQ(s.max_ns, uint64_t{UINT32_MAX});
  EXPECT_EQ(SummarizeLatencies({5000, 2'000'000}).p50_ns, 5000u);
}

}  // namespace
}  // namespace ptdb::bench
