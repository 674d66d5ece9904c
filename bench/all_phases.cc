#include "bench/all_phases.h"

#include "bench/phase_mix.h"
#include "bench/phases_tx.h"

namespace ptdb {
namespace bench {

const std::vector<std::string>& AllPhaseNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> list = PhaseNames();
    for (const char* later : {"tx10-nosync", "tx10-durable", "bulk", "mix1", "mix2"}) {
      list.push_back(later);
    }
    return list;
  }();
  return names;
}

void RunAllPhases(Store* store, const StoreConfig& config, const PhasePlan& plan,
                  const PhaseFn& on_phase, const NoteFn& note, std::string* first_failure) {
  RunPhases(store, config.n, on_phase, first_failure);
  const StoreTraits traits = store->Traits();
  if (traits.transactions) {
    // churn left records n .. 2n-1.
    on_phase(RunTx10NoSync(store, config.n, config.n, plan, first_failure));
  } else {
    on_phase(SkippedPhase("tx10-nosync", "unsupported (no transactions)"));
  }
  // The core phases' database is done with: free its memory (tmpfs) for the next ones.
  store->Close();
  RemoveFilesIn(config.dir);
  if (!traits.transactions) {
    on_phase(SkippedPhase("tx10-durable", "unsupported (no transactions)"));
    on_phase(SkippedPhase("bulk", "unsupported (no transactions)"));
  } else {
    if (traits.durable) {
      on_phase(RunTx10Durable(config, plan, note, first_failure));
    } else {
      on_phase(SkippedPhase("tx10-durable", "unsupported (nothing to sync)"));
    }
    on_phase(RunBulk(config, plan, first_failure));
  }
  RunMixPhases(config, traits, plan, on_phase, first_failure);
}

}  // namespace bench
}  // namespace ptdb
