// The run's options and fixed limits: what the command line sets once in the parent and
// every child process inherits through fork, read-only.
#ifndef PTDB_TOOLS_TORTURE_CONFIG_H_
#define PTDB_TOOLS_TORTURE_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ptdb/db.h"

namespace ptdb::torture {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

inline constexpr unsigned kMaxProcs = 64;
inline constexpr unsigned kMaxThreads = 16;
inline constexpr unsigned kCounters = 8;

struct Config {
  unsigned procs = 4;
  uint64_t loops = 5000;
  uint64_t seed = 0;
  bool kill = false;
  bool kill_between_calls = false;
  // With --tx-mix: a kill lands anywhere inside a transaction, and between calls outside.
  bool kill_in_transactions = false;
  bool transactions = false;
  bool tx_mix = false;  // some operations in transactions, the rest alone
  LockMode mode = LockMode::kMutex;
  std::string dir = ".";
  unsigned keys = 2000;
  unsigned value_size = 100;
  unsigned threads = 1;
  bool no_mmap = false;
  bool no_lock = false;  // the child opens with kNoLock (one process, one thread)
  bool keep = false;
  unsigned stall_seconds = 120;
  unsigned kill_interval_ms = 10;
  // How often each operation is picked (indexed by Op, out of the sum).
  std::vector<unsigned> weights;

  std::string Path() const { return dir + "/torture.ptdb"; }
  // A process chosen to die kills itself at its next point between two calls, unless the
  // parent may kill it at once.
  bool KillsAtSafePoints() const { return kill_between_calls || kill_in_transactions; }
};

}  // namespace ptdb::torture

#endif  // PTDB_TOOLS_TORTURE_CONFIG_H_
