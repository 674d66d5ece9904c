// What the outputs share about several runs of one store: the median of a figure over the
// runs, with the smallest and largest value.
#ifndef PTDB_BENCH_SUMMARY_H_
#define PTDB_BENCH_SUMMARY_H_

#include <functional>
#include <string>
#include <vector>

#include "bench/child.h"
#include "bench/phases.h"

namespace ptdb {
namespace bench {

struct Stat {
  bool present = false;  // some run had a figure
  bool skipped = false;  // some run skipped the phase
  bool failed = false;   // some run had failures in the phase
  size_t count = 0;      // runs with a figure
  double median = 0;
  double min = 0;
  double max = 0;

  // Every run lies within +-PlusMinus() of the median, as a fraction of it.
  double PlusMinus() const;
};

// What a figure shows of one phase of one run; NaN leaves the run out.
using ValueFn = std::function<double(const StoreRun&, const PhaseResult&)>;

// The result of `phase` in a run, or nullptr.
const PhaseResult* FindPhase(const StoreRun& run, const std::string& phase);

// `value` over the runs of the store spec `store` that ran `phase`.
Stat Summarize(const std::vector<StoreRun>& runs, const std::string& store,
               const std::string& phase, const ValueFn& value);

double OpsPerSec(const StoreRun& run, const PhaseResult& r);
double SyncsPerCommit(const StoreRun& run, const PhaseResult& r);
// The database's size after the phase; NaN for a memory-only one (no file to measure).
double FileBytes(const StoreRun& run, const PhaseResult& r);
double BytesPerRecord(const StoreRun& run, const PhaseResult& r);
// mix2 over mix1 of the same run: how much a second process adds.
double MixScaling(const StoreRun& run, const PhaseResult& mix2);
// find2t's ops/s over find's in the same run (NaN without find).
double ThreadScaling(const StoreRun& run, const PhaseResult& find2t);

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_SUMMARY_H_
