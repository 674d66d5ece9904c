// The two-process mix (issue 4): a database of n records, then one process and then two
// (forked, each with its own handle on the file) each doing plan.mix_ops random operations,
// 90% fetches of existing records and 10% stores replacing a value. ops/s counts the
// operations of all processes over the wall time from the first start to the last end.
#ifndef PTDB_BENCH_PHASE_MIX_H_
#define PTDB_BENCH_PHASE_MIX_H_

#include <string>

#include "bench/phase_util.h"
#include "bench/store.h"

namespace ptdb {
namespace bench {

// Runs mix1 and mix2 as far as plan.phases selects them, and reports them (each skipped with
// the reason when the store cannot run it; on_phase ignores what was not selected). The
// database lives in a fresh subdirectory of config.dir; the handle that loads it stays
// open, idle, while the workers run (a tdb opened with TDB_CLEAR_IF_FIRST would otherwise
// be wiped by the first worker's open).
void RunMixPhases(const StoreConfig& config, const StoreTraits& traits, const PhasePlan& plan,
                  const PhaseFn& on_phase, std::string* first_failure);

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_PHASE_MIX_H_
