#include "bench/summary.h"

#include <algorithm>
#include <cmath>

namespace ptdb {
namespace bench {

double Stat::PlusMinus() const {
  if (!present || median <= 0) return 0;
  return std::max(max - median, median - min) / median;
}

const PhaseResult* FindPhase(const StoreRun& run, const std::string& phase) {
  for (const PhaseResult& r : run.phases) {
    if (r.phase == phase) return &r;
  }
  return nullptr;
}

Stat Summarize(const std::vector<StoreRun>& runs, const std::string& store,
               const std::string& phase, const ValueFn& value) {
  Stat stat;
  std::vector<double> values;
  for (const StoreRun& run : runs) {
    const PhaseResult* r = run.store == store ? FindPhase(run, phase) : nullptr;
    if (r == nullptr) continue;
    if (!r->skipped.empty()) {
      stat.skipped = true;
      continue;
    }
    const double v = value(run, *r);
    if (std::isnan(v)) continue;
    values.push_back(v);
    if (r->failures != 0) stat.failed = true;
  }
  if (values.empty()) return stat;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  stat.present = true;
  stat.count = values.size();
  stat.median = values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  stat.min = values.front();
  stat.max = values.back();
  return stat;
}

double OpsPerSec(const StoreRun&, const PhaseResult& r) { return r.OpsPerSec(); }

double SyncsPerCommit(const StoreRun&, const PhaseResult& r) { return r.SyncsPerCommit(); }

double FileBytes(const StoreRun& run, const PhaseResult& r) {
  return run.backend == "internal" ? std::nan("") : static_cast<double>(r.file_bytes);
}

double BytesPerRecord(const StoreRun& run, const PhaseResult& r) {
  return FileBytes(run, r) / static_cast<double>(r.ops);
}

namespace {

// r's ops/s over those of phase `base` in the same run.
double ScalingOver(const StoreRun& run, const PhaseResult& r, const char* base) {
  const PhaseResult* b = FindPhase(run, base);
  if (b == nullptr || !b->skipped.empty() || b->OpsPerSec() <= 0) return std::nan("");
  return r.OpsPerSec() / b->OpsPerSec();
}

}  // namespace

double MixScaling(const StoreRun& run, const PhaseResult& mix2) {
  return ScalingOver(run, mix2, "mix1");
}

double ThreadScaling(const StoreRun& run, const PhaseResult& find2t) {
  return ScalingOver(run, find2t, "find");
}

}  // namespace bench
}  // namespace ptdb
