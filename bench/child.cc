#include "bench/child.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "bench/all_phases.h"
#include "bench/numbers.h"
#include "bench/options.h"
#include "bench/progress.h"

namespace ptdb {
namespace bench {
namespace {

// One line per message: "backend <label>", "phase <name> <ops> <ns> <file bytes> <peak rss>
// <failures> <commits> <fsync> <fdatasync> <msync> <sync_file_range> <sync> <dsync writes>
// <operations timed> <p50 ns> <p99 ns> <p99.9 ns> <max ns>", "skip <name> <why>",
// "error <text>".
void SendLine(FILE* channel, const std::string& line) {
  std::string flat = line;
  for (char& c : flat) {
    if (c == '\n') c = ' ';
  }
  std::fprintf(channel, "%s\n", flat.c_str());
  std::fflush(channel);
}

void PrintProgress(const std::string& label, const PhaseResult& r) {
  if (!r.skipped.empty()) {
    std::fprintf(stderr, "%s %s  %-12s skipped: %s\n", ElapsedStamp().c_str(), label.c_str(),
                 r.phase.c_str(), r.skipped.c_str());
    return;
  }
  const std::string syncs =
      r.commits == 0 ? "" : "  syncs/commit: " + r.syncs.Describe(static_cast<double>(r.commits));
  char latency[96] = "";
  if (r.latency.count > 0) {
    std::snprintf(latency, sizeof(latency), "  p99.9 %.1f us  max %.1f us", r.latency.p999_ns / 1e3,
                  r.latency.max_ns / 1e3);
  }
  std::fprintf(stderr,
               "%s %s  %-12s %10" PRIu64
               " ops %9.3f s %12s ops/s %8.0f ns/op  file %s B  rss %s B%s%s%s\n",
               ElapsedStamp().c_str(), label.c_str(), r.phase.c_str(), r.ops, r.ns / 1e9,
               WithCommas(r.OpsPerSec()).c_str(), r.NsPerOp(), WithCommas(r.file_bytes).c_str(),
               WithCommas(r.peak_rss_bytes).c_str(), syncs.c_str(), latency,
               r.failures == 0 ? "" : ("  FAILURES " + std::to_string(r.failures)).c_str());
}

void SendPhase(FILE* channel, const PhaseResult& r) {
  if (!r.skipped.empty()) {
    SendLine(channel, "skip " + r.phase + " " + r.skipped);
    return;
  }
  char line[512];
  std::snprintf(line, sizeof(line),
                "phase %s %" PRIu64 " %" PRId64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
                " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
                " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
                r.phase.c_str(), r.ops, r.ns, r.file_bytes, r.peak_rss_bytes, r.failures, r.commits,
                r.syncs.fsync, r.syncs.fdatasync, r.syncs.msync, r.syncs.sync_file_range,
                r.syncs.sync, r.syncs.dsync_writes, r.latency.count, r.latency.p50_ns,
                r.latency.p99_ns, r.latency.p999_ns, r.latency.max_ns);
  SendLine(channel, line);
}

// Body of the child process; the result is its exit status.
int ChildMain(const std::string& name, const StoreConfig& config, const PhasePlan& plan,
              const std::string& label, FILE* channel) {
  std::unique_ptr<Store> store = MakeStore(name, config);
  if (store == nullptr) {
    SendLine(channel, "error store " + name + " is not built in");
    return 1;
  }
  SendLine(channel, "backend " + store->Backend());
  if (store->Open() != Result::kOk) {
    SendLine(channel, "error open: " + store->error());
    return 1;
  }
  std::string first_failure;
  uint64_t failures = 0;
  RunAllPhases(
      store.get(), config, plan,
      [&](const PhaseResult& r) {
        failures += r.failures;
        SendPhase(channel, r);
        PrintProgress(label, r);
      },
      [&](const std::string& text) {
        std::fprintf(stderr, "%s %s  %s\n", ElapsedStamp().c_str(), label.c_str(), text.c_str());
      },
      &first_failure);
  store->Close();
  if (!first_failure.empty()) SendLine(channel, "error " + first_failure);
  return failures == 0 ? 0 : 1;
}

void ParseLine(const std::string& line, StoreRun* run) {
  std::istringstream in(line);
  std::string tag;
  in >> tag;
  if (tag == "backend") {
    in >> run->backend;
  } else if (tag == "phase") {
    PhaseResult r;
    in >> r.phase >> r.ops >> r.ns >> r.file_bytes >> r.peak_rss_bytes >> r.failures >> r.commits >>
        r.syncs.fsync >> r.syncs.fdatasync >> r.syncs.msync >> r.syncs.sync_file_range >>
        r.syncs.sync >> r.syncs.dsync_writes >> r.latency.count >> r.latency.p50_ns >>
        r.latency.p99_ns >> r.latency.p999_ns >> r.latency.max_ns;
    if (in) run->phases.push_back(r);
  } else if (tag == "skip") {
    PhaseResult r;
    in >> r.phase;
    std::getline(in >> std::ws, r.skipped);
    if (!r.phase.empty()) run->phases.push_back(r);
  } else if (tag == "error" && run->error.empty()) {
    run->error = line.substr(tag.size() + 1);
  }
}

std::string DescribeExit(int status) {
  if (WIFSIGNALED(status)) {
    return std::string("child killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return "child exited with status " + std::to_string(WEXITSTATUS(status));
}

// Reads the child's report lines until it closes the pipe.
void ReadReports(int fd, StoreRun* run) {
  FILE* channel = fdopen(fd, "r");
  if (channel == nullptr) {
    close(fd);
    return;
  }
  char* line = nullptr;
  size_t capacity = 0;
  ssize_t length;
  while ((length = getline(&line, &capacity, channel)) > 0) {
    const bool newline = line[length - 1] == '\n';
    ParseLine(std::string(line, static_cast<size_t>(length) - newline), run);
  }
  std::free(line);
  std::fclose(channel);
}

void RunChild(const std::string& store, const StoreConfig& config, const PhasePlan& plan,
              const std::string& label, StoreRun* result) {
  int fds[2];
  if (pipe(fds) != 0) {
    result->error = std::string("pipe: ") + std::strerror(errno);
    return;
  }
  // Buffered output would otherwise be written twice, once by each process.
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    FILE* channel = fdopen(fds[1], "w");
    const int status = channel == nullptr ? 1 : ChildMain(store, config, plan, label, channel);
    if (channel != nullptr) std::fclose(channel);
    std::fflush(stderr);
    _exit(status);
  }
  close(fds[1]);
  if (pid < 0) {
    result->error = std::string("fork: ") + std::strerror(errno);
    close(fds[0]);
    return;
  }
  ReadReports(fds[0], result);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (result->error.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    result->error = DescribeExit(status);
  }
  if (result->error.empty() && result->phases.size() != result->expected_phases) {
    result->error = "child reported " + std::to_string(result->phases.size()) + " of " +
                    std::to_string(result->expected_phases) + " phases";
  }
}

}  // namespace

bool StoreRun::ok() const { return error.empty() && phases.size() == expected_phases; }

StoreRun RunStoreInChild(const std::string& spec, const StoreConfig& config, PhasePlan plan,
                         const std::string& parent_dir, int run, int runs) {
  plan.store = StoreName(spec);
  plan.on_disk = OnDisk(spec);
  StoreRun result;
  result.store = spec;
  result.dir = parent_dir;
  result.run = run;
  result.expected_phases = plan.phases.size();
  StoreConfig child_config = config;
  child_config.dir = parent_dir + "/ptdb-bench-" + spec + "-XXXXXX";
  if (mkdtemp(child_config.dir.data()) == nullptr) {
    result.error = "mkdtemp " + child_config.dir + ": " + std::strerror(errno);
    return result;
  }
  std::string label = spec + " run " + std::to_string(run + 1) + "/" + std::to_string(runs);
  // Lines up the progress of the usual store names.
  label.resize(std::max<size_t>(label.size(), 16), ' ');
  RunChild(plan.store, child_config, plan, label, &result);
  std::error_code ignored;
  std::filesystem::remove_all(child_config.dir, ignored);
  return result;
}

}  // namespace bench
}  // namespace ptdb
