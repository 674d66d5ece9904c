// Every phase of one store run, in order: the core phases (phases.h), then tx10-nosync,
// tx10-durable, bulk (phases_tx.h), mix1 and mix2 (phase_mix.h).
#ifndef PTDB_BENCH_ALL_PHASES_H_
#define PTDB_BENCH_ALL_PHASES_H_

#include <string>
#include <vector>

#include "bench/phase_util.h"
#include "bench/phases.h"
#include "bench/store.h"

namespace ptdb {
namespace bench {

const std::vector<std::string>& AllPhaseNames();

// Runs every phase on `store` (open, empty, configured by config) and the databases the
// later phases make, reporting each phase (run or skipped) through on_phase. Closes store.
void RunAllPhases(Store* store, const StoreConfig& config, const PhasePlan& plan,
                  const PhaseFn& on_phase, const NoteFn& note, std::string* first_failure);

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_ALL_PHASES_H_
