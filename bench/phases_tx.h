// The transaction phases (issue 5's benchmark): tx10-nosync, tx1-nosync, tx10-durable and
// bulk. Each
// reports commits and the sync calls its timed loop made (sync_counter.h).
#ifndef PTDB_BENCH_PHASES_TX_H_
#define PTDB_BENCH_PHASES_TX_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "bench/phase_util.h"
#include "bench/phases.h"
#include "bench/store.h"

namespace ptdb {
namespace bench {

// New records each tx10 transaction inserts (besides the 5 it replaces).
constexpr uint64_t kInsertedPerTx = 5;

// plan.txns transactions of 10 records on `store`, whose records are
// [live_first, live_first + live_count), with syncs off; the records inserted follow those
// (no phase before ever stores them).
PhaseResult RunTx10NoSync(Store* store, uint64_t live_first, uint64_t live_count,
                          const PhasePlan& plan, std::string* first_failure);

// Transactions of one replace in tx1-nosync: this many times plan.txns, for at most
// kTx1Limit (a store that commits in milliseconds stops there).
constexpr uint64_t kTx1PerTx10 = 100;
constexpr std::chrono::seconds kTx1Limit{3};

// Transactions that each replace one of the records [live_first, live_first + live_count)
// with syncs off.
PhaseResult RunTx1NoSync(Store* store, uint64_t live_first, uint64_t live_count,
                         const PhasePlan& plan, std::string* first_failure);

// plan.durable_txns tx10 transactions with syncs on, on a database of plan.durable_n records
// in a fresh directory under plan.disk_dir (preloaded, then written back with syncfs, untimed).
PhaseResult RunTx10Durable(const StoreConfig& config, const PhasePlan& plan, const NoteFn& note,
                           std::string* first_failure);

// The same on `store` itself, a database on the disk already (an @disk store's, after the
// core phases and tx10-nosync): written back with syncfs and syncs turned on, untimed.
// Its records are [live_first, live_first + live_count); the new ones start at fresh_first.
PhaseResult RunTx10DurableInPlace(Store* store, uint64_t live_first, uint64_t live_count,
                                  uint64_t fresh_first, const PhasePlan& plan, const NoteFn& note,
                                  std::string* first_failure);

// One durable transaction inserting config.n records into an empty database in a fresh
// subdirectory of config.dir.
PhaseResult RunBulk(const StoreConfig& config, const PhasePlan& plan, std::string* first_failure);

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_PHASES_TX_H_
