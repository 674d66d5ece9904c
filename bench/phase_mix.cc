// Every handle on the mix database lives in a process forked for it from the store's child
// process, which never opens the database itself: tdb refuses a second open of a file in a
// process that has it open already, and a fork inherits that process's list of open files.
// The holder creates and loads the database, then keeps it open until the end. Each worker
// opens its own handle, says it is ready, waits for the common start signal (so that opening
// is not timed and the two workers of mix2 really overlap), runs its operations and sends
// back one WorkerReport.
#include "bench/phase_mix.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "bench/workload.h"

namespace ptdb {
namespace bench {
namespace {

// One operation in ten is a store.
constexpr uint64_t kStoreEvery = 10;
// A stored value is the workload value of (record + this), the same whichever worker
// stores it, so a fetch must see one of exactly two values.
constexpr uint64_t kStoredValueOffset = uint64_t{1} << 41;
constexpr uint64_t kWorkerSeed = 0x313c;

constexpr char kReady = 'r';
constexpr char kOpenFailed = 'e';

struct WorkerReport {
  uint64_t ops = 0;
  uint64_t failures = 0;
  int64_t start_ns = 0;  // steady_clock (CLOCK_MONOTONIC: the same clock in every process)
  int64_t end_ns = 0;
  char first_failure[200] = {};
};

bool WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool ReadAll(int fd, void* data, size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void WaitFor(pid_t pid, int* status) {
  while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
}

void CopyFailure(const std::string& text, WorkerReport* report) {
  std::snprintf(report->first_failure, sizeof(report->first_failure), "%s", text.c_str());
}

// The holder's whole life; never returns. Reports once loaded, then waits for EOF on
// release_fd.
[[noreturn]] void HolderMain(const StoreConfig& config, const PhasePlan& plan, int report_fd,
                             int release_fd) {
  WorkerReport report;
  std::string first_failure;
  FailureLog log("mix load", &first_failure);
  std::unique_ptr<Store> store = MakeStore(plan.store, config);
  if (store->Open() != Result::kOk) {
    log.Failed("open " + config.dir + ": " + store->error());
  } else {
    Workload workload(config.key_size, config.value_size);
    Preload(store.get(), &workload, 0, config.n, &log);
    report.ops = config.n;
  }
  report.failures = log.count();
  CopyFailure(first_failure, &report);
  WriteAll(report_fd, &report, sizeof(report));
  char byte;
  while (read(release_fd, &byte, 1) < 0 && errno == EINTR) {
  }
  store->Close();
  _exit(0);
}

// The worker's whole life; never returns.
[[noreturn]] void WorkerMain(const StoreConfig& config, const PhasePlan& plan, int worker,
                             int report_fd, int go_fd) {
  WorkerReport report;
  std::string first_failure;
  FailureLog log("mix worker " + std::to_string(worker), &first_failure);
  StoreConfig worker_config = config;
  worker_config.create = false;
  std::unique_ptr<Store> store = MakeStore(plan.store, worker_config);
  const bool opened = store->Open() == Result::kOk;
  char signal = opened ? kReady : kOpenFailed;
  char go = 0;
  if (!opened) {
    log.Failed("open: " + store->error());
  } else if (WriteAll(report_fd, &signal, 1) && ReadAll(go_fd, &go, 1)) {
    Workload workload(config.key_size, config.value_size);
    std::string expected_stored;
    uint64_t state = kWorkerSeed + static_cast<uint64_t>(worker) * plan.mix_ops;
    report.start_ns = NowNs();
    for (uint64_t op = 0; op < plan.mix_ops; ++op) {
      const uint64_t draw = Mix64(state++);
      const uint64_t i = draw % config.n;
      if ((draw >> 32) % kStoreEvery == 0) {
        log.Expect(*store, store->Replace(workload.Key(i), workload.Value(i + kStoredValueOffset)),
                   Result::kOk, i);
        continue;
      }
      std::string_view value;
      const Result got = store->Fetch(workload.Key(i), &value);
      if (got == Result::kOk && value != workload.Value(i)) {
        log.ExpectValue(*store, got, value, workload.Value(i + kStoredValueOffset), i);
      } else {
        log.Expect(*store, got, Result::kOk, i);
      }
    }
    report.end_ns = NowNs();
    report.ops = plan.mix_ops;
    store->Close();
  } else {
    log.Failed("lost the parent");
  }
  report.failures = log.count();
  CopyFailure(first_failure, &report);
  if (!opened) WriteAll(report_fd, &signal, 1);
  WriteAll(report_fd, &report, sizeof(report));
  _exit(report.failures == 0 ? 0 : 1);
}

// Runs `workers` workers at once and sums what they did.
PhaseResult RunWorkers(const char* name, int workers, const StoreConfig& config,
                       const PhasePlan& plan, std::string* first_failure) {
  FailureLog log(name, first_failure);
  PhaseResult result;
  result.phase = name;
  int go[2];
  if (pipe(go) != 0) {
    log.Failed(std::string("pipe: ") + std::strerror(errno));
    result.failures = log.count();
    return result;
  }
  std::vector<pid_t> pids;
  std::vector<int> report_fds;
  std::fflush(nullptr);
  for (int w = 0; w < workers; ++w) {
    int report[2];
    if (pipe(report) != 0) {
      log.Failed(std::string("pipe: ") + std::strerror(errno));
      break;
    }
    const pid_t pid = fork();
    if (pid == 0) {
      close(report[0]);
      close(go[1]);
      WorkerMain(config, plan, w, report[1], go[0]);
    }
    close(report[1]);
    if (pid < 0) {
      log.Failed(std::string("fork: ") + std::strerror(errno));
      close(report[0]);
      break;
    }
    pids.push_back(pid);
    report_fds.push_back(report[0]);
  }
  close(go[0]);
  // Start only when every worker has its handle open; one that failed to open reports at once.
  std::vector<bool> ready(report_fds.size(), false);
  for (size_t w = 0; w < report_fds.size(); ++w) {
    char signal = 0;
    ready[w] = ReadAll(report_fds[w], &signal, 1) && signal == kReady;
  }
  const std::string go_bytes(report_fds.size(), 'g');
  WriteAll(go[1], go_bytes.data(), go_bytes.size());
  close(go[1]);
  int64_t first_start = INT64_MAX, last_end = 0;
  for (size_t w = 0; w < report_fds.size(); ++w) {
    WorkerReport report;
    if (!ReadAll(report_fds[w], &report, sizeof(report))) {
      log.Failed("worker " + std::to_string(w) + " sent no report");
    } else {
      for (uint64_t f = 0; f < report.failures; ++f) {
        log.Failed(std::string("worker ") + std::to_string(w) + ": " + report.first_failure);
      }
      if (ready[w] && report.ops > 0) {
        result.ops += report.ops;
        first_start = std::min(first_start, report.start_ns);
        last_end = std::max(last_end, report.end_ns);
      }
    }
    close(report_fds[w]);
  }
  for (size_t w = 0; w < pids.size(); ++w) {
    int status = 0;
    WaitFor(pids[w], &status);
    if (WIFSIGNALED(status)) {
      log.Failed("worker " + std::to_string(w) + " killed by signal " +
                 std::to_string(WTERMSIG(status)));
    }
  }
  result.ns = last_end > first_start ? last_end - first_start : 0;
  result.failures = log.count();
  return result;
}

}  // namespace

void RunMixPhases(const StoreConfig& config, const StoreTraits& traits, const PhasePlan& plan,
                  const PhaseFn& on_phase, std::string* first_failure) {
  if (!traits.reopen) {
    on_phase(SkippedPhase("mix1", "unsupported (one handle per database)"));
    on_phase(SkippedPhase("mix2", "unsupported (one handle per database)"));
    return;
  }
  // A worker that dies must cost a failure, not this process (writing to its pipe).
  signal(SIGPIPE, SIG_IGN);
  FailureLog log("mix1", first_failure);
  std::string dir, error;
  StoreConfig mix_config = config;
  mix_config.create = true;
  int report[2] = {-1, -1}, release[2] = {-1, -1};
  pid_t holder = -1;
  WorkerReport loaded;
  if (!MakeFreshDir(config.dir, "mix-", &dir, &error)) {
    log.Failed(error);
  } else if (pipe(report) != 0 || pipe(release) != 0) {
    log.Failed(std::string("pipe: ") + std::strerror(errno));
  } else {
    mix_config.dir = dir;
    std::fflush(nullptr);
    holder = fork();
    if (holder == 0) {
      close(report[0]);
      close(release[1]);
      HolderMain(mix_config, plan, report[1], release[0]);
    }
    close(report[1]);
    close(release[0]);
    report[1] = release[0] = -1;
    if (holder < 0) {
      log.Failed(std::string("fork: ") + std::strerror(errno));
    } else if (!ReadAll(report[0], &loaded, sizeof(loaded))) {
      log.Failed("the process loading the database died");
    } else if (loaded.failures != 0) {
      log.Failed(loaded.first_failure);
    }
  }
  if (log.count() == 0) {
    // The workers open what the holder created.
    mix_config.create = false;
    if (plan.Runs("mix1")) on_phase(RunWorkers("mix1", 1, mix_config, plan, first_failure));
    if (!traits.multi_process) {
      on_phase(SkippedPhase("mix2", "unsafe: the store takes no locks"));
    } else if (plan.Runs("mix2")) {
      on_phase(RunWorkers("mix2", 2, mix_config, plan, first_failure));
    }
  } else {
    // The failure belongs to the first mix phase selected.
    PhaseResult failed;
    failed.phase = plan.Runs("mix1") ? "mix1" : "mix2";
    failed.failures = log.count();
    on_phase(failed);
    if (plan.Runs("mix1")) on_phase(SkippedPhase("mix2", "mix1 could not start"));
  }
  for (int fd : {report[0], report[1], release[0], release[1]}) {
    if (fd >= 0) close(fd);
  }
  if (holder > 0) {
    int status = 0;
    WaitFor(holder, &status);
  }
  if (!dir.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
}

}  // namespace bench
}  // namespace ptdb
