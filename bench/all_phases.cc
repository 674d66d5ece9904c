#include "bench/all_phases.h"

#include "bench/phase_mix.h"
#include "bench/phases_tx.h"

namespace ptdb {
namespace bench {

const std::vector<std::string>& AllPhaseNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> list = PhaseNames();
    for (const char* later :
         {"tx10-nosync", "tx1-nosync", "tx10-durable", "bulk", "mix1", "mix2"}) {
      list.push_back(later);
    }
    return list;
  }();
  return names;
}

void RunAllPhases(Store* store, const StoreConfig& config, const PhasePlan& plan,
                  const PhaseFn& on_phase, const NoteFn& note, std::string* first_failure) {
  // Skipped phases are reported only if selected: the others are not part of this run.
  const PhaseFn report = [&](const PhaseResult& r) {
    if (plan.Runs(r.phase)) on_phase(r);
  };
  RunPhases(store, config.n, plan.phases, report, first_failure);
  const StoreTraits traits = store->Traits();
  // An @disk store's core database is on the disk already: durable commits go there, if
  // it holds the records (a fresh database gets them by a preload otherwise).
  const bool has_records = plan.Runs("add") && (!plan.Runs("delete") || plan.Runs("re-add"));
  const bool in_place_durable =
      plan.on_disk && has_records && traits.durable && plan.Runs("tx10-durable");
  if (!traits.transactions) {
    for (const char* phase : {"tx10-nosync", "tx1-nosync", "tx10-durable", "bulk"}) {
      report(SkippedPhase(phase, "unsupported (no transactions)"));
    }
  } else {
    // Records 0 .. n-1 are there, or n .. 2n-1 after churn; tx10-nosync inserts the
    // records that follow them, an in-place tx10-durable those after 2n and tx10-nosync's.
    const uint64_t live_first = plan.Runs("churn") ? config.n : 0;
    if (plan.Runs("tx10-nosync")) {
      on_phase(RunTx10NoSync(store, live_first, config.n, plan, first_failure));
    }
    if (plan.Runs("tx1-nosync")) {
      on_phase(RunTx1NoSync(store, live_first, config.n, plan, first_failure));
    }
    if (in_place_durable) {
      const uint64_t fresh_first = 2 * config.n + plan.txns * kInsertedPerTx;
      on_phase(RunTx10DurableInPlace(store, live_first, config.n, fresh_first, plan, note,
                                     first_failure));
    }
  }
  // The core phases' database is done with: free its memory (tmpfs) for the next ones.
  store->Close();
  RemoveFilesIn(config.dir);
  if (traits.transactions && !in_place_durable && plan.Runs("tx10-durable")) {
    on_phase(traits.durable ? RunTx10Durable(config, plan, note, first_failure)
                            : SkippedPhase("tx10-durable", "unsupported (nothing to sync)"));
  }
  if (traits.transactions && plan.Runs("bulk")) on_phase(RunBulk(config, plan, first_failure));
  if (plan.Runs("mix1") || plan.Runs("mix2")) {
    RunMixPhases(config, traits, plan, report, first_failure);
  }
}

}  // namespace bench
}  // namespace ptdb
