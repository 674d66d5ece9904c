// ptdb-bench's output: the table of medians on stdout and the JSON lines.
#ifndef PTDB_BENCH_REPORT_H_
#define PTDB_BENCH_REPORT_H_

#include <cstdio>
#include <string>
#include <vector>

#include "bench/child.h"
#include "bench/options.h"

namespace ptdb {
namespace bench {

// What every line of output shares.
struct RunContext {
  BenchOptions options;
  std::string date;      // DateUtc() at start
  std::string machine;   // MachineDescription()
  std::string fs;        // FileSystemType(options.dir)
  std::string disk_dir;  // where tx10-durable ran
  std::string disk_fs;   // FileSystemType(disk_dir)
};

// Rows = phases (median ops/s per store), syncs per commit, mix2/mix1, then file bytes
// after add, bytes per record, file bytes at the end and peak RSS; columns = stores, then
// ratios between pairs of stores. With several runs a second table gives the spreads; a
// third lists the sync calls per commit of each transaction phase.
void PrintTable(const RunContext& context, const std::vector<StoreRun>& runs, FILE* out);

// Appends one JSON object per phase of `run` that ran (not skipped) to path, one per line
// ("kind":"run").
bool AppendJson(const std::string& path, const RunContext& context, const StoreRun& run,
                std::string* error);

// Appends one JSON object per store and phase with the median over its runs ("kind":
// "median"; bench/README.md lists the fields).
bool AppendMedianJson(const std::string& path, const RunContext& context,
                      const std::vector<StoreRun>& runs, std::string* error);

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_REPORT_H_
