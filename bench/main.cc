// ptdb-bench: the phases of tdb2's speed tool on the peer workload, for ptdb and its peers
// in one invocation, so that every figure can be read as a ratio. See README.md.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/chart_data.h"
#include "bench/child.h"
#include "bench/machine.h"
#include "bench/options.h"
#include "bench/progress.h"
#include "bench/report.h"

namespace ptdb {
namespace bench {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int Main(int argc, char** argv) {
  RunContext context;
  std::string error;
  if (!ParseOptions(argc, argv, &context.options, &error)) {
    std::fprintf(stderr, "ptdb-bench: %s (see ptdb-bench --help)\n", error.c_str());
    return kExitUsage;
  }
  const BenchOptions& options = context.options;
  if (options.help) {
    std::fputs(Usage().c_str(), stdout);
    return 0;
  }
  if (access(options.dir.c_str(), W_OK | X_OK) != 0) {
    std::fprintf(stderr, "ptdb-bench: --dir %s: not a writable directory\n", options.dir.c_str());
    return kExitUsage;
  }
  // tx10-durable needs a disk: by default a fresh directory in /var/tmp, which stays on
  // a disk where /tmp is a tmpfs (the table names the file system).
  std::string disk_dir = options.disk_dir;
  bool own_disk_dir = false;
  if (disk_dir.empty()) {
    disk_dir = "/var/tmp/ptdb-bench-disk-XXXXXX";
    if (mkdtemp(disk_dir.data()) == nullptr) {
      std::fprintf(stderr, "ptdb-bench: mkdtemp %s: %s\n", disk_dir.c_str(), std::strerror(errno));
      return kExitFailure;
    }
    own_disk_dir = true;
  } else if (access(disk_dir.c_str(), W_OK | X_OK) != 0) {
    std::fprintf(stderr, "ptdb-bench: --disk-dir %s: not a writable directory\n", disk_dir.c_str());
    return kExitUsage;
  }
  context.date = DateUtc();
  context.machine = MachineDescription();
  context.fs = FileSystemType(options.dir);
  context.disk_dir = disk_dir;
  context.disk_fs = FileSystemType(disk_dir);
  if (context.disk_fs == "tmpfs") {
    std::fprintf(stderr, "ptdb-bench: warning: --disk-dir %s is a tmpfs: durable means nothing\n",
                 disk_dir.c_str());
  }
  if (!options.chart_dir.empty() && access(options.chart_dir.c_str(), W_OK | X_OK) != 0) {
    std::fprintf(stderr, "ptdb-bench: --chart-data %s: not a writable directory\n",
                 options.chart_dir.c_str());
    return kExitUsage;
  }

  PhasePlan plan;
  plan.disk_dir = disk_dir;
  plan.durable_n = options.durable_n;
  plan.txns = options.txns;
  plan.durable_txns = options.durable_txns;
  plan.mix_ops = options.mix_ops;
  plan.phases = options.phases;

  StoreConfig config;
  config.n = options.n;
  config.key_size = options.key_size;
  config.value_size = options.value_size;
  config.ptdb_backend = options.ptdb_backend;

  // Interleaved (every store's run 1, then every store's run 2, ...) so that drift of a
  // shared machine falls on all stores alike.
  std::vector<StoreRun> runs;
  bool ok = true;
  StartProgressClock();
  const size_t total = options.stores.size() * static_cast<size_t>(options.runs);
  for (int run = 0; run < options.runs; ++run) {
    for (const std::string& store : options.stores) {
      std::fprintf(stderr, "%s %s run %d/%d: store run %zu of %zu\n", ElapsedStamp().c_str(),
                   store.c_str(), run + 1, options.runs, runs.size() + 1, total);
      const std::string& parent = OnDisk(store) ? disk_dir : options.dir;
      runs.push_back(RunStoreInChild(store, config, plan, parent, run, options.runs));
      const StoreRun& result = runs.back();
      if (!result.ok()) {
        std::fprintf(stderr, "ptdb-bench: %s run %d failed: %s\n", store.c_str(), run + 1,
                     result.error.c_str());
        ok = false;
      }
      if (!options.json_path.empty() && !AppendJson(options.json_path, context, result, &error)) {
        std::fprintf(stderr, "ptdb-bench: --json %s\n", error.c_str());
        ok = false;
      }
    }
  }
  if (!options.json_path.empty() && !AppendMedianJson(options.json_path, context, runs, &error)) {
    std::fprintf(stderr, "ptdb-bench: --json %s\n", error.c_str());
    ok = false;
  }
  if (!options.chart_dir.empty() && !WriteChartData(options.chart_dir, context, runs, &error)) {
    std::fprintf(stderr, "ptdb-bench: --chart-data %s\n", error.c_str());
    ok = false;
  }
  std::fprintf(stderr, "%s done\n", ElapsedStamp().c_str());
  if (own_disk_dir) {
    std::error_code ignored;
    std::filesystem::remove_all(disk_dir, ignored);
  }
  PrintTable(context, runs, stdout);
  return ok ? 0 : kExitFailure;
}

}  // namespace
}  // namespace bench
}  // namespace ptdb

int main(int argc, char** argv) { return ptdb::bench::Main(argc, argv); }
