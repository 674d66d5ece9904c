// The phases of tdb2's speed tool, run against one open store.
#ifndef PTDB_BENCH_PHASES_H_
#define PTDB_BENCH_PHASES_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench/store.h"

namespace ptdb {
namespace bench {

// In running order: add, find, miss, traverse, delete, re-add, append, churn.
const std::vector<std::string>& PhaseNames();

struct PhaseResult {
  std::string phase;
  uint64_t ops = 0;  // traverse counts records visited; churn counts delete+insert pairs
  int64_t ns = 0;    // wall time of the timed loop
  uint64_t file_bytes = 0;
  uint64_t peak_rss_bytes = 0;
  uint64_t failures = 0;  // operations whose outcome was wrong; must be 0

  double OpsPerSec() const { return ns > 0 ? 1e9 * static_cast<double>(ops) / ns : 0; }
  double NsPerOp() const { return ops > 0 ? static_cast<double>(ns) / ops : 0; }
};

// Runs every phase on n records, calling on_phase after each. Failures are counted, not
// fatal; *first_failure (if still empty) gets a description of the first one.
void RunPhases(Store* store, uint64_t n, const std::function<void(const PhaseResult&)>& on_phase,
               std::string* first_failure);

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_PHASES_H_
