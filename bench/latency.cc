#include "bench/latency.h"

#include <algorithm>
#include <cmath>

namespace ptdb {
namespace bench {

LatencySummary SummarizeLatencies(std::vector<uint32_t> samples) {
  LatencySummary s;
  s.count = samples.size();
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  // The nearest rank: the ceil(p * n)-th smallest, counting from 1.
  const auto at = [&](double p) {
    const double rank = std::ceil(p * static_cast<double>(samples.size()));
    const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
    return uint64_t{samples[std::min(index, samples.size() - 1)]};
  };
  s.p50_ns = at(0.50);
  s.p99_ns = at(0.99);
  s.p999_ns = at(0.999);
  s.max_ns = samples.back();
  return s;
}

}  // namespace bench
}  // namespace ptdb
