#include "bench/report.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <map>
#include <utility>

#include "bench/all_phases.h"
#include "bench/machine.h"
#include "bench/numbers.h"
#include "bench/phases_tx.h"
#include "bench/summary.h"
#include "bench/targets.h"

namespace ptdb {
namespace bench {
namespace {

// The ratio columns, subject/baseline: the comparisons issues 4 and 5 set targets on
// (locking on against tdb's two locking modes and Kyoto; fcntl against fcntl; no locks
// against no locks; commits against LMDB and LevelDB).
constexpr std::pair<const char*, const char*> kRatios[] = {
    {"ptdb", "tdb"},
    {"ptdb", "tdb-mutex"},
    {"ptdb", "kyoto"},
    {"ptdb", "lmdb"},
    {"ptdb", "leveldb"},
    {"ptdb-fcntl", "tdb"},
    {"ptdb-nolock", "tdb-nolock"},
};

// The phases whose rows also show sync calls per commit.
constexpr const char* kTxPhases[] = {"tx10-nosync", "tx1-nosync", "tx10-durable", "bulk"};

class Table {
 public:
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  // First column left-aligned, the others right-aligned.
  void Print(FILE* out) const {
    std::vector<size_t> widths;
    for (const auto& row : rows_) {
      widths.resize(std::max(widths.size(), row.size()));
      for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], Width(row[c]));
    }
    for (const auto& row : rows_) {
      std::string line;
      for (size_t c = 0; c < row.size(); ++c) {
        const std::string pad(widths[c] - Width(row[c]), ' ');
        line += c == 0 ? row[c] + pad : "  " + pad + row[c];
      }
      std::fprintf(out, "%s\n", line.c_str());
    }
  }

