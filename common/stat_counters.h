// The counters behind Db::GetStats, bumped by the engine from any thread.
//
// Each is a relaxed atomic bumped with a plain load and store, not a locked add: two
// threads bumping one counter at the same instant may lose one count, which statistics
// can afford, while a locked add on every lookup's compare would cost more than the
// compare. No data race either way (TSan-clean).
#ifndef PTDB_COMMON_STAT_COUNTERS_H_
#define PTDB_COMMON_STAT_COUNTERS_H_

#include <atomic>
#include <cstdint>

#include "ptdb/options.h"

namespace ptdb {

class Counter {
 public:
  void operator++(int) { *this += 1; }
  void operator+=(uint64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t load() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Every field of ptdb::Stats, in order.
// clang-format off
#define PTDB_STATS_FIELDS(X)                                                      \
  X(allocs) X(alloc_subhash) X(alloc_chain) X(alloc_grow) X(alloc_bucket_exact)   \
  X(alloc_bucket_max) X(alloc_leftover) X(alloc_coalesce_tried)                   \
  X(alloc_coalesce_succeeded) X(alloc_coalesce_num_merged) X(compares)            \
  X(compare_wrong_offsetbits) X(compare_wrong_rechash) X(compare_wrong_keylen)    \
  X(compare_wrong_keycmp) X(expands) X(frees) X(record_grows_in_place)            \
  X(record_moves) X(transactions) X(transaction_cancels) X(syncs)       \
  X(unlocked_reads) X(unlocked_read_retries) X(logged_ranges)
// clang-format on

struct StatCounters {
#define PTDB_STATS_DECLARE(name) Counter name;
  PTDB_STATS_FIELDS(PTDB_STATS_DECLARE)
#undef PTDB_STATS_DECLARE

  void CopyTo(Stats* out) const {
#define PTDB_STATS_COPY(name) out->name = name.load();
    PTDB_STATS_FIELDS(PTDB_STATS_COPY)
#undef PTDB_STATS_COPY
  }
};

#define PTDB_STATS_COUNT(name) +1
static_assert(sizeof(Stats) == sizeof(uint64_t) * (0 PTDB_STATS_FIELDS(PTDB_STATS_COUNT)),
              "StatCounters must list every field of Stats");
#undef PTDB_STATS_COUNT

}  // namespace ptdb

#endif  // PTDB_COMMON_STAT_COUNTERS_H_
