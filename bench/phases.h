// The phases of tdb2's speed tool, run against one open store.
#ifndef PTDB_BENCH_PHASES_H_
#define PTDB_BENCH_PHASES_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench/latency.h"
#include "bench/store.h"
#include "bench/sync_counter.h"

namespace ptdb {
namespace bench {

// The core phases in running order: add, find, miss, traverse, delete, re-add, append,
// churn (all_phases.h lists the ones that follow).
const std::vector<std::string>& PhaseNames();

struct PhaseResult {
  std::string phase;
  // traverse counts records visited; churn delete+insert pairs; tx10-* commits; bulk
  // records; mix* fetches and stores of all processes
  uint64_t ops = 0;
  int64_t ns = 0;  // wall time of the timed loop
  uint64_t file_bytes = 0;
  // Core phases: the process's peak so far (ru_maxrss). tx10-*, bulk: the peak during the
  // phase. mix*: 0 (the work runs in other processes).
  uint64_t peak_rss_bytes = 0;
  uint64_t failures = 0;   // operations whose outcome was wrong; must be 0
  uint64_t commits = 0;    // transactions committed by the timed loop
  SyncCounts syncs;        // sync calls made by the timed loop
  LatencySummary latency;  // churn's pairs and the tx* phases' transactions, one by one
  std::string skipped;     // why the phase did not run (then nothing above counts)

  double OpsPerSec() const { return ns > 0 ? 1e9 * static_cast<double>(ops) / ns : 0; }
  double NsPerOp() const { return ops > 0 ? static_cast<double>(ns) / ops : 0; }
  double SyncsPerCommit() const {
    return commits > 0 ? static_cast<double>(syncs.Total()) / commits : 0;
  }
};

// getrusage's ru_maxrss in bytes: the process's peak resident set so far.
uint64_t PeakRssBytes();

// Runs the core phases named in `selected` on n records, in their fixed order, calling
// on_phase after each. Failures are counted, not fatal; *first_failure (if still empty) gets
// a description of the first one.
void RunPhases(Store* store, uint64_t n, const std::vector<std::string>& selected,
               const std::function<void(const PhaseResult&)>& on_phase, std::string* first_failure);

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_PHASES_H_
