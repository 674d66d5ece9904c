// Runs one store in a forked child, so that peak RSS, the page cache a store leaves behind
// and any crash belong to that store alone. The child reports over a pipe.
#ifndef PTDB_BENCH_CHILD_H_
#define PTDB_BENCH_CHILD_H_

#include <string>
#include <vector>

#include "bench/phase_util.h"
#include "bench/phases.h"
#include "bench/store.h"

namespace ptdb {
namespace bench {

struct StoreRun {
  std::string store;
  std::string backend;
  int run = 0;                      // 0-based
  std::vector<PhaseResult> phases;  // every phase of AllPhaseNames(), skipped ones included
  std::string error;  // the first failure, or why the child did not finish; empty if none

  bool ok() const;
};

// Creates a fresh subdirectory of parent_dir for the database, runs every phase in a child
// process (progress on stderr, labelled "<store> run <run+1>/<runs>"), removes the
// subdirectory and returns what the child reported. plan.store is set from `store`.
StoreRun RunStoreInChild(const std::string& store, const StoreConfig& config, PhasePlan plan,
                         const std::string& parent_dir, int run, int runs);

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_CHILD_H_
