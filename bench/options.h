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
  std::vector<std::string> stores;  // empty: every store built in
  int runs = 1;
  std::string json_path;
  std::string ptdb_backend = "file";
  bool help = false;
};

const char* Usage();

// false with *error set for anything malformed; the caller exits 2.
bool ParseOptions(int argc, char** argv, BenchOptions* options, std::string* error);

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_OPTIONS_H_
