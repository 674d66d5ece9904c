// ptdb-torture: many processes (and threads) hammer one database with random operations,
// then the parent runs Check(). ptdb's version of TDB2's tdb2torture
// (tdb2-reference.md §4), with stronger oracles:
//   - every value is a sequence of self-describing chunks tagged with its key, so a
//     fetch, traverse or check that sees another key's bytes, or torn bytes, fails;
//   - under a chain lock, a read-modify-write must read back exactly what it stored;
//   - a few counter keys are only ever incremented under their chain lock (or the
//     allrecord lock); the parent knows how many increments were stored, so a lost
//     update (two processes in the same group at once) shows at the end;
//   - writes under a read lock (ChainLockRead, LockAllRead) must fail.
// With -k the parent SIGKILLs random children at random moments and starts a new one
// in each one's place, which carries on with the loops the dead one had left. With
// --kill-between-calls a chosen child kills itself at its next point between two API
// calls instead, often while holding a chain or allrecord lock: the others must not be
// wedged, and the database stays whole even without crash-safe writes. With --tx-mix and
// --kill-in-transactions the parent kills at once a child that is inside a transaction,
// and otherwise lets it die at its next point between calls: commits land anywhere among
// the plain writes, and every kill inside a transaction may tear it.
// With -t every operation runs inside a transaction of random size, committed or now
// and then cancelled, so -k -t may kill anywhere (tdb2torture -k -t): the file must
// recover to a committed state, and the counters must hold exactly the committed
// increments.
//
// This file is the command line: it turns the options into a Config and hands the run
// to the Parent (parent.h), which forks the children (worker.h).
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>
#include <vector>

#include "ptdb/db.h"
#include "tools/args.h"
#include "tools/torture/config.h"
#include "tools/torture/parent.h"
#include "tools/torture/shared_state.h"

