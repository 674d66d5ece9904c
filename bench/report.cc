#include "bench/report.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <utility>

#include "bench/all_phases.h"
#include "bench/numbers.h"

namespace ptdb {
namespace bench {
namespace {

// The ratio columns, subject/baseline: the comparisons issues 4 and 5 set targets on
// (locking on against tdb's two locking modes and Kyoto; fcntl against fcntl; no locks
// against no locks; commits against LMDB).
constexpr std::pair<const char*, const char*> kRatios[] = {
    {"ptdb", "tdb"},  {"ptdb", "tdb-mutex"}, {"ptdb", "kyoto"},
    {"ptdb", "lmdb"}, {"ptdb-fcntl", "tdb"}, {"ptdb-nolock", "tdb-nolock"},
};

// The phases whose rows also show sync calls per commit.
constexpr const char* kTxPhases[] = {"tx10-nosync", "tx10-durable", "bulk"};

struct Stat {
  bool present = false;
  bool skipped = false;  // some run skipped the phase
  double median = 0;
  double spread = 0;  // (max - min) / median
};

Stat Summarize(std::vector<double> values) {
  Stat stat;
  if (values.empty()) return stat;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  stat.present = true;
  stat.median = values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  stat.spread = stat.median > 0 ? (values.back() - values.front()) / stat.median : 0;
  return stat;
}

// Finds the result of `phase` in a run, or nullptr.
const PhaseResult* FindPhase(const StoreRun& run, const std::string& phase) {
  for (const PhaseResult& r : run.phases) {
    if (r.phase == phase) return &r;
  }
  return nullptr;
}

class Table {
 public:
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  // First column left-aligned, the others right-aligned.
  void Print(FILE* out) const {
    std::vector<size_t> widths;
    for (const auto& row : rows_) {
      widths.resize(std::max(widths.size(), row.size()));
      for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
    }
    for (const auto& row : rows_) {
      std::string line;
      for (size_t c = 0; c < row.size(); ++c) {
        const std::string pad(widths[c] - row[c].size(), ' ');
        line += c == 0 ? row[c] + pad : "  " + pad + row[c];
      }
      std::fprintf(out, "%s\n", line.c_str());
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string Format(const char* format, double value) {
  char text[32];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

std::string Percent(double fraction) { return Format("%.1f%%", 100 * fraction); }
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

// What a row shows of one phase of one run; NaN leaves the run out.
using ValueFn = std::function<double(const StoreRun&, const PhaseResult&)>;

double OpsPerSec(const StoreRun&, const PhaseResult& r) { return r.OpsPerSec(); }
double SyncsPerCommit(const StoreRun&, const PhaseResult& r) { return r.SyncsPerCommit(); }
double PeakRss(const StoreRun&, const PhaseResult& r) {
  return static_cast<double>(r.peak_rss_bytes);
}
// A memory-only database has no file to measure.
double FileBytes(const StoreRun& run, const PhaseResult& r) {
  return run.backend == "internal" ? std::nan("") : static_cast<double>(r.file_bytes);
}
double BytesPerRecord(const StoreRun& run, const PhaseResult& r) {
  return FileBytes(run, r) / static_cast<double>(r.ops);
}
// Shown on the mix2 row: how much a second process adds, within one run.
double MixScaling(const StoreRun& run, const PhaseResult& mix2) {
  const PhaseResult* mix1 = FindPhase(run, "mix1");
  if (mix1 == nullptr || !mix1->skipped.empty() || mix1->OpsPerSec() <= 0) return std::nan("");
  return mix2.OpsPerSec() / mix1->OpsPerSec();
}

class TableBuilder {
 public:
  TableBuilder(const RunContext& context, const std::vector<StoreRun>& runs)
      : context_(context), runs_(runs) {
    for (const auto& [subject, baseline] : kRatios) {
      if (Has(stores(), subject) && Has(stores(), baseline)) ratios_.push_back({subject, baseline});
    }
  }

  // The medians (and ratios) table, and with several runs the spreads table.
  void Build(Table* medians, Table* spreads) {
    medians_ = medians;
    spreads_ = spreads;
    std::vector<std::string> header = {"phase (ops/s)"};
    for (const std::string& store : stores()) header.push_back(store);
    spreads_->AddRow(std::vector<std::string>(header));
    for (const auto& [subject, baseline] : ratios_) {
      header.push_back(std::string(subject) + "/" + baseline);
    }
    medians_->AddRow(header);
    for (const std::string& phase : AllPhaseNames()) {
      AddRow(phase, phase, OpsPerSec, Commas, /*mark_failures=*/true);
      if (std::find(std::begin(kTxPhases), std::end(kTxPhases), phase) != std::end(kTxPhases)) {
        AddRow(phase + " syncs/commit", phase, SyncsPerCommit, TwoDecimals, false);
      }
    }
    AddRow("mix2/mix1", "mix2", MixScaling, TwoDecimals, false);
    AddRow("file bytes after add", "add", FileBytes, Commas, false);
    AddRow("bytes/record after add", "add", BytesPerRecord, OneDecimal, false);
    AddRow("file bytes at end", PhaseNames().back(), FileBytes, Commas, false);
    AddRow("peak RSS bytes", PhaseNames().back(), PeakRss, Commas, false);
    AddRow("bulk peak RSS bytes", "bulk", PeakRss, Commas, false);
  }

  // The median of `value` over the runs of `store` that ran `phase`; *failed (optional) is
  // set if any of them had failures.
  Stat Median(const std::string& store, const std::string& phase, const ValueFn& value,
              bool* failed) const {
    std::vector<double> values;
    bool skipped = false;
    for (const StoreRun& run : runs_) {
      const PhaseResult* r = run.store == store ? FindPhase(run, phase) : nullptr;
      if (r == nullptr) continue;
      if (!r->skipped.empty()) {
        skipped = true;
        continue;
      }
      if (std::isnan(value(run, *r))) continue;
      values.push_back(value(run, *r));
      if (r->failures != 0 && failed != nullptr) *failed = true;
    }
    Stat stat = Summarize(values);
    stat.skipped = skipped;
    return stat;
  }

 private:
  const std::vector<std::string>& stores() const { return context_.options.stores; }

  void AddRow(const std::string& label, const std::string& phase, const ValueFn& value,
              const std::function<std::string(double)>& text, bool mark_failures) {
    std::vector<std::string> row = {label};
    std::vector<std::string> spread_row = {label};
    std::map<std::string, Stat> stats;
    for (const std::string& store : stores()) {
      bool failed = false;
      const Stat stat = Median(store, phase, value, &failed);
      std::string cell = stat.present ? text(stat.median) : stat.skipped ? "n/a" : "-";
      if (failed && mark_failures) cell += " FAILED";
      row.push_back(cell);
      spread_row.push_back(stat.present ? Percent(stat.spread) : "-");
      stats[store] = stat;
    }
    for (const auto& [subject, baseline] : ratios_) {
      const Stat& a = stats[subject];
      const Stat& b = stats[baseline];
      row.push_back(a.present && b.present && b.median > 0 ? Ratio(a.median / b.median) : "-");
    }
    medians_->AddRow(row);
    spreads_->AddRow(spread_row);
  }

  const RunContext& context_;
  const std::vector<StoreRun>& runs_;
  std::vector<std::pair<const char*, const char*>> ratios_;
  Table* medians_ = nullptr;
  Table* spreads_ = nullptr;
};

// Sync calls per commit of each transaction phase, by call, from each store's first run
// that ran it (the counts are a property of the store's commit path, not of timing).
void PrintSyncCalls(const RunContext& context, const std::vector<StoreRun>& runs, FILE* out) {
  Table table;
  std::vector<std::string> header = {"sync calls per commit"};
  for (const char* phase : kTxPhases) header.push_back(phase);
  table.AddRow(header);
  bool any = false;
  for (const std::string& store : context.options.stores) {
    std::vector<std::string> row = {store};
    bool ran = false;
    for (const char* phase : kTxPhases) {
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

}  // namespace

void PrintTable(const RunContext& context, const std::vector<StoreRun>& runs, FILE* out) {
  const BenchOptions& options = context.options;
  std::fprintf(
      out, "ptdb-bench: n=%s, key %zu B, value %zu B, %s (%s), %d run%s, ptdb backend %s\n",
      WithCommas(options.n).c_str(), options.key_size, options.value_size, options.dir.c_str(),
      context.fs.c_str(), options.runs, options.runs == 1 ? "" : "s", options.ptdb_backend.c_str());
  std::fprintf(out,
               "tx10-nosync: %s transactions of 10 records; tx10-durable: %s on %s (%s), "
               "%s records; mix: %s ops per process\n",
               WithCommas(options.txns).c_str(), WithCommas(options.durable_txns).c_str(),
               context.disk_dir.c_str(), context.disk_fs.c_str(),
               WithCommas(options.durable_n).c_str(), WithCommas(options.mix_ops).c_str());
  std::fprintf(out, "%s, %s\n\n", context.date.c_str(), context.machine.c_str());
  TableBuilder builder(context, runs);
  Table medians, spreads;
  builder.Build(&medians, &spreads);
  medians.Print(out);
  std::fprintf(out, "\n");
  std::fprintf(out,
               "traverse = records visited per second; churn = delete+insert pairs per second.\n"
               "tx10-* = transactions per second, each replacing 5 records and inserting 5;\n"
               "  nosync on the core phases' database with syncs off, durable on the disk with\n"
               "  syncs on. bulk = records per second of one durable transaction of n inserts.\n"
               "syncs/commit = calls of fsync, fdatasync, msync(MS_SYNC), sync_file_range, sync\n"
               "  and writes to O_SYNC/O_DSYNC descriptors, counted during the phase.\n"
               "mix1, mix2 = fetches (90%%) and stores (10%%) per second of 1 and 2 processes;\n"
               "  mix2/mix1 = the median over runs of each run's ratio.\n"
               "a/b columns: ratio of the medians (ops/s: above 1, a faster; syncs and bytes:\n"
               "  below 1, a fewer or smaller). n/a = skipped, see below; - = no figure.\n");
  PrintSkipped(context, runs, out);
  if (options.runs > 1) {
    std::fprintf(out, "\nspread = (max - min) / median over the runs:\n\n");
    spreads.Print(out);
  }
  PrintSyncCalls(context, runs, out);
  for (const StoreRun& run : runs) {
    if (!run.ok()) {
      std::fprintf(out, "FAILED: %s run %d: %s\n", run.store.c_str(), run.run + 1,
                   run.error.c_str());
    }
  }
}

bool AppendJson(const std::string& path, const RunContext& context, const StoreRun& run,
                std::string* error) {
  FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  const BenchOptions& options = context.options;
  for (const PhaseResult& r : run.phases) {
    if (!r.skipped.empty()) continue;
    const bool durable = r.phase == "tx10-durable";
    const uint64_t records = durable ? options.durable_n : options.n;
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
    std::fprintf(
        file,
        "{\"store\":%s,\"backend\":%s,\"phase\":%s,\"n\":%" PRIu64 ",\"records\":%" PRIu64
        ",\"ops\":%" PRIu64 ",\"ops_per_sec\":%.1f,\"ns_per_op\":%.1f,\"file_bytes\":%" PRIu64
        ",\"peak_rss_bytes\":%" PRIu64 ",\"failures\":%" PRIu64
        "%s,\"run\":%d,\"date\":%s,\"key_size\":%zu,\"value_size\":%zu,\"dir\":%s,"
        "\"fs\":%s,\"machine\":%s}\n",
        JsonString(run.store).c_str(), JsonString(run.backend).c_str(), JsonString(r.phase).c_str(),
        options.n, records, r.ops, r.OpsPerSec(), r.NsPerOp(), r.file_bytes, r.peak_rss_bytes,
        r.failures, extra.c_str(), run.run, JsonString(context.date).c_str(), options.key_size,
        options.value_size, JsonString(durable ? context.disk_dir : options.dir).c_str(),
        JsonString(durable ? context.disk_fs : context.fs).c_str(),
        JsonString(context.machine).c_str());
  }
  if (std::fclose(file) != 0) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace bench
}  // namespace ptdb
