// The speed and size targets the issues set, judged on one invocation's medians: each
// target whose stores and phase ran gets its measured figure and whether it is met, so
// a run says for itself where ptdb stands (the ratios are only meaningful within a run:
// this VM's speed moves by a third from minute to minute).
#ifndef PTDB_BENCH_TARGETS_H_
#define PTDB_BENCH_TARGETS_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/child.h"

namespace ptdb {
namespace bench {

struct TargetResult {
  std::string issue;     // "#4"
  std::string what;      // "ptdb/tdb find ops/s"
  double measured = 0;   // a ratio of medians, or a median
  double wanted = 0;     // the bound
  bool at_most = false;  // wanted is an upper bound (bytes, syncs), else a lower one
  bool ratio = false;    // measured is subject/baseline
  bool met = false;
};

// Every target that `runs` has the figures for, in the issues' order.
std::vector<TargetResult> CheckTargets(const std::vector<StoreRun>& runs);

// The issues set their targets at this many records.
constexpr uint64_t kTargetRecords = 1000000;

// The results of CheckTargets as a table, flagged as indicative when the run had n other
// than kTargetRecords; nothing when no target applies.
void PrintTargets(const std::vector<StoreRun>& runs, uint64_t n, FILE* out);

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_TARGETS_H_
