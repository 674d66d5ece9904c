#include "bench/report.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstring>
#include <functional>

#include "bench/numbers.h"

namespace ptdb {
namespace bench {
namespace {

// The pair the ratio column compares.
constexpr const char* kSubject = "ptdb";
constexpr const char* kBaseline = "tdb";

struct Stat {
  bool present = false;
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

std::string Percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f%%", 100 * fraction);
  return text;
}

std::string Ratio(double ratio) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2fx", ratio);
  return text;
}

std::string OneDecimal(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f", value);
  return text;
}

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

std::string Commas(double value) { return WithCommas(value); }

// What a row shows of one phase of one run; NaN leaves the run out.
using ValueFn = std::function<double(const StoreRun&, const PhaseResult&)>;

double OpsPerSec(const StoreRun&, const PhaseResult& r) { return r.OpsPerSec(); }
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

class TableBuilder {
 public:
  TableBuilder(const RunContext& context, const std::vector<StoreRun>& runs)
      : context_(context), runs_(runs) {}

  Table Build() {
    std::vector<std::string> header = {"phase (ops/s)"};
    for (const std::string& store : context_.options.stores) {
      header.push_back(store);
      if (WithSpread()) header.push_back("spread");
    }
    if (WithRatio(context_.options)) header.push_back(std::string(kSubject) + "/" + kBaseline);
    table_.AddRow(header);
    for (const std::string& phase : PhaseNames()) {
      AddRow(phase, phase, OpsPerSec, Commas, /*mark_failures=*/true);
    }
    AddRow("file bytes after add", "add", FileBytes, Commas, false);
    AddRow("bytes/record after add", "add", BytesPerRecord, OneDecimal, false);
    AddRow("file bytes at end", PhaseNames().back(), FileBytes, Commas, false);
    AddRow("peak RSS bytes", PhaseNames().back(), PeakRss, Commas, false);
    return table_;
  }

  // The median of `value` over the runs of `store` that reached `phase`; *failed (optional)
  // is set if any of them had failures.
  Stat Median(const std::string& store, const std::string& phase, const ValueFn& value,
              bool* failed) const {
    std::vector<double> values;
    for (const StoreRun& run : runs_) {
      const PhaseResult* r = run.store == store ? FindPhase(run, phase) : nullptr;
      if (r == nullptr || std::isnan(value(run, *r))) continue;
      values.push_back(value(run, *r));
      if (r->failures != 0 && failed != nullptr) *failed = true;
    }
    return Summarize(values);
  }

  static bool WithRatio(const BenchOptions& options) {
    const auto& stores = options.stores;
    return std::find(stores.begin(), stores.end(), kSubject) != stores.end() &&
           std::find(stores.begin(), stores.end(), kBaseline) != stores.end();
  }

 private:
  bool WithSpread() const { return context_.options.runs > 1; }

  void AddRow(const std::string& label, const std::string& phase, const ValueFn& value,
              const std::function<std::string(double)>& text, bool mark_failures) {
    std::vector<std::string> row = {label};
    Stat subject, baseline;
    for (const std::string& store : context_.options.stores) {
      bool failed = false;
      const Stat stat = Median(store, phase, value, &failed);
      std::string cell = stat.present ? text(stat.median) : "-";
      if (failed && mark_failures) cell += " FAILED";
      row.push_back(cell);
      if (WithSpread()) row.push_back(stat.present ? Percent(stat.spread) : "-");
      if (store == kSubject) subject = stat;
      if (store == kBaseline) baseline = stat;
    }
    if (WithRatio(context_.options)) {
      const bool both = subject.present && baseline.present && baseline.median > 0;
      row.push_back(both ? Ratio(subject.median / baseline.median) : "-");
    }
    table_.AddRow(row);
  }

  const RunContext& context_;
  const std::vector<StoreRun>& runs_;
  Table table_;
};

}  // namespace

void PrintTable(const RunContext& context, const std::vector<StoreRun>& runs, FILE* out) {
  const BenchOptions& options = context.options;
  const bool with_subject =
      std::find(options.stores.begin(), options.stores.end(), kSubject) != options.stores.end();
  std::fprintf(out, "ptdb-bench: n=%s, key %zu B, value %zu B, %s (%s), %d run%s%s%s\n",
               WithCommas(options.n).c_str(), options.key_size, options.value_size,
               options.dir.c_str(), context.fs.c_str(), options.runs, options.runs == 1 ? "" : "s",
               with_subject ? ", ptdb backend " : "",
               with_subject ? options.ptdb_backend.c_str() : "");
  std::fprintf(out, "%s, %s\n\n", context.date.c_str(), context.machine.c_str());
  TableBuilder builder(context, runs);
  builder.Build().Print(out);
  std::fprintf(out, "\n");
  const Stat ptdb_bytes = builder.Median(kSubject, "add", FileBytes, nullptr);
  if (ptdb_bytes.present) {
    std::fprintf(out, "%s file after add: %s bytes, %.1f bytes/record", kSubject,
                 WithCommas(ptdb_bytes.median).c_str(), ptdb_bytes.median / options.n);
    const Stat tdb_bytes = builder.Median(kBaseline, "add", FileBytes, nullptr);
    if (tdb_bytes.present && tdb_bytes.median > 0) {
      std::fprintf(out, " (%s: %s bytes, %.2fx)", kBaseline, WithCommas(tdb_bytes.median).c_str(),
                   ptdb_bytes.median / tdb_bytes.median);
    }
    std::fprintf(out, "\n");
  }
  if (TableBuilder::WithRatio(options)) {
    std::fprintf(out,
                 "%s/%s: ratio of ops/s (above 1: %s faster); for sizes, of bytes (below 1: %s "
                 "smaller).\n",
                 kSubject, kBaseline, kSubject, kSubject);
  }
  std::fprintf(out,
               "traverse = records visited per second; churn = delete+insert pairs per second.\n");
  if (options.runs > 1) std::fprintf(out, "spread = (max - min) / median over the runs.\n");
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
    std::fprintf(file,
                 "{\"store\":%s,\"backend\":%s,\"phase\":%s,\"n\":%" PRIu64
                 ",\"ops_per_sec\":%.1f,\"ns_per_op\":%.1f,\"file_bytes\":%" PRIu64
                 ",\"peak_rss_bytes\":%" PRIu64 ",\"failures\":%" PRIu64
                 ",\"run\":%d,\"date\":%s,\"key_size\":%zu,\"value_size\":%zu,\"dir\":%s,"
                 "\"fs\":%s,\"machine\":%s}\n",
                 JsonString(run.store).c_str(), JsonString(run.backend).c_str(),
                 JsonString(r.phase).c_str(), options.n, r.OpsPerSec(), r.NsPerOp(), r.file_bytes,
                 r.peak_rss_bytes, r.failures, run.run, JsonString(context.date).c_str(),
                 options.key_size, options.value_size, JsonString(options.dir).c_str(),
                 JsonString(context.fs).c_str(), JsonString(context.machine).c_str());
  }
  if (std::fclose(file) != 0) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace bench
}  // namespace ptdb
