// The records of the benchmark: the same keys and values as the peer harness
// (/work/shared/peers, "The workload"), so ptdb-bench figures line up with its tables.
//
// Record i has a key of key_size bytes: (key_size - 16) '0' characters, then the 16 lowercase
// hex digits of a 64-bit bijective mix of i, so keys are distinct and their order is random
// to every hash. Its value is value_size deterministic bytes derived from i.
#ifndef PTDB_BENCH_WORKLOAD_H_
#define PTDB_BENCH_WORKLOAD_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ptdb {
namespace bench {

// Keys shorter than this could not hold the 16 hex digits that keep them distinct.
constexpr size_t kMinKeySize = 16;

// The peer harness's default seed; changing it would change every key.
constexpr uint64_t kWorkloadSeed = 0x5eed;

// splitmix64's finalizer: a bijection on 64-bit integers.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The order in which the peer harness's fetch phases visit the records: a Fisher-Yates
// shuffle of 0..n-1 driven by a splitmix64 stream from kWorkloadSeed * 3 + 1, the same
// permutation as its fetch-hit and fetch-miss phases. A lookup in insertion order would
// walk the records in file order for a store that appends them (tdb), which no user's
// lookups do.
inline std::vector<uint32_t> FetchOrder(uint64_t n) {
  std::vector<uint32_t> order(n);
  for (uint64_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
  uint64_t state = kWorkloadSeed * 3 + 1;
  for (uint64_t i = n; i > 1; --i) {
    state += 0x9e3779b97f4a7c15ULL;
    const uint64_t pick =
        static_cast<uint64_t>((static_cast<unsigned __int128>(Mix64(state)) * i) >> 64);
    std::swap(order[i - 1], order[pick]);
  }
  return order;
}

class Workload {
 public:
  Workload(size_t key_size, size_t value_size) : key_(key_size, '0'), value_(value_size, '\0') {}

  // Views an internal buffer, overwritten by the next Key call.
  std::string_view Key(uint64_t i) {
    static constexpr char kHex[] = "0123456789abcdef";
    uint64_t id = Mix64(i ^ kWorkloadSeed);
    char* p = key_.data() + key_.size();
    for (int digit = 0; digit < 16; ++digit) {
      *--p = kHex[id & 15];
      id >>= 4;
    }
    return key_;
  }

  // Views an internal buffer, overwritten by the next Value call. Generation 0 of the peer
  // harness's values.
  std::string_view Value(uint64_t i) {
    uint64_t word = Mix64((i << 8) ^ ~kWorkloadSeed);
    const size_t size = value_.size();
    size_t off = 0;
    for (; off + 8 <= size; off += 8) {
      std::memcpy(&value_[off], &word, 8);
      word += 0x9e3779b97f4a7c15ULL;
    }
    if (off < size) std::memcpy(&value_[off], &word, size - off);
    return value_;
  }

 private:
  std::string key_;
  std::string value_;
};

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_WORKLOAD_H_
