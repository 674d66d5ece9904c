#include "bench/chart_data.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "bench/numbers.h"
#include "bench/summary.h"

namespace ptdb {
namespace bench {
namespace {

constexpr const char* kDurable = "tx10-durable";
constexpr const char* kNoSync = "tx10-nosync";

std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

// " median min max", or " ? ? ?" without a figure.
std::string Columns(const Stat& stat) {
  if (!stat.present) return " ? ? ?";
  return " " + Number(stat.median) + " " + Number(stat.min) + " " + Number(stat.max);
}

// The same for microseconds per commit, from commits per second: the slowest run has the
// longest latency.
std::string LatencyColumns(const Stat& commits) {
  if (!commits.present || commits.min <= 0) return " ? ? ?";
  return " " + Number(1e6 / commits.median) + " " + Number(1e6 / commits.max) + " " +
         Number(1e6 / commits.min);
}

bool WriteFile(const std::string& path, const std::string& text, std::string* error) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  const bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  if (std::fclose(file) != 0 || !written) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

// A gnuplot string literal: single quotes keep backslashes as they are.
std::string GnuplotString(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    quoted += c;
    if (c == '\'') quoted += '\'';
  }
  return quoted + "'";
}

}  // namespace

bool WriteChartData(const std::string& dir, const RunContext& context,
                    const std::vector<StoreRun>& runs, std::string* error) {
  const BenchOptions& options = context.options;
  std::string ops = "phase";
  for (const std::string& store : options.stores) ops += " " + store + " min max";
  ops += "\n";
  for (const std::string& phase : options.phases) {
    if (phase == kDurable || phase == kNoSync) continue;
    ops += phase;
    for (const std::string& store : options.stores) {
      ops += Columns(Summarize(runs, store, phase, OpsPerSec));
    }
    ops += "\n";
  }
  std::string commit = "store durable min max nosync min max\n";
  for (const std::string& store : options.stores) {
    const Stat durable = Summarize(runs, store, kDurable, OpsPerSec);
    const Stat nosync = Summarize(runs, store, kNoSync, OpsPerSec);
    if (!durable.present && !nosync.present) continue;
    commit += store + LatencyColumns(durable) + LatencyColumns(nosync) + "\n";
  }
  const std::string subtitle =
      "n = " + WithCommas(options.n) + ", median of " + std::to_string(options.runs) + " run" +
      (options.runs == 1 ? "" : "s") + ", " + context.date + ", " + context.machine;
  const std::string meta = "subtitle = " + GnuplotString(subtitle) +
                           "\nstores = " + std::to_string(options.stores.size()) + "\n";
  return WriteFile(dir + "/ops.dat", ops, error) && WriteFile(dir + "/commit.dat", commit, error) &&
         WriteFile(dir + "/meta.gp", meta, error);
}

}  // namespace bench
}  // namespace ptdb
