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
  std::string date;     // DateUtc() at start
  std::string machine;  // MachineDescription()
  std::string fs;       // FileSystemType(options.dir)
};

// Rows = phases (median ops/s per store, spread with several runs, ptdb/tdb ratio), then
// file bytes after add, bytes per record, file bytes at the end and peak RSS.
void PrintTable(const RunContext& context, const std::vector<StoreRun>& runs, FILE* out);

// Appends one JSON object per phase of `run` to path, one per line.
bool AppendJson(const std::string& path, const RunContext& context, const StoreRun& run,
                std::string* error);

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_REPORT_H_
