#include "bench/targets.h"

#include <algorithm>
#include <cstring>

#include "bench/numbers.h"
#include "bench/summary.h"

namespace ptdb {
namespace bench {
namespace {

enum class Figure { kOpsPerSec, kBytesPerRecord, kSyncsPerCommit, kMixScaling };

// subject/baseline (a ratio of the medians) or, without a baseline, the subject's median.
struct Target {
  const char* issue;
  const char* subject;
  const char* baseline;
  const char* phase;
  Figure figure;
  double wanted;
  bool at_most = false;
};

// From the issues' "Targets" sections; the absolute figures are the ones they name for
// this machine.
const Target kTargets[] = {
    // #3: the foundation, each store without locks.
    {"#3", "ptdb-nolock", "tdb-nolock", "add", Figure::kOpsPerSec, 2.0},
    {"#3", "ptdb-nolock", "tdb-nolock", "find", Figure::kOpsPerSec, 1.5},
    {"#3", "ptdb-nolock", "tdb-nolock", "miss", Figure::kOpsPerSec, 1.5},
    {"#3", "ptdb-nolock", "tdb-nolock", "traverse", Figure::kOpsPerSec, 3.0},
    {"#3", "ptdb-nolock", "tdb-nolock", "add", Figure::kBytesPerRecord, 1.0, true},
    // #4: locking on, against tdb's two locking modes and Kyoto; fcntl against fcntl.
    {"#4", "ptdb", "tdb", "add", Figure::kOpsPerSec, 4.0},
    {"#4", "ptdb", "tdb", "find", Figure::kOpsPerSec, 4.0},
    {"#4", "ptdb", "tdb-mutex", "add", Figure::kOpsPerSec, 1.5},
    {"#4", "ptdb", "tdb-mutex", "find", Figure::kOpsPerSec, 1.5},
    {"#4", "ptdb", "kyoto", "find", Figure::kOpsPerSec, 1.0},
    {"#4", "ptdb-fcntl", "tdb", "add", Figure::kOpsPerSec, 1.5},
    {"#4", "ptdb-fcntl", "tdb", "find", Figure::kOpsPerSec, 1.5},
    {"#4", "ptdb", nullptr, "mix2", Figure::kMixScaling, 1.6},
    // #5: transactions.
    {"#5", "ptdb", nullptr, "tx10-durable", Figure::kSyncsPerCommit, 1.0, true},
    {"#5", "ptdb", "tdb", "tx10-durable", Figure::kOpsPerSec, 2.0},
    {"#5", "ptdb", "lmdb", "tx10-durable", Figure::kOpsPerSec, 1.0},
    {"#5", "ptdb", "tdb", "tx10-nosync", Figure::kOpsPerSec, 50.0},
    {"#5", "ptdb", "leveldb", "tx10-nosync", Figure::kOpsPerSec, 1.0},
    {"#5", "ptdb", nullptr, "tx10-nosync", Figure::kOpsPerSec, 88e3},
    // #6: the pmem backend, against the minimal pmemobj hash table and in figures.
    {"#6", "ptdb-pmem", nullptr, "add", Figure::kOpsPerSec, 500e3},
    {"#6", "ptdb-pmem", "pmem-hash", "add", Figure::kOpsPerSec, 1.0},
    {"#6", "ptdb-pmem", nullptr, "find", Figure::kOpsPerSec, 2e6},
    {"#6", "ptdb-pmem", "pmem-hash", "find", Figure::kOpsPerSec, 1.0},
    {"#6", "ptdb-pmem", nullptr, "traverse", Figure::kOpsPerSec, 10e6},
    {"#6", "ptdb-pmem", "pmem-hash", "traverse", Figure::kOpsPerSec, 1.0},
    {"#6", "ptdb-pmem", nullptr, "tx10-nosync", Figure::kOpsPerSec, 100e3},
    {"#6", "ptdb-pmem", "pmem-hash", "tx10-nosync", Figure::kOpsPerSec, 1.0},
    {"#6", "ptdb-pmem", "ptdb", "add", Figure::kBytesPerRecord, 1.5, true},
};

ValueFn ValueOf(Figure figure) {
  switch (figure) {
    case Figure::kOpsPerSec:
      return OpsPerSec;
    case Figure::kBytesPerRecord:
      return BytesPerRecord;
    case Figure::kSyncsPerCommit:
      return SyncsPerCommit;
    case Figure::kMixScaling:
      return MixScaling;
  }
  return OpsPerSec;
}

std::string Describe(const Target& t) {
  std::string what = t.subject;
  if (t.baseline != nullptr) what += std::string("/") + t.baseline;
  switch (t.figure) {
    case Figure::kOpsPerSec:
      return what + " " + t.phase +
             (std::strcmp(t.phase, "traverse") == 0   ? " records/s"
              : std::strncmp(t.phase, "tx10", 4) == 0 ? " commits/s"
                                                      : " ops/s");
    case Figure::kBytesPerRecord:
      return what + " bytes/record after " + t.phase;
    case Figure::kSyncsPerCommit:
      return what + " " + t.phase + " syncs/commit";
    case Figure::kMixScaling:
      return what + " mix2/mix1";
  }
  return what;
}

std::string Number(const TargetResult& r, double value) {
  char text[32];
  if (r.ratio || r.what.find("mix2/mix1") != std::string::npos) {
    std::snprintf(text, sizeof(text), "%.2fx", value);
  } else if (value >= 1000) {
    return WithCommas(value);
  } else {
    std::snprintf(text, sizeof(text), "%.2f", value);
  }
  return text;
}

}  // namespace

std::vector<TargetResult> CheckTargets(const std::vector<StoreRun>& runs) {
  std::vector<TargetResult> results;
  for (const Target& t : kTargets) {
    const ValueFn value = ValueOf(t.figure);
    const Stat subject = Summarize(runs, t.subject, t.phase, value);
    if (!subject.present) continue;
    TargetResult r;
    r.issue = t.issue;
    r.what = Describe(t);
    r.wanted = t.wanted;
    r.at_most = t.at_most;
    r.measured = subject.median;
    if (t.baseline != nullptr) {
      const Stat baseline = Summarize(runs, t.baseline, t.phase, value);
      if (!baseline.present || baseline.median <= 0) continue;
      r.ratio = true;
      r.measured = subject.median / baseline.median;
    }
    r.met = t.at_most ? r.measured <= t.wanted : r.measured >= t.wanted;
    results.push_back(r);
  }
  return results;
}

void PrintTargets(const std::vector<StoreRun>& runs, uint64_t n, FILE* out) {
  const std::vector<TargetResult> results = CheckTargets(runs);
  if (results.empty()) return;
  size_t width = 0;
  for (const TargetResult& r : results) width = std::max(width, r.what.size());
  std::fprintf(out, "\nthe issues' targets in this run (medians; a ratio is subject/baseline)");
  if (n != kTargetRecords) {
    std::fprintf(out, ",\n  indicative only: they are set at n=%s, this run has n=%s",
                 WithCommas(kTargetRecords).c_str(), WithCommas(n).c_str());
  }
  std::fprintf(out, ":\n");
  for (const TargetResult& r : results) {
    const std::string wanted = (r.at_most ? "<= " : ">= ") + Number(r, r.wanted);
    std::fprintf(out, "  %s  %-*s  %12s  wanted %-14s  %s\n", r.issue.c_str(), int(width),
                 r.what.c_str(), Number(r, r.measured).c_str(), wanted.c_str(),
                 r.met ? "met" : "NOT MET");
  }
}

}  // namespace bench
}  // namespace ptdb
