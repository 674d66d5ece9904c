// What the phases after the core ones (phases_tx.cc, phase_mix.cc) share: their plan,
// failure accounting, loading a database, and the peak memory of one phase.
#ifndef PTDB_BENCH_PHASE_UTIL_H_
#define PTDB_BENCH_PHASE_UTIL_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "bench/phases.h"
#include "bench/store.h"
#include "bench/workload.h"

namespace ptdb {
namespace bench {

// The settings of the phases after the core ones.
struct PhasePlan {
  std::string store;                // the store's name, for opening more handles (MakeStore)
  std::string disk_dir;             // tx10-durable's database goes in a fresh subdirectory of it
  uint64_t durable_n = 0;           // records in tx10-durable's database
  uint64_t txns = 0;                // transactions in tx10-nosync
  uint64_t durable_txns = 0;        // transactions in tx10-durable
  uint64_t mix_ops = 0;             // operations of each process in mix1 and mix2
  std::vector<std::string> phases;  // the phases to run (options.h checks what they need)
  // The store's own databases are on the disk (an @disk store): tx10-durable runs on the
  // core phases' database instead of a new one.
  bool on_disk = false;

  bool Runs(const std::string& phase) const {
    return std::find(phases.begin(), phases.end(), phase) != phases.end();
  }
};

// PhaseFn reports a phase; NoteFn prints a progress remark (e.g. how long a preload took).
using PhaseFn = std::function<void(const PhaseResult&)>;
using NoteFn = std::function<void(const std::string&)>;

// Counts the wrong outcomes of one phase; the first of any phase goes to *first_failure.
class FailureLog {
 public:
  FailureLog(std::string phase, std::string* first_failure)
      : phase_(std::move(phase)), first_failure_(first_failure) {}

  void Expect(const Store& store, Result got, Result want, uint64_t record);
  // A call that must succeed: "<what> <number>: <error>" otherwise.
  void ExpectOk(const Store& store, Result got, const char* what, uint64_t number);
  // A fetch of `record` that should have found `want`.
  void ExpectValue(const Store& store, Result got, std::string_view value, std::string_view want,
                   uint64_t record);
  void Failed(const std::string& what);
  uint64_t count() const { return count_; }

 private:
  const std::string phase_;
  std::string* const first_failure_;
  uint64_t count_ = 0;
};

PhaseResult SkippedPhase(const std::string& phase, const std::string& why);

// Stores records [first, first + count) with their workload values: in transactions of
// up to 10,000 records when the store has them (LMDB, whose every plain write is a
// transaction of its own, loads much faster so), else one insert at a time.
void Preload(Store* store, Workload* workload, uint64_t first, uint64_t count, FailureLog* log);

// A fresh empty directory `parent`/`prefix`XXXXXX; false with *error if none could be made.
bool MakeFreshDir(const std::string& parent, const std::string& prefix, std::string* dir,
                  std::string* error);
// Removes every regular file directly in dir (the database of a closed store).
void RemoveFilesIn(const std::string& dir);

// The peak resident set of one phase: Start forgets the process's earlier peak (Linux
// /proc/self/clear_refs), Bytes reads the peak since (VmHWM). Where the reset is refused,
// Bytes is the process's peak so far.
class PhasePeakRss {
 public:
  void Start();
  uint64_t Bytes() const;

 private:
  bool reset_ = false;
};

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_PHASE_UTIL_H_