 private:
  // Characters on a terminal: UTF-8 continuation bytes (the cells' "\u00b1") take no column.
  static size_t Width(const std::string& cell) {
    return static_cast<size_t>(std::count_if(cell.begin(), cell.end(), [](char c) {
      return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
  }

  std::vector<std::vector<std::string>> rows_;
};

std::string Format(const char* format, double value) {
  char text[32];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

// Whole percent: the runs' noise is far coarser than a tenth of one.
std::string PlusMinus(double fraction) { return Format("\u00b1%.0f%%", 100 * fraction); }
std::string Ratio(double ratio) { return Format("%.2fx", ratio); }
std::string OneDecimal(double value) { return Format("%.1f", value); }
std::string TwoDecimals(double value) { return Format("%.2f", value); }
std::string Commas(double value) { return WithCommas(value); }

std::string JsonString(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof(escape), "\\u%04x", c);
      quoted += escape;
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

bool Has(const std::vector<std::string>& stores, const char* store) {
  return std::find(stores.begin(), stores.end(), store) != stores.end();
}

double PeakRss(const StoreRun&, const PhaseResult& r) {
  return static_cast<double>(r.peak_rss_bytes);
}

bool IsTxPhase(const std::string& phase) {
  return std::find(std::begin(kTxPhases), std::end(kTxPhases), phase) != std::end(kTxPhases);
}

// The last core phase selected, whose database the "at end" rows describe; empty if none.
std::string LastCorePhase(const std::vector<std::string>& phases) {
  std::string last;
  for (const std::string& phase : phases) {
    if (std::find(PhaseNames().begin(), PhaseNames().end(), phase) != PhaseNames().end()) {
      last = phase;
    }
  }
  return last;
}

class TableBuilder {
 public:
  TableBuilder(const RunContext& context, const std::vector<StoreRun>& runs)
      : context_(context), runs_(runs) {
    for (const auto& [subject, baseline] : kRatios) {
      if (Has(stores(), subject) && Has(stores(), baseline)) ratios_.push_back({subject, baseline});
    }
  }

  // Rows: every phase selected, then what describes the databases.
  void Build(Table* table) {
    table_ = table;
    std::vector<std::string> header = {"phase (ops/s)"};
    for (const std::string& store : stores()) header.push_back(store);
    for (const auto& [subject, baseline] : ratios_) {
      header.push_back(std::string(subject) + "/" + baseline);
    }
    table_->AddRow(header);
    const std::vector<std::string>& phases = context_.options.phases;
    const auto runs = [&](const char* phase) {
      return std::find(phases.begin(), phases.end(), phase) != phases.end();
    };
    for (const std::string& phase : phases) {
      AddRow(phase, phase, OpsPerSec, Commas, /*rate=*/true);
      if (IsTxPhase(phase)) AddRow(phase + " syncs/commit", phase, SyncsPerCommit, TwoDecimals);
      if (phase == "find2t" && runs("find")) {
        AddRow("find2t/find", "find2t", ThreadScaling, TwoDecimals, true);
      }
    }
    if (runs("mix1") && runs("mix2")) AddRow("mix2/mix1", "mix2", MixScaling, TwoDecimals, true);
    if (runs("add")) {
      AddRow("file bytes after add", "add", FileBytes, Commas);
      AddRow("bytes/record after add", "add", BytesPerRecord, OneDecimal);
    }
    const std::string last = LastCorePhase(phases);
    if (!last.empty()) {
      if (last != "add") AddRow("file bytes after " + last, last, FileBytes, Commas);
      AddRow("peak RSS bytes after " + last, last, PeakRss, Commas);
    }
    if (runs("bulk")) AddRow("bulk peak RSS bytes", "bulk", PeakRss, Commas);
  }

 private:
  const std::vector<std::string>& stores() const { return context_.options.stores; }

  // A rate row shows how far the runs strayed from the median (with several runs) and
  // whether any run failed.
  void AddRow(const std::string& label, const std::string& phase, const ValueFn& value,
              const std::function<std::string(double)>& text, bool rate = false) {
    std::vector<std::string> row = {label};
    std::map<std::string, Stat> stats;
    for (const std::string& store : stores()) {
      const Stat stat = Summarize(runs_, store, phase, value);
      std::string cell = stat.present ? text(stat.median) : stat.skipped ? "n/a" : "-";
      if (stat.present && rate && context_.options.runs > 1) {
        cell += " " + PlusMinus(stat.PlusMinus());
      }
      if (stat.failed && rate) cell += " FAILED";
      row.push_back(cell);
      stats[store] = stat;
    }
    for (const auto& [subject, baseline] : ratios_) {
      const Stat& a = stats[subject];
      const Stat& b = stats[baseline];
      row.push_back(a.present && b.present && b.median > 0 ? Ratio(a.median / b.median) : "-");
    }
    table_->AddRow(row);
  }

  const RunContext& context_;
  const std::vector<StoreRun>& runs_;
  std::vector<std::pair<const char*, const char*>> ratios_;
  Table* table_ = nullptr;
};

// Sync calls per commit of each transaction phase, by call, from each store's first run
// that ran it (the counts are a property of the store's commit path, not of timing).
void PrintSyncCalls(const RunContext& context, const std::vector<StoreRun>& runs, FILE* out) {
  std::vector<std::string> phases;
  for (const std::string& phase : context.options.phases) {
    if (IsTxPhase(phase)) phases.push_back(phase);
  }
  Table table;
  std::vector<std::string> header = {"sync calls per commit"};
  for (const std::string& phase : phases) header.push_back(phase);
  table.AddRow(header);
  bool any = false;
  for (const std::string& store : context.options.stores) {
    std::vector<std::string> row = {store};
    bool ran = false;
    for (const std::string& phase : phases) {
      std::string cell = "-";
      for (const StoreRun& run : runs) {
        const PhaseResult* r = run.store == store ? FindPhase(run, phase) : nullptr;
        if (r != nullptr && r->skipped.empty() && r->commits > 0) {
          cell = r->syncs.Describe(static_cast<double>(r->commits));
          ran = true;
          break;
        }
      }
      row.push_back(cell);
    }
    if (ran) table.AddRow(row);
    any = any || ran;
  }
  if (!any) return;
  std::fprintf(out, "\n");
  table.Print(out);
}

// A phase's operation times, in microseconds: three significant digits, whole numbers
// (with commas) from 1,000 on.
std::string Micros(double ns) {
  const double us = ns / 1000;
  if (us >= 1000) return WithCommas(std::round(us));
  return Format(us >= 100 ? "%.0f" : us >= 10 ? "%.1f" : us >= 1 ? "%.2f" : "%.3f", us);
}

// A field of a phase's latency summary; NaN when the phase timed no operation.
ValueFn LatencyField(uint64_t LatencySummary::*field) {
  return [field](const StoreRun&, const PhaseResult& r) {
    return r.latency.count == 0 ? NAN : static_cast<double>(r.latency.*field);
  };
}

// A store's latency summaries of one phase over the runs: each percentile's median, and
// the longest operation of any run (max.max). p50.present says whether any run timed one.
struct LatencyStats {
  Stat p50, p99, p999, max;
};
LatencyStats SummarizeLatency(const std::vector<StoreRun>& runs, const std::string& store,
                              const std::string& phase) {
  return {Summarize(runs, store, phase, LatencyField(&LatencySummary::p50_ns)),
          Summarize(runs, store, phase, LatencyField(&LatencySummary::p99_ns)),
          Summarize(runs, store, phase, LatencyField(&LatencySummary::p999_ns)),
          Summarize(runs, store, phase, LatencyField(&LatencySummary::max_ns))};
}

// The phases that time their operations one by one, as selected.
std::vector<std::string> TimedPhases(const std::vector<std::string>& phases) {
  std::vector<std::string> timed;
  for (const std::string& phase : phases) {
    if (phase == "churn" || IsTxPhase(phase)) timed.push_back(phase);
  }
  return timed;
}

// "p50 / p99 / p99.9 / max" of each phase that timed its operations: the percentiles'
// medians over the runs, and the longest operation of any run.
void PrintLatencies(const RunContext& context, const std::vector<StoreRun>& runs, FILE* out) {
  const std::vector<std::string> phases = TimedPhases(context.options.phases);
  Table table;
  std::vector<std::string> header = {"latency (us): p50 / p99 / p99.9 / max"};
  for (const std::string& store : context.options.stores) header.push_back(store);
  table.AddRow(header);
  bool any = false;
  for (const std::string& phase : phases) {
    std::vector<std::string> row = {phase};
    bool ran = false;
    for (const std::string& store : context.options.stores) {
      const LatencyStats l = SummarizeLatency(runs, store, phase);
      if (!l.p50.present) {
        row.push_back("-");
        continue;
      }
      row.push_back(Micros(l.p50.median) + " / " + Micros(l.p99.median) + " / " +
                    Micros(l.p999.median) + " / " + Micros(l.max.max));
      ran = true;
    }
    if (ran) table.AddRow(row);
    any = any || ran;
  }
  if (!any) return;
  std::fprintf(out, "\n");
  table.Print(out);
  std::fprintf(out,
               "latency = one operation's own time (churn: a delete+insert pair; tx*: a\n"
               "  transaction from start to commit), one clock read per operation; p50, p99 and\n"
               "  p99.9 are medians over the runs, max the longest operation of any run.\n");
}

// "store: phases (why)" for every phase a store skipped, from its first run.
void PrintSkipped(const RunContext& context, const std::vector<StoreRun>& runs, FILE* out) {
  for (const std::string& store : context.options.stores) {
    const StoreRun* first = nullptr;
    for (const StoreRun& run : runs) {
      if (run.store == store) {
        first = &run;
        break;
      }
    }
    if (first == nullptr) continue;
    std::vector<std::pair<std::string, std::string>> groups;  // why, phases
    for (const PhaseResult& r : first->phases) {
      if (r.skipped.empty()) continue;
      auto it = std::find_if(groups.begin(), groups.end(),
                             [&](const auto& group) { return group.first == r.skipped; });
      if (it == groups.end()) {
        groups.push_back({r.skipped, r.phase});
      } else {
        it->second += ", " + r.phase;
      }
    }
    if (groups.empty()) continue;
    std::string line = "n/a: " + store + ":";
    for (const auto& [why, phases] : groups) line += " " + phases + " (" + why + ");";
    line.pop_back();
    std::fprintf(out, "%s\n", line.c_str());
  }
}

// The fields every JSON line starts with, up to "records".
std::string JsonHead(const char* kind, const RunContext& context, const StoreRun& run,
                     const std::string& phase) {
  const BenchOptions& options = context.options;
  // An @disk store commits durably on its core database (all_phases.cc).
  const bool preloaded = phase == "tx10-durable" && !OnDisk(run.store);
  const uint64_t records = preloaded ? options.durable_n : options.n;
  return "{\"kind\":" + JsonString(kind) + ",\"store\":" + JsonString(run.store) +
         ",\"backend\":" + JsonString(run.backend) + ",\"phase\":" + JsonString(phase) +
         ",\"n\":" + std::to_string(options.n) + ",\"records\":" + std::to_string(records);
}

// The fields every JSON line ends with, from "date" on, and the newline.
std::string JsonTail(const RunContext& context, const StoreRun& run, const std::string& phase) {
  const BenchOptions& options = context.options;
  const std::string dir = phase == "tx10-durable" ? context.disk_dir : run.dir;
  return ",\"date\":" + JsonString(context.date) +
         ",\"key_size\":" + std::to_string(options.key_size) +
         ",\"value_size\":" + std::to_string(options.value_size) + ",\"dir\":" + JsonString(dir) +
         ",\"fs\":" + JsonString(FileSystemType(dir)) +
         ",\"machine\":" + JsonString(context.machine) + "}\n";
}

bool AppendLines(const std::string& path, const std::string& lines, std::string* error) {
  FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  const bool written = std::fwrite(lines.data(), 1, lines.size(), file) == lines.size();
  if (std::fclose(file) != 0 || !written) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace

void PrintTable(const RunContext& context, const std::vector<StoreRun>& runs, FILE* out) {
  const BenchOptions& options = context.options;
  std::fprintf(
      out, "ptdb-bench: n=%s, key %zu B, value %zu B, %s (%s), %d run%s, ptdb backend %s\n",
      WithCommas(options.n).c_str(), options.key_size, options.value_size, options.dir.c_str(),
      context.fs.c_str(), options.runs, options.runs == 1 ? "" : "s", options.ptdb_backend.c_str());
  std::fprintf(out,
               "tx10-nosync: %s transactions of 10 records; tx1-nosync: up to %s of 1; "
               "tx10-durable: %s on %s (%s), %s records; mix: %s ops per process\n",
               WithCommas(options.txns).c_str(), WithCommas(kTx1PerTx10 * options.txns).c_str(),
               WithCommas(options.durable_txns).c_str(), context.disk_dir.c_str(),
               context.disk_fs.c_str(), WithCommas(options.durable_n).c_str(),
               WithCommas(options.mix_ops).c_str());
  for (const std::string& store : options.stores) {
    if (OnDisk(store)) {
      std::fprintf(out, "%s: all databases in %s (%s); tx10-durable on the core phases' database\n",
                   kOnDiskSuffix, context.disk_dir.c_str(), context.disk_fs.c_str());
      break;
    }
  }
  std::fprintf(out, "%s, %s\n\n", context.date.c_str(), context.machine.c_str());
  TableBuilder builder(context, runs);
  Table table;
  builder.Build(&table);
  table.Print(out);
  std::fprintf(out, "\n");
  if (options.runs > 1) {
    std::fprintf(out,
                 "medians of %d runs per store, interleaved; \u00b1x%%: every run within x%% of "
                 "the median.\n",
                 options.runs);
  }
  // The notes on the phases that ran.
  const auto ran = [&](std::initializer_list<const char*> phases) {
    for (const char* phase : phases) {
      if (std::find(options.phases.begin(), options.phases.end(), phase) != options.phases.end()) {
        return true;
      }
    }
    return false;
  };
  if (ran({"find2t"})) {
    std::fprintf(out,
                 "find2t = find's fetches split between 2 threads that share one handle, per\n"
                 "  second of both; find2t/find = the median over runs of each run's ratio.\n");
  }
  if (ran({"traverse"})) std::fprintf(out, "traverse = records visited per second.\n");
  if (ran({"churn"})) std::fprintf(out, "churn = delete+insert pairs per second.\n");
  if (ran({"tx10-nosync", "tx10-durable"})) {
    std::fprintf(out,
                 "tx10-* = transactions per second, each replacing 5 records and inserting 5;\n"
                 "  nosync on the core phases' database with syncs off, durable on the disk with\n"
                 "  syncs on.\n");
  }
  if (ran({"tx1-nosync"})) {
    std::fprintf(out,
                 "tx1-nosync = transactions per second, each replacing 1 record, with syncs off\n"
                 "  (at most 3 s of them): the cost of making every write atomic on its own.\n");
  }
  if (ran({"bulk"})) {
    std::fprintf(out, "bulk = records per second of one durable transaction of n inserts.\n");
  }
  if (ran({"tx10-nosync", "tx1-nosync", "tx10-durable", "bulk"})) {
    std::fprintf(out,
                 "syncs/commit = calls of fsync, fdatasync, msync(MS_SYNC), sync_file_range, "
                 "sync\n  and writes to O_SYNC/O_DSYNC descriptors, counted during the phase.\n");
  }
  if (ran({"mix1", "mix2"})) {
    std::fprintf(out,
                 "mix1, mix2 = fetches (90%%) and stores (10%%) per second of 1 and 2 processes;\n"
                 "  mix2/mix1 = the median over runs of each run's ratio.\n");
  }
  std::fprintf(out,
               "a/b columns: ratio of the medians (ops/s: above 1, a faster; syncs and bytes:\n"
               "  below 1, a fewer or smaller). n/a = skipped, see below; - = no figure.\n");
  PrintSkipped(context, runs, out);
  PrintSyncCalls(context, runs, out);
  PrintLatencies(context, runs, out);
  PrintTargets(runs, options.n, out);
  for (const StoreRun& run : runs) {
    if (!run.ok()) {
      std::fprintf(out, "FAILED: %s run %d: %s\n", run.store.c_str(), run.run + 1,
                   run.error.c_str());
    }
  }
}

bool AppendJson(const std::string& path, const RunContext& context, const StoreRun& run,
                std::string* error) {
  std::string lines;
  const BenchOptions& options = context.options;
  for (const PhaseResult& r : run.phases) {
    if (!r.skipped.empty()) continue;
    std::string extra;
    if (r.commits > 0) {
      char text[512];
      std::snprintf(text, sizeof(text),
                    ",\"commits\":%" PRIu64
                    ",\"syncs_per_commit\":%.3f,\"sync_calls\":{"
                    "\"fsync\":%" PRIu64 ",\"fdatasync\":%" PRIu64 ",\"msync\":%" PRIu64
                    ",\"sync_file_range\":%" PRIu64 ",\"sync\":%" PRIu64
                    ",\"dsync_writes\":%" PRIu64 "}",
                    r.commits, r.SyncsPerCommit(), r.syncs.fsync, r.syncs.fdatasync, r.syncs.msync,
                    r.syncs.sync_file_range, r.syncs.sync, r.syncs.dsync_writes);
      extra += text;
    }
    if (r.phase == "mix1" || r.phase == "mix2") {
      extra += ",\"ops_per_process\":" + std::to_string(options.mix_ops);
      if (r.phase == "mix2" && !std::isnan(MixScaling(run, r))) {
        extra += ",\"mix2_over_mix1\":" + Format("%.3f", MixScaling(run, r));
      }
    }
    if (r.phase == "find2t" && !std::isnan(ThreadScaling(run, r))) {
      extra += ",\"find2t_over_find\":" + Format("%.3f", ThreadScaling(run, r));
    }
    if (r.latency.count > 0) {
      char text[256];
      std::snprintf(text, sizeof(text),
                    ",\"latency_ns\":{\"ops\":%" PRIu64 ",\"p50\":%" PRIu64 ",\"p99\":%" PRIu64
                    ",\"p999\":%" PRIu64 ",\"max\":%" PRIu64 "}",
                    r.latency.count, r.latency.p50_ns, r.latency.p99_ns, r.latency.p999_ns,
                    r.latency.max_ns);
      extra += text;
    }
    char text[512];
    std::snprintf(text, sizeof(text),
                  ",\"ops\":%" PRIu64
                  ",\"ops_per_sec\":%.1f,\"ns_per_op\":%.1f,\"file_bytes\":%" PRIu64
                  ",\"peak_rss_bytes\":%" PRIu64 ",\"failures\":%" PRIu64,
                  r.ops, r.OpsPerSec(), r.NsPerOp(), r.file_bytes, r.peak_rss_bytes, r.failures);
    lines += JsonHead("run", context, run, r.phase) + text + extra +
             ",\"run\":" + std::to_string(run.run) + JsonTail(context, run, r.phase);
  }
  return AppendLines(path, lines, error);
}

bool AppendMedianJson(const std::string& path, const RunContext& context,
                      const std::vector<StoreRun>& runs, std::string* error) {
  std::string lines;
  for (const std::string& store : context.options.stores) {
    const StoreRun* first = nullptr;
    for (const StoreRun& run : runs) {
      if (run.store == store && first == nullptr) first = &run;
    }
    if (first == nullptr) continue;
    for (const std::string& phase : context.options.phases) {
      const Stat ops = Summarize(runs, store, phase, OpsPerSec);
      if (!ops.present) continue;
      uint64_t failures = 0;
      for (const StoreRun& run : runs) {
        const PhaseResult* r = run.store == store ? FindPhase(run, phase) : nullptr;
        if (r != nullptr) failures += r->failures;
      }
      std::string extra;
      if (IsTxPhase(phase)) {
        extra += ",\"syncs_per_commit\":" +
                 Format("%.3f", Summarize(runs, store, phase, SyncsPerCommit).median);
      }
      if (phase == "mix2") {
        const Stat scaling = Summarize(runs, store, phase, MixScaling);
        if (scaling.present) extra += ",\"mix2_over_mix1\":" + Format("%.3f", scaling.median);
      }
      if (phase == "find2t") {
        const Stat scaling = Summarize(runs, store, phase, ThreadScaling);
        if (scaling.present) extra += ",\"find2t_over_find\":" + Format("%.3f", scaling.median);
      }
      const LatencyStats l = SummarizeLatency(runs, store, phase);
      if (l.p50.present) {
        extra += ",\"latency_ns\":{\"p50\":" + Format("%.0f", l.p50.median) +
                 ",\"p99\":" + Format("%.0f", l.p99.median) +
                 ",\"p999\":" + Format("%.0f", l.p999.median) +
                 ",\"max\":" + Format("%.0f", l.max.max) + "}";
      }
      char text[512];
      std::snprintf(text, sizeof(text),
                    ",\"runs\":%zu,\"ops_per_sec\":%.1f,\"ops_per_sec_min\":%.1f,"
                    "\"ops_per_sec_max\":%.1f,\"spread_pct\":%.1f,\"ns_per_op\":%.1f,"
                    "\"failures\":%" PRIu64,
                    ops.count, ops.median, ops.min, ops.max, 100 * ops.PlusMinus(),
                    ops.median > 0 ? 1e9 / ops.median : 0.0, failures);
      lines += JsonHead("median", context, *first, phase) + text + extra +
               JsonTail(context, *first, phase);
    }
  }
  return AppendLines(path, lines, error);
}

}  // namespace bench
}  // namespace ptdb
