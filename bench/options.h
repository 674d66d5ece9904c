// ptdb-bench's command line.
#ifndef PTDB_BENCH_OPTIONS_H_
#define PTDB_BENCH_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ptdb {
namespace bench {

struct BenchOptions {
  uint64_t n = 1000000;
  std::string dir;  // empty: /dev/shm, or /tmp without it
  size_t key_size = 16;
  size_t value_size = 100;
  // Store specs: a built store's name, or name@disk for its databases in disk_dir.
  std::vector<std::string> stores;  // empty: every store built in
  std::vector<std::string> phases;  // in running order; empty: every phase
  int runs = 1;
  std::string json_path;
  std::string ptdb_backend = "file";
  std::string disk_dir;       // empty: a fresh directory under /var/tmp, removed afterwards
  uint64_t durable_n = 0;     // records in tx10-durable's database; 0: n
  uint64_t txns = 1000;       // transactions in tx10-nosync
  uint64_t durable_txns = 0;  // in tx10-durable; 0: n / 1000, at least 50, at most txns
  uint64_t mix_ops = 0;       // operations per process in mix1 and mix2; 0: n
  std::string chart_dir;      // where to write the charts' data files; empty: none
  bool help = false;
};

// The suffix of a store spec that puts the store's databases in --disk-dir.
constexpr const char kOnDiskSuffix[] = "@disk";

// "ptdb@disk" -> "ptdb"; a plain name is returned as is.
std::string StoreName(const std::string& spec);
bool OnDisk(const std::string& spec);

// The --help text, with the stores this build has.
std::string Usage();

// false with *error set for anything malformed; the caller exits 2.
bool ParseOptions(int argc, char** argv, BenchOptions* options, std::string* error);

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_OPTIONS_H_