namespace ptdb::torture {
namespace {

// The default mix: how often each operation is picked (out of the sum).
const unsigned kOpWeights[kNumOps] = {0,  150, 50, 50, 120, 100, 150, 50,
                                      50, 80,  60, 40, 2,   20,  10,  10};

// ---------------------------------------------------------------------------------------
// Command line.

const char kUsage[] =
    "Usage: ptdb-torture [-n PROCS] [-l LOOPS] [-s SEED] [-k] [-t] [-m mutex|fcntl] [-d DIR]\n"
    "                    [--threads N] [--keys N] [--value-size N] [--no-mmap] [--no-lock]\n"
    "                    [--keep] [--kill-between-calls] [--kill-in-transactions]\n"
    "                    [--kill-interval MS] [--tx-mix] [--ops LIST]\n"
    "                    [--stall-timeout SECONDS]\n"
    "\n"
    "PROCS processes (default 4) each do LOOPS random operations (default 5000) on one\n"
    "database, DIR/torture.ptdb (DIR defaults to the current directory): store, insert,\n"
    "modify, append, delete, fetch, parse_record, exists, chain-locked read-modify-write,\n"
    "chainlock_read, traverses that delete or add records, key walks, lockall and\n"
    "lockall_read. Then the database is checked. The seed is printed; -s SEED replays a\n"
    "run (the kill moments of -k are not replayed). The environment variable\n"
    "PTDB_TEST_SEED is the default seed.\n"
    "\n"
    "  -n PROCS             processes (1..64)\n"
    "  -l LOOPS             operations per process\n"
    "  -s SEED              random seed (also the database's hash seed)\n"
    "  -k                   kill random processes with SIGKILL and start new ones\n"
    "  -t                   run every operation inside a transaction of 1 to 20\n"
    "                       operations, committed (or one in 8 cancelled); with -k the\n"
    "                       kills may land anywhere, commits included\n"
    "  --tx-mix             now and then run a few operations in a transaction, the rest\n"
    "                       alone: commits followed by plain writes (with -k, needs\n"
    "                       --kill-between-calls or --kill-in-transactions: plain\n"
    "                       writes are not crash-safe)\n"
    "  -m MODE              lock mode of the new database: mutex (default) or fcntl\n"
    "  -d DIR               where to create torture.ptdb\n"
    "  --threads N          threads per process sharing its handle (1..16, default 1)\n"
    "  --keys N             distinct keys (default 2000; fewer means more contention)\n"
    "  --value-size N       largest ordinary value chunk in bytes (default 100)\n"
    "  --no-mmap            open with kNoMmap (pread/pwrite)\n"
    "  --no-lock            the process opens with kNoLock (it promises to be the only\n"
    "                       writer): needs -n 1 and --threads 1; a killed process is\n"
    "                       replaced only once it is gone, and the check opens with locks\n"
    "  --keep               keep the database after a clean run\n"
    "  --kill-between-calls with -k, a process dies only between two API calls (perhaps\n"
    "                       holding a chain or allrecord lock), never inside one: the\n"
    "                       database stays whole without transactions\n"
    "  --kill-in-transactions with -k and --tx-mix, a process dies anywhere inside a\n"
    "                       transaction (its start, operations, commit or cancel), and\n"
    "                       only between calls outside one\n"
    "  --kill-interval MS   with -k, the mean time between kills (default 10)\n"
    "  --ops LIST           only these operations, comma-separated, to narrow down a\n"
    "                       failure: store insert modify append delete fetch parse\n"
    "                       exists chainlock-rmw counter-rmw chainlock-read traverse\n"
    "                       key-walk lockall lockall-read\n"
    "  --stall-timeout S    fail when no operation completes for S seconds (default 120)\n"
    "\n"
    "Progress is drawn on stderr when it is a terminal. Exit status: 0 when every process\n"
    "succeeded and the database checks clean, 1 on any failure, 2 on a usage error.\n";

bool ParseNumber(const std::string& text, uint64_t min, uint64_t max, uint64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + uint64_t(c - '0');
  }
  if (v < min || v > max) return false;
  *out = v;
  return true;
}

int Usage(const std::string& error) {
  fprintf(stderr, "ptdb-torture: %s\n%s", error.c_str(), kUsage);
  return kExitUsage;
}

int Main(int argc, char** argv) {
  const std::vector<cli::OptionSpec> specs = {
      {"-n", true},
      {"-l", true},
      {"-s", true},
      {"-k", false},
      {"-t", false},
      {"-m", true},
      {"-d", true},
      {"--threads", true},
      {"--keys", true},
      {"--value-size", true},
      {"--no-mmap", false},
      {"--no-lock", false},
      {"--keep", false},
      {"--kill-between-calls", false},
      {"--kill-in-transactions", false},
      {"--tx-mix", false},
      {"--kill-interval", true},
      {"--ops", true},
      {"--stall-timeout", true},
  };
  cli::Args args;
  std::string error;
  if (!args.Parse(std::vector<std::string>(argv + 1, argv + argc), specs, &error)) {
    return Usage(error);
  }
  if (args.Has("--help")) {
    fputs(kUsage, stdout);
    return kExitOk;
  }
  if (!args.positional().empty()) return Usage("unexpected argument '" + args[0] + "'");

  Config cfg;
  const char* env_seed = getenv("PTDB_TEST_SEED");
  cfg.seed = uint64_t(time(nullptr)) * 1000003u ^ uint64_t(getpid());
  cfg.seed &= 0x7FFFFFFF;  // short enough to type back
  struct Number {
    const char* option;
    uint64_t min, max;
    uint64_t* out;
  };
  uint64_t procs = cfg.procs, threads = cfg.threads, keys = cfg.keys, value_size = cfg.value_size,
           stall = cfg.stall_seconds, kill_interval = cfg.kill_interval_ms;
  if (env_seed != nullptr && !ParseNumber(env_seed, 0, UINT64_MAX, &cfg.seed)) {
    return Usage("PTDB_TEST_SEED is not a number");
  }
  const Number numbers[] = {
      {"-n", 1, kMaxProcs, &procs},
      {"-l", 1, uint64_t(1) << 40, &cfg.loops},
      {"-s", 0, UINT64_MAX, &cfg.seed},
      {"--threads", 1, kMaxThreads, &threads},
      {"--keys", 1, 1u << 24, &keys},
      {"--value-size", 0, 1u << 20, &value_size},
      {"--kill-interval", 1, 60000, &kill_interval},
      {"--stall-timeout", 1, 86400, &stall},
  };
  for (const Number& n : numbers) {
    const std::string* v = args.Value(n.option);
    if (v != nullptr && !ParseNumber(*v, n.min, n.max, n.out)) {
      return Usage(std::string("bad value for ") + n.option + ": '" + *v + "'");
    }
  }
  cfg.procs = unsigned(procs);
  cfg.threads = unsigned(threads);
  cfg.keys = unsigned(keys);
  cfg.value_size = unsigned(value_size);
  cfg.stall_seconds = unsigned(stall);
  cfg.kill_interval_ms = unsigned(kill_interval);
  cfg.kill = args.Has("-k");
  cfg.kill_between_calls = args.Has("--kill-between-calls");
  cfg.kill_in_transactions = args.Has("--kill-in-transactions");
  cfg.transactions = args.Has("-t");
  cfg.tx_mix = args.Has("--tx-mix");
  // A transaction belongs to its handle, which the threads of a process share.
  if (cfg.transactions && cfg.threads > 1) return Usage("-t needs --threads 1");
  if (cfg.tx_mix && cfg.threads > 1) return Usage("--tx-mix needs --threads 1");
  if (cfg.tx_mix && cfg.transactions) return Usage("--tx-mix and -t exclude each other");
  if (cfg.tx_mix && cfg.kill && !cfg.KillsAtSafePoints()) {
    return Usage(
        "--tx-mix with -k needs --kill-between-calls or --kill-in-transactions (plain writes are "
        "not crash-safe)");
  }
  if (cfg.kill_between_calls && !cfg.kill) return Usage("--kill-between-calls needs -k");
  if (cfg.kill_in_transactions && !(cfg.kill && cfg.tx_mix)) {
    return Usage("--kill-in-transactions needs -k and --tx-mix");
  }
  if (cfg.kill_in_transactions && cfg.kill_between_calls) {
    return Usage("--kill-in-transactions already kills between calls outside transactions");
  }
  // Another thread of the process could be inside a call when one thread kills it.
  if (cfg.kill_between_calls && cfg.threads > 1) {
    return Usage("--kill-between-calls needs --threads 1");
  }
  cfg.no_mmap = args.Has("--no-mmap");
  cfg.no_lock = args.Has("--no-lock");
  if (cfg.no_lock && (cfg.procs != 1 || cfg.threads != 1)) {
    return Usage("--no-lock needs -n 1 and --threads 1 (kNoLock: one writer)");
  }
  cfg.keep = args.Has("--keep");
  if (const std::string* d = args.Value("-d")) cfg.dir = *d;
  cfg.weights.assign(std::begin(kOpWeights), std::end(kOpWeights));
  if (const std::string* ops = args.Value("--ops")) {
    std::fill(cfg.weights.begin(), cfg.weights.end(), 0);
    for (size_t at = 0; at <= ops->size();) {
      size_t comma = ops->find(',', at);
      if (comma == std::string::npos) comma = ops->size();
      const std::string name = ops->substr(at, comma - at);
      const auto* it = std::find_if(std::begin(kOpNames) + 1, std::end(kOpNames),
                                    [&](const char* n) { return name == n; });
      if (it == std::end(kOpNames)) return Usage("--ops: unknown operation '" + name + "'");
      const size_t op = size_t(it - std::begin(kOpNames));
      cfg.weights[op] = kOpWeights[op];
      at = comma + 1;
    }
  }
  if (const std::string* m = args.Value("-m")) {
    if (*m == "mutex") {
      cfg.mode = LockMode::kMutex;
    } else if (*m == "fcntl") {
      cfg.mode = LockMode::kFcntl;
    } else {
      return Usage("-m takes mutex or fcntl, not '" + *m + "'");
    }
  }
  return Parent(cfg).Run();
}

}  // namespace
}  // namespace ptdb::torture

int main(int argc, char** argv) { return ptdb::torture::Main(argc, argv); }
