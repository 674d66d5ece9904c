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
  std::string store;  // the spec: a store's name, or name@disk
  std::string backend;
  std::string dir;                  // where its databases went (tx10-durable's excepted)
  int run = 0;                      // 0-based
  size_t expected_phases = 0;       // the phases selected
  std::vector<PhaseResult> phases;  // every phase selected, skipped ones included
  std::string error;  // the first failure, or why the child did not finish; empty if none

  bool ok() const;
};

// Creates a fresh subdirectory of parent_dir for the database, runs the phases of
// plan.phases in a child process (progress on stderr, labelled "<spec> run <run+1>/<runs>"),
// removes the subdirectory and returns what the child reported. plan.store is set from
// the store spec (options.h).
StoreRun RunStoreInChild(const std::string& spec, const StoreConfig& config, PhasePlan plan,
                         const std::string& parent_dir, int run, int runs);

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_CHILD_H_
