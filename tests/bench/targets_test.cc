// The bench's verdicts on the issues' targets: ratios of medians between stores of one
// invocation, bounds in the right direction, and no verdict without the figures for it.
#include "bench/targets.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ptdb {
namespace bench {
namespace {

// One run of `store` with `phase` at `ops_per_sec` (1,000 ops), and `file_bytes` after it.
StoreRun OneRun(const std::string& store, const std::string& phase, double ops_per_sec,
                uint64_t file_bytes = 0) {
  StoreRun run;
  run.store = store;
  run.backend = "file";
  PhaseResult r;
  r.phase = phase;
  r.ops = 1000;
  r.ns = static_cast<int64_t>(1e9 * 1000 / ops_per_sec);
  r.file_bytes = file_bytes;
  r.commits = phase.rfind("tx10", 0) == 0 ? r.ops : 0;
  run.phases.push_back(r);
  return run;
}

const TargetResult* Find(const std::vector<TargetResult>& results, const std::string& what) {
  for (const TargetResult& r : results) {
    if (r.what == what) return &r;
  }
  return nullptr;
}

TEST(BenchTargetsTest, RatiosOfMediansAgainstTheBaselineInTheSameRun) {
  // ptdb/tdb: medians 500k/100k = 5x on add, 300k/100k = 3x on find (the ratios of the
  // single runs would give other medians).
  const std::vector<StoreRun> runs = {
      OneRun("ptdb", "add", 400e3),  OneRun("ptdb", "add", 500e3), OneRun("ptdb", "add", 900e3),
      OneRun("tdb", "add", 100e3),   OneRun("tdb", "add", 90e3),   OneRun("tdb", "add", 300e3),
      OneRun("ptdb", "find", 300e3), OneRun("tdb", "find", 100e3),
  };
  const std::vector<TargetResult> results = CheckTargets(runs);
  const TargetResult* add = Find(results, "ptdb/tdb add ops/s");
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(add->issue, "#4");
  EXPECT_TRUE(add->ratio);
  EXPECT_DOUBLE_EQ(add->measured, 5.0);
  EXPECT_DOUBLE_EQ(add->wanted, 4.0);
  EXPECT_TRUE(add->met);
  const TargetResult* find = Find(results, "ptdb/tdb find ops/s");
  ASSERT_NE(find, nullptr);
  EXPECT_NEAR(find->measured, 3.0, 1e-5);  // ns are whole
  EXPECT_FALSE(find->met);
}

TEST(BenchTargetsTest, NoVerdictWithoutBothStoresOrForASkippedPhase) {
  std::vector<StoreRun> runs = {OneRun("ptdb", "find", 2e6), OneRun("tdb-mutex", "add", 1e6)};
  StoreRun skipped = OneRun("kyoto", "find", 1e6);
  skipped.phases[0].skipped = "not built";
  runs.push_back(skipped);
  const std::vector<TargetResult> results = CheckTargets(runs);
  EXPECT_EQ(Find(results, "ptdb/tdb-mutex find ops/s"), nullptr);  // tdb-mutex has no find
  EXPECT_EQ(Find(results, "ptdb/kyoto find ops/s"), nullptr);
  EXPECT_EQ(Find(results, "ptdb/tdb find ops/s"), nullptr);
  for (const TargetResult& r : results) ADD_FAILURE() << "unexpected verdict: " << r.what;
}

TEST(BenchTargetsTest, UpperBoundsAndAbsoluteFigures) {
  // #3: ptdb's file no bigger than tdb's; #5: no-sync commits at or above 88k/s.
  const std::vector<StoreRun> smaller = {OneRun("ptdb-nolock", "add", 1e6, 85),
                                         OneRun("tdb-nolock", "add", 1e6, 100),
                                         OneRun("ptdb", "tx10-nosync", 90e3)};
  std::vector<TargetResult> results = CheckTargets(smaller);
  const TargetResult* bytes = Find(results, "ptdb-nolock/tdb-nolock bytes/record after add");
  ASSERT_NE(bytes, nullptr);
  EXPECT_TRUE(bytes->at_most);
  EXPECT_NEAR(bytes->measured, 0.85, 1e-9);
  EXPECT_TRUE(bytes->met);
  const TargetResult* commits = Find(results, "ptdb tx10-nosync commits/s");
  ASSERT_NE(commits, nullptr);
  EXPECT_FALSE(commits->ratio);
  EXPECT_NEAR(commits->measured, 90e3, 1);
  EXPECT_TRUE(commits->met);

  const std::vector<StoreRun> bigger = {OneRun("ptdb-nolock", "add", 1e6, 120),
                                        OneRun("tdb-nolock", "add", 1e6, 100),
                                        OneRun("ptdb", "tx10-nosync", 80e3)};
  results = CheckTargets(bigger);
  ASSERT_NE(Find(results, "ptdb-nolock/tdb-nolock bytes/record after add"), nullptr);
  EXPECT_FALSE(Find(results, "ptdb-nolock/tdb-nolock bytes/record after add")->met);
  ASSERT_NE(Find(results, "ptdb tx10-nosync commits/s"), nullptr);
  EXPECT_FALSE(Find(results, "ptdb tx10-nosync commits/s")->met);
}

TEST(BenchTargetsTest, PrintsEachVerdictAndFlagsAnotherRecordCount) {
  const std::vector<StoreRun> runs = {OneRun("ptdb", "add", 500e3), OneRun("tdb", "add", 100e3)};
  char* text = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  ASSERT_NE(out, nullptr);
  PrintTargets(runs, 2000, out);
  std::fclose(out);
  const std::string printed(text, size);
  free(text);
  EXPECT_NE(printed.find("#4  ptdb/tdb add ops/s"), std::string::npos) << printed;
  EXPECT_NE(printed.find("5.00x"), std::string::npos) << printed;
  EXPECT_NE(printed.find("met"), std::string::npos) << printed;
  EXPECT_NE(printed.find("indicative only"), std::string::npos) << printed;
}

}  // namespace
}  // namespace bench
}  // namespace ptdb
