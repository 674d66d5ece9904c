#include "bench/options.h"

#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "bench/all_phases.h"
#include "bench/store.h"
#include "bench/workload.h"

namespace ptdb {
namespace bench {
namespace {

// --quick must finish in under a minute with every store, on a disk whose syncs take
// milliseconds and with tdb-mutex committing a few hundred transactions per second.
constexpr uint64_t kQuickN = 100000;
constexpr uint64_t kQuickTxns = 200;
constexpr uint64_t kQuickDurableTxns = 50;
// Keys run up to 2n and the fastest store needs about a second per million records, so a
// billion is beyond any useful run.
constexpr uint64_t kMaxN = 1000000000;
constexpr uint64_t kMaxSize = 1 << 20;
constexpr uint64_t kMaxRuns = 100;
constexpr uint64_t kMaxTxns = 10000000;
// By default tx10-durable runs 1000 transactions at the n = 1M and proportionally
// fewer below, so that --quick and the smoke test do not wait minutes for a slow disk.
constexpr uint64_t kRecordsPerDurableTxn = 1000;
constexpr uint64_t kMinDurableTxns = 50;

// Digits with an optional k (10^3) or M (10^6) suffix.
bool ParseCount(const std::string& text, uint64_t* value) {
  size_t digits = 0;
  uint64_t result = 0;
  for (; digits < text.size() && text[digits] >= '0' && text[digits] <= '9'; ++digits) {
    if (result > (UINT64_MAX - 9) / 10) return false;
    result = result * 10 + static_cast<uint64_t>(text[digits] - '0');
  }
  if (digits == 0) return false;
  const std::string suffix = text.substr(digits);
  uint64_t scale = 1;
  if (suffix == "k" || suffix == "K") {
    scale = 1000;
  } else if (suffix == "m" || suffix == "M") {
    scale = 1000000;
  } else if (!suffix.empty()) {
    return false;
  }
  if (result > UINT64_MAX / scale) return false;
  *value = result * scale;
  return true;
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, ',')) parts.push_back(part);
  return parts;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string joined;
  for (const std::string& part : parts) joined += (joined.empty() ? "" : ",") + part;
  return joined;
}

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

bool CheckStores(const std::vector<std::string>& stores, std::string* error) {
  const std::vector<std::string> built = BuiltStores();
  if (stores.empty()) {
    *error = "--stores: empty list (built: " + Join(built) + ")";
    return false;
  }
  for (size_t i = 0; i < stores.size(); ++i) {
    if (!Contains(built, StoreName(stores[i]))) {
      *error = "--stores: unknown store '" + stores[i] + "' (built: " + Join(built) + ")";
      return false;
    }
    if (std::find(stores.begin(), stores.begin() + i, stores[i]) != stores.begin() + i) {
      *error = "--stores: '" + stores[i] + "' given twice";
      return false;
    }
  }
  return true;
}

// The core phases' database holds records from add on, none between delete and re-add;
// every phase but add and miss needs them, and re-add needs delete to have made room.
bool CheckPhases(const std::vector<std::string>& listed, std::vector<std::string>* phases,
                 std::string* error) {
  const std::vector<std::string>& all = AllPhaseNames();
  for (const std::string& phase : listed) {
    if (!Contains(all, phase)) {
      *error = "--phases: unknown phase '" + phase + "' (phases: " + Join(all) + ")";
      return false;
    }
  }
  phases->clear();
  for (const std::string& phase : all) {
    if (Contains(listed, phase)) phases->push_back(phase);
  }
  if (phases->empty()) {
    *error = "--phases: empty list (phases: " + Join(all) + ")";
    return false;
  }
  bool has_records = false;
  for (const std::string& phase : *phases) {
    const bool core =
        Contains(PhaseNames(), phase) || phase == "tx10-nosync" || phase == "tx1-nosync";
    if (phase == "add" || phase == "re-add") {
      if (phase == "re-add" && !Contains(*phases, "delete")) {
        *error = "--phases: re-add needs delete";
        return false;
      }
      has_records = true;
    } else if (core && phase != "miss" && !has_records) {
      *error = "--phases: " + phase +
               (Contains(*phases, "add") ? " follows delete, so it needs re-add" : " needs add");
      return false;
    } else if (phase == "miss" && !Contains(*phases, "add")) {
      *error = "--phases: miss needs add";
      return false;
    }
    if (phase == "delete") has_records = false;
  }
  return true;
}

std::string DefaultDir() { return access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp"; }

}  // namespace

std::string StoreName(const std::string& spec) {
  const size_t suffix = sizeof(kOnDiskSuffix) - 1;
  return OnDisk(spec) ? spec.substr(0, spec.size() - suffix) : spec;
}

bool OnDisk(const std::string& spec) {
  const size_t suffix = sizeof(kOnDiskSuffix) - 1;
  return spec.size() > suffix && spec.compare(spec.size() - suffix, suffix, kOnDiskSuffix) == 0;
}

std::string Usage() {
  std::string stores;
  for (const std::string& name : BuiltStores()) stores += (stores.empty() ? "" : ", ") + name;
  return "usage: ptdb-bench [--n N] [--dir DIR] [--key-size K] [--value-size V]\n"
         "                  [--stores S1,S2,...] [--runs R] [--json FILE] [--quick]\n"
         "                  [--ptdb-flags nommap|internal] [--disk-dir DIR] [--durable-n N]\n"
         "                  [--txns T] [--durable-txns D] [--mix-ops M] [--phases P1,P2,...]\n"
         "                  [--chart-data DIR] [--help]\n"
         "\n"
         "Runs the phases of tdb2's speed tool (add, find, miss, traverse, delete, re-add,\n"
         "append, churn) and find from two threads sharing one handle (find2t), then\n"
         "transactions (tx10-nosync, tx1-nosync, tx10-durable, bulk) and a one- and\n"
         "two-process fetch/store mix (mix1, mix2) on every store, each in its own child\n"
         "process and directory, and prints ops/s per phase with ratios between stores.\n"
         "\n"
         "  --n N            records (default 1000000; k and M suffixes allowed)\n"
         "  --quick          same as --n 100000 --txns 200 --durable-txns 50\n"
         "  --dir DIR        where the databases go (default /dev/shm, else /tmp); each run\n"
         "                   gets a fresh subdirectory, removed afterwards\n"
         "  --key-size K     key bytes, at least 16 (default 16)\n"
         "  --value-size V   value bytes (default 100)\n"
         "  --stores LIST    comma-separated stores to run (default: all built); NAME@disk\n"
         "                   runs NAME with all its databases in --disk-dir\n"
         "  --phases LIST    comma-separated phases to run, in their fixed order (default: all;\n"
         "                   every phase but bulk, tx10-durable and mix* needs add)\n"
         "  --runs R         runs per store, interleaved; the table shows medians and the\n"
         "                   spread: every run within +-x% of the median (default 1)\n"
         "  --json FILE      append one JSON line per store, run and phase to FILE, then one\n"
         "                   per store and phase with the median over the runs\n"
         "  --chart-data DIR write ops.dat and commit.dat (medians, min, max) for\n"
         "                   bench/charts.gp into DIR\n"
         "  --ptdb-flags F   nommap: ptdb's file backend with pread/pwrite; internal: memory\n"
         "                   only (default: file with mmap)\n"
         "  --disk-dir DIR   where tx10-durable's and @disk stores' databases go (default: a\n"
         "                   fresh directory under /var/tmp, removed afterwards)\n"
         "  --durable-n N    records in tx10-durable's database (default: --n)\n"
         "  --txns T         transactions of 10 records in tx10-nosync (default 1000);\n"
         "                   tx1-nosync runs 100 x T of one record, for at most 3 s\n"
         "  --durable-txns D in tx10-durable (default n/1000, at least 50, at most T: a\n"
         "                   durable commit costs milliseconds on a disk)\n"
         "  --mix-ops M      operations per process in mix1 and mix2 (default: --n)\n"
         "  --help           this text\n"
         "\n"
         "Stores in this build (bench/README.md describes each):\n  " +
         stores +
         "\n"
         "\n"
         "Exit status: 0 all phases verified, 1 a store failed or a check failed, 2 bad usage.\n";
}

bool ParseOptions(int argc, char** argv, BenchOptions* options, std::string* error) {
  std::string stores;
  bool stores_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      options->help = true;
      return true;
    }
    if (flag == "--quick") {
      options->n = kQuickN;
      options->txns = kQuickTxns;
      options->durable_txns = kQuickDurableTxns;
      continue;
    }
    const bool takes_value = flag == "--n" || flag == "--dir" || flag == "--key-size" ||
                             flag == "--value-size" || flag == "--stores" || flag == "--runs" ||
                             flag == "--json" || flag == "--ptdb-flags" || flag == "--disk-dir" ||
                             flag == "--durable-n" || flag == "--txns" ||
                             flag == "--durable-txns" || flag == "--mix-ops" ||
                             flag == "--phases" || flag == "--chart-data";
    if (!takes_value) {
      *error = "unknown argument '" + flag + "'";
      return false;
    }
    if (i + 1 >= argc) {
      *error = flag + " needs a value";
      return false;
    }
    const std::string value = argv[++i];
    uint64_t number = 0;
    const bool numeric = ParseCount(value, &number);
    auto bad_value = [&](const char* why) {
      *error = flag + " " + value + ": " + why;
      return false;
    };
    if (flag == "--n") {
      if (!numeric || number == 0 || number > kMaxN) return bad_value("need 1 to 1000000000");
      options->n = number;
    } else if (flag == "--key-size") {
      if (!numeric || number < kMinKeySize || number > kMaxSize) {
        return bad_value("need 16 to 1048576 (keys hold 16 hex digits)");
      }
      options->key_size = number;
    } else if (flag == "--value-size") {
      if (!numeric || number > kMaxSize) return bad_value("need 0 to 1048576");
      options->value_size = number;
    } else if (flag == "--runs") {
      if (!numeric || number == 0 || number > kMaxRuns) return bad_value("need 1 to 100");
      options->runs = static_cast<int>(number);
    } else if (flag == "--durable-n" || flag == "--mix-ops") {
      if (!numeric || number == 0 || number > kMaxN) return bad_value("need 1 to 1000000000");
      (flag == "--durable-n" ? options->durable_n : options->mix_ops) = number;
    } else if (flag == "--txns" || flag == "--durable-txns") {
      if (!numeric || number == 0 || number > kMaxTxns) return bad_value("need 1 to 10000000");
      (flag == "--txns" ? options->txns : options->durable_txns) = number;
    } else if (flag == "--disk-dir") {
      if (value.empty()) return bad_value("empty directory");
      options->disk_dir = value;
    } else if (flag == "--dir") {
      if (value.empty()) return bad_value("empty directory");
      options->dir = value;
    } else if (flag == "--json") {
      if (value.empty()) return bad_value("empty file name");
      options->json_path = value;
    } else if (flag == "--chart-data") {
      if (value.empty()) return bad_value("empty directory");
      options->chart_dir = value;
    } else if (flag == "--phases") {
      if (!CheckPhases(SplitCommas(value), &options->phases, error)) return false;
    } else if (flag == "--stores") {
      stores = value;
      stores_given = true;
    } else if (value == "nommap" || value == "internal") {  // --ptdb-flags
      options->ptdb_backend = value == "nommap" ? "file-nommap" : "internal";
    } else {
      return bad_value("need nommap or internal");
    }
  }
  if (stores_given) {
    options->stores = SplitCommas(stores);
    if (!CheckStores(options->stores, error)) return false;
  } else {
    options->stores = BuiltStores();
  }
  if (options->phases.empty()) options->phases = AllPhaseNames();
  if (options->dir.empty()) options->dir = DefaultDir();
  if (options->durable_n == 0) options->durable_n = options->n;
  if (options->mix_ops == 0) options->mix_ops = options->n;
  if (options->durable_txns == 0) {
    options->durable_txns =
        std::min(options->txns, std::max(kMinDurableTxns, options->n / kRecordsPerDurableTxn));
  }
  return true;
}

}  // namespace bench
}  // namespace ptdb
