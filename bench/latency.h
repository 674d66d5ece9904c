// How long single operations of a timed loop took: what a caller waiting on one call
// sees, which a rate hides (a 10 ms stall in a million operations moves ops/s by 1%).
//
// One clock read per operation: each operation ends where the next one begins, so the
// loop pays one steady_clock read (~30 ns here) per operation and nothing else. The
// phases that keep a log do at least a microsecond of work per operation (churn's
// delete+insert pairs, the transaction phases' commits).
#ifndef PTDB_BENCH_LATENCY_H_
#define PTDB_BENCH_LATENCY_H_

#include <chrono>
#include <cstdint>
#include <vector>

namespace ptdb {
namespace bench {

struct LatencySummary {
  uint64_t count = 0;  // operations timed; 0: the phase keeps no log
  // Nearest-rank percentiles: p99_ns is the smallest time that 99% of the operations
  // took at most.
  uint64_t p50_ns = 0;
  uint64_t p99_ns = 0;
  uint64_t p999_ns = 0;
  uint64_t max_ns = 0;
};

// The summary of operation times in ns, in any order.
LatencySummary SummarizeLatencies(std::vector<uint32_t> samples);

class LatencyLog {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LatencyLog(uint64_t expected_ops) { samples_.reserve(expected_ops); }

  // The first operation begins at `now`.
  void Start(Clock::time_point now) { last_ = now; }
  // The operation that began at the last Start or Lap ended at `now`, and the next
  // begins. Times past ~4.3 s are kept as 4.3 s.
  void Lap(Clock::time_point now) {
    const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count();
    samples_.push_back(ns >= int64_t{UINT32_MAX} ? UINT32_MAX : uint32_t(ns < 0 ? 0 : ns));
    last_ = now;
  }

  LatencySummary Summarize() const { return SummarizeLatencies(samples_); }

 private:
  std::vector<uint32_t> samples_;
  Clock::time_point last_;
};

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_LATENCY_H_
