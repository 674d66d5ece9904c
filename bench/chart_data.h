// The data files bench/charts.gp draws: medians with the smallest and largest run, as
// whitespace-separated columns gnuplot reads directly.
#ifndef PTDB_BENCH_CHART_DATA_H_
#define PTDB_BENCH_CHART_DATA_H_

#include <string>
#include <vector>

#include "bench/child.h"
#include "bench/report.h"

namespace ptdb {
namespace bench {

// Writes into dir (which must exist):
//   ops.dat     a header line "phase", then per store "<store> min max"; one line per phase
//               selected other than tx10-*: median, min and max ops/s of each store;
//   commit.dat  a header line; one line per store with a transaction phase: median, min and
//               max microseconds per commit of tx10-durable, then of tx10-nosync;
//   meta.gp     gnuplot variables: subtitle (n, runs, date, machine), stores (their count).
// A figure a store does not have is "?" (gnuplot: set datafile missing "?").
bool WriteChartData(const std::string& dir, const RunContext& context,
                    const std::vector<StoreRun>& runs, std::string* error);

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_CHART_DATA_H_
