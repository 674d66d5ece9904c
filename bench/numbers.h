// Number formatting for ptdb-bench's human output.
#ifndef PTDB_BENCH_NUMBERS_H_
#define PTDB_BENCH_NUMBERS_H_

#include <cmath>
#include <cstdint>
#include <string>

namespace ptdb {
namespace bench {

// 1234567 -> "1,234,567".
inline std::string WithCommas(uint64_t value) {
  std::string digits = std::to_string(value);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

// Rounded to the nearest integer first.
inline std::string WithCommas(double value) {
  return WithCommas(static_cast<uint64_t>(std::llround(value < 0 ? 0 : value)));
}

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_NUMBERS_H_
