// The transaction phases. A tx10 transaction replaces 5 existing records (chosen at random
// before the clock starts) and inserts 5 new ones, the mix of updates and growth a
// Samba-style service commits; a tx1 transaction replaces one, what a program pays to make
// each write atomic on its own (LMDB's every write); bulk is the other end, one
// transaction loading a database.
#include "bench/phases_tx.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "bench/machine.h"
#include "bench/sync_counter.h"
#include "bench/workload.h"

namespace ptdb {
namespace bench {
namespace {

constexpr uint64_t kReplacedPerTx = 5;
// A replaced record's new value is the workload value of (record + this): same size (so a
// store may update in place), different bytes (so verification sees the update).
constexpr uint64_t kReplacedValueOffset = uint64_t{1} << 40;
constexpr uint64_t kPickSeed = 0x7a11;

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What each transaction of a phase does: replace `replaced` live records with new values
// (the workload value of record + value_offset: same size, new bytes) and insert
// `inserted` new ones.
struct TxShape {
  uint64_t replaced;
  uint64_t inserted;
  uint64_t value_offset;
};

constexpr TxShape kTx10{kReplacedPerTx, kInsertedPerTx, kReplacedValueOffset};
// tx1 runs after tx10 on the same records: its own offset, so that what it stores differs.
constexpr TxShape kTx1{1, 0, 2 * kReplacedValueOffset};

// Up to `txns` transactions of `shape`, stopping early once `limit` has passed.
PhaseResult RunTransactions(const char* name, Store* store, const TxShape& shape,
                            uint64_t live_first, uint64_t live_count, uint64_t fresh_first,
                            uint64_t txns, Clock::duration limit, std::string* first_failure) {
  FailureLog log(name, first_failure);
  Workload workload(store->config().key_size, store->config().value_size);
  std::vector<uint64_t> replaced(txns * shape.replaced);
  for (uint64_t i = 0; i < replaced.size(); ++i) {
    replaced[i] = live_first + Mix64(kPickSeed + i) % live_count;
  }
  PhasePeakRss rss;
  rss.Start();
  LatencyLog latency(txns);
  const SyncCounts before = CurrentSyncCounts();
  const auto start = Clock::now();
  latency.Start(start);
  uint64_t done = 0;
  // One clock read per transaction serves the time limit and the latency log.
  for (auto now = start; done < txns && now - start < limit; ++done) {
    log.ExpectOk(*store, store->TxBegin(), "start of transaction", done);
    for (uint64_t j = 0; j < shape.replaced; ++j) {
      const uint64_t i = replaced[done * shape.replaced + j];
      log.Expect(*store, store->Replace(workload.Key(i), workload.Value(i + shape.value_offset)),
                 Result::kOk, i);
    }
    for (uint64_t j = 0; j < shape.inserted; ++j) {
      const uint64_t i = fresh_first + done * shape.inserted + j;
      log.Expect(*store, store->Insert(workload.Key(i), workload.Value(i)), Result::kOk, i);
    }
    log.ExpectOk(*store, store->TxCommit(), "commit of transaction", done);
    now = Clock::now();
    latency.Lap(now);
  }
  const auto end = Clock::now();
  PhaseResult result;
  result.phase = name;
  result.syncs = CurrentSyncCounts() - before;
  result.ops = done;
  result.commits = done;
  result.ns = std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count();
  result.peak_rss_bytes = rss.Bytes();
  result.file_bytes = store->FileBytes();
  result.latency = latency.Summarize();
  // Every record written is there with its latest value.
  for (uint64_t k = 0; k < done * shape.replaced; ++k) {
    const uint64_t i = replaced[k];
    std::string_view value;
    const Result got = store->Fetch(workload.Key(i), &value);
    log.ExpectValue(*store, got, value, workload.Value(i + shape.value_offset), i);
  }
  for (uint64_t i = fresh_first; i < fresh_first + done * shape.inserted; ++i) {
    std::string_view value;
    const Result got = store->Fetch(workload.Key(i), &value);
    log.ExpectValue(*store, got, value, workload.Value(i), i);
  }
  result.failures = log.count();
  return result;
}

PhaseResult RunTx10(const char* name, Store* store, uint64_t live_first, uint64_t live_count,
                    uint64_t fresh_first, uint64_t txns, std::string* first_failure) {
  return RunTransactions(name, store, kTx10, live_first, live_count, fresh_first, txns,
                         Clock::duration::max(), first_failure);
}

PhaseResult Failure(const char* phase, const std::string& what, std::string* first_failure) {
  FailureLog log(phase, first_failure);
  log.Failed(what);
  PhaseResult result;
  result.phase = phase;
  result.failures = log.count();
  return result;
}

// Writes back everything the preload left in the page cache, so the first durable commit
// does not pay for it.
void SyncFileSystem(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  syncfs(fd);
  close(fd);
}

}  // namespace

PhaseResult RunTx10NoSync(Store* store, uint64_t live_first, uint64_t live_count,
                          const PhasePlan& plan, std::string* first_failure) {
  // New records follow every record the core phases used (0 .. 2n-1).
  return RunTx10("tx10-nosync", store, live_first, live_count, live_first + live_count, plan.txns,
                 first_failure);
}

PhaseResult RunTx1NoSync(Store* store, uint64_t live_first, uint64_t live_count,
                         const PhasePlan& plan, std::string* first_failure) {
  return RunTransactions("tx1-nosync", store, kTx1, live_first, live_count, 0,
                         kTx1PerTx10 * plan.txns, kTx1Limit, first_failure);
}

PhaseResult RunTx10Durable(const StoreConfig& config, const PhasePlan& plan, const NoteFn& note,
                           std::string* first_failure) {
  constexpr const char* kPhase = "tx10-durable";
  std::string dir, error;
  if (!MakeFreshDir(plan.disk_dir, "ptdb-bench-" + plan.store + "-", &dir, &error)) {
    return Failure(kPhase, error, first_failure);
  }
  StoreConfig durable_config = config;
  durable_config.dir = dir;
  durable_config.n = plan.durable_n;
  durable_config.create = true;
  std::unique_ptr<Store> store = MakeStore(plan.store, durable_config);
  PhaseResult result;
  if (store->Open() != Result::kOk) {
    result = Failure(kPhase, "open " + dir + ": " + store->error(), first_failure);
  } else {
    FailureLog preload_log(kPhase, first_failure);
    Workload workload(config.key_size, config.value_size);
    const auto preload_start = Clock::now();
    Preload(store.get(), &workload, 0, plan.durable_n, &preload_log);
    const double preload_s = SecondsSince(preload_start);
    preload_log.ExpectOk(*store, store->SetSync(true), "turning syncs on, records", plan.durable_n);
    const auto sync_start = Clock::now();
    SyncFileSystem(dir);
    char text[256];
    std::snprintf(text, sizeof(text),
                  "%s: preloaded %llu records in %s (%s) in %.1f s, syncfs %.1f s", kPhase,
                  static_cast<unsigned long long>(plan.durable_n), dir.c_str(),
                  FileSystemType(dir).c_str(), preload_s, SecondsSince(sync_start));
    note(text);
    result = RunTx10(kPhase, store.get(), 0, plan.durable_n, plan.durable_n, plan.durable_txns,
                     first_failure);
    result.failures += preload_log.count();
  }
  store->Close();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return result;
}

PhaseResult RunTx10DurableInPlace(Store* store, uint64_t live_first, uint64_t live_count,
                                  uint64_t fresh_first, const PhasePlan& plan, const NoteFn& note,
                                  std::string* first_failure) {
  constexpr const char* kPhase = "tx10-durable";
  FailureLog log(kPhase, first_failure);
  log.ExpectOk(*store, store->SetSync(true), "turning syncs on, records", live_count);
  const auto sync_start = Clock::now();
  SyncFileSystem(store->config().dir);
  char text[256];
  std::snprintf(text, sizeof(text), "%s: on the core phases' database in %s (%s), syncfs %.1f s",
                kPhase, store->config().dir.c_str(), FileSystemType(store->config().dir).c_str(),
                SecondsSince(sync_start));
  note(text);
  PhaseResult result =
      RunTx10(kPhase, store, live_first, live_count, fresh_first, plan.durable_txns, first_failure);
  result.failures += log.count();
  return result;
}

PhaseResult RunBulk(const StoreConfig& config, const PhasePlan& plan, std::string* first_failure) {
  constexpr const char* kPhase = "bulk";
  std::string dir, error;
  if (!MakeFreshDir(config.dir, "bulk-", &dir, &error)) {
    return Failure(kPhase, error, first_failure);
  }
  StoreConfig bulk_config = config;
  bulk_config.dir = dir;
  bulk_config.create = true;
  std::unique_ptr<Store> store = MakeStore(plan.store, bulk_config);
  PhaseResult result;
  if (store->Open() != Result::kOk) {
    result = Failure(kPhase, "open " + dir + ": " + store->error(), first_failure);
  } else {
    FailureLog log(kPhase, first_failure);
    Workload workload(config.key_size, config.value_size);
    log.ExpectOk(*store, store->SetSync(true), "turning syncs on, records", 0);
    PhasePeakRss rss;
    rss.Start();
    const SyncCounts before = CurrentSyncCounts();
    const auto start = Clock::now();
    log.ExpectOk(*store, store->TxBegin(), "start of transaction", 0);
    for (uint64_t i = 0; i < config.n; ++i) {
      log.Expect(*store, store->Insert(workload.Key(i), workload.Value(i)), Result::kOk, i);
    }
    log.ExpectOk(*store, store->TxCommit(), "commit of transaction", 0);
    const auto end = Clock::now();
    result.phase = kPhase;
    result.syncs = CurrentSyncCounts() - before;
    result.ops = config.n;
    result.commits = 1;
    result.ns = std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count();
    result.peak_rss_bytes = rss.Bytes();
    result.file_bytes = store->FileBytes();
    for (uint64_t i = 0; i < config.n; ++i) {
      std::string_view value;
      const Result got = store->Fetch(workload.Key(i), &value);
      log.ExpectValue(*store, got, value, workload.Value(i), i);
    }
    result.failures = log.count();
  }
  store->Close();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return result;
}

}  // namespace bench
}  // namespace ptdb
