// How the parent runs a torture test: children are forked from here, killed and replaced
// from here, and only the parent lives long enough to check the database at the end.
#include "tools/torture/parent.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "ptdb/db.h"
#include "tools/progress.h"
#include "tools/torture/records.h"
#include "tools/torture/worker.h"

namespace ptdb::torture {

Parent::Parent(const Config& cfg) : cfg_(cfg), rng_(Mix(cfg.seed ^ 0x5EED)) {}
Parent::~Parent() {
  if (shared_ != nullptr) munmap(shared_, sizeof(Shared));
}

int Parent::Run() {
  printf("ptdb-torture: %u processes x %u threads, %" PRIu64 " loops, seed=%" PRIu64
         ", mode=%s%s%s%s%s\n",
         cfg_.procs, cfg_.threads, cfg_.loops, cfg_.seed,
         cfg_.mode == LockMode::kMutex ? "mutex" : "fcntl",
         !cfg_.kill                  ? ""
         : cfg_.kill_in_transactions ? ", kill in transactions and between calls"
         : cfg_.kill_between_calls   ? ", kill between calls"
                                     : ", kill",
         cfg_.no_mmap ? ", no-mmap" : "", cfg_.no_lock ? ", no-lock" : "",
         cfg_.transactions ? ", transactions"
         : cfg_.tx_mix     ? ", some transactions"
                           : "");
  fflush(stdout);
  if (!Create()) return kExitFailed;
  void* mem =
      mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    fprintf(stderr, "ptdb-torture: mmap: %s\n", strerror(errno));
    return kExitFailed;
  }
  shared_ = new (mem) Shared();
  pids_.assign(cfg_.procs, -1);
  generation_.assign(cfg_.procs, 0);
  for (unsigned i = 0; i < cfg_.procs; i++) Start(i);
  const bool children_ok = Supervise();
  const bool check_ok = FinalCheck();
  if (!children_ok || !check_ok) {
    fprintf(stderr, "ptdb-torture: FAILED; replay with -s %" PRIu64 "; database left in %s\n",
            cfg_.seed, cfg_.Path().c_str());
    return kExitFailed;
  }
  if (cfg_.kill_in_transactions) {
    printf("ptdb-torture: OK (children killed: %" PRIu64 ", %" PRIu64
           " of them signalled inside a transaction, %" PRIu64 " between calls holding a lock)\n",
           kills_, kills_in_transactions_, shared_->kills_holding_locks.load());
  } else if (cfg_.kill) {
    printf("ptdb-torture: OK (children killed: %" PRIu64 ", %" PRIu64 " of them holding a lock)\n",
           kills_, shared_->kills_holding_locks.load());
  } else {
    printf("ptdb-torture: OK\n");
  }
  if (!cfg_.keep) unlink(cfg_.Path().c_str());
  return kExitOk;
}

bool Parent::Create() {
  Options o;
  o.open_flags = O_RDWR | O_CREAT | O_TRUNC;
  o.flags = cfg_.no_mmap ? kNoMmap : kDefault;
  o.lock_mode = cfg_.mode;
  o.seed = cfg_.seed;  // the same hash layout on a replay
  std::unique_ptr<Db> db;
  const Status s = Db::Open(cfg_.Path(), o, &db);
  if (!s.ok()) {
    fprintf(stderr, "ptdb-torture: create %s: %s\n", cfg_.Path().c_str(), s.ToString().c_str());
  }
  return s.ok();
}

void Parent::Start(unsigned slot) {
  fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) _exit(ChildMain(cfg_, shared_, slot, generation_[slot]));
  if (pid < 0) {
    fprintf(stderr, "ptdb-torture: fork: %s\n", strerror(errno));
    start_failed_ = true;
    return;
  }
  pids_[slot] = pid;
  generation_[slot]++;
}

uint64_t Parent::Done() const {
  uint64_t done = 0;
  for (unsigned i = 0; i < cfg_.procs; i++) {
    done += std::min<uint64_t>(shared_->slots[i].claimed.load(), cfg_.loops);
  }
  return done;
}

bool Parent::Running() const {
  return std::any_of(pids_.begin(), pids_.end(), [](pid_t p) { return p > 0; });
}

bool Parent::Reap() {
  int st;
  pid_t pid;
  while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
    const auto it = std::find(pids_.begin(), pids_.end(), pid);
    if (it == pids_.end()) continue;
    const unsigned slot = unsigned(it - pids_.begin());
    *it = -1;
    const bool killed = shared_->slots[slot].kill_requested.exchange(false);
    if (killed && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
      Replace(slot);
      continue;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == kExitOk) continue;
    if (WIFEXITED(st)) {
      fprintf(stderr, "ptdb-torture: child %u failed (exit %d)\n", slot, WEXITSTATUS(st));
    } else {
      fprintf(stderr, "ptdb-torture: child %u died of signal %d\n", slot, WTERMSIG(st));
    }
    return false;
  }
  return true;
}

void Parent::KillOne() {
  std::vector<unsigned> live;
  for (unsigned i = 0; i < cfg_.procs; i++) {
    if (pids_[i] > 0 && !shared_->slots[i].kill_requested.load()) live.push_back(i);
  }
  if (live.empty()) return;
  const unsigned slot = live[rng_() % live.size()];
  SlotState& s = shared_->slots[slot];
  s.kill_requested = true;
  // With --kill-in-transactions a process has one thread (--tx-mix): see in_transaction.
  if (!cfg_.KillsAtSafePoints()) {
    kill(pids_[slot], SIGKILL);
  } else if (cfg_.kill_in_transactions && s.workers[0].in_transaction.load()) {
    kills_in_transactions_++;
    kill(pids_[slot], SIGKILL);
  }
}

void Parent::Replace(unsigned slot) {
  kills_++;
  SlotState& s = shared_->slots[slot];
  for (WorkerState& w : s.workers) {
    const int c = w.pending_counter.exchange(-1);
    if (c >= 0) shared_->counter_maybe[c]++;
    const bool committing = w.committing.exchange(false);
    w.in_transaction = false;  // or the next process here could be killed in a plain write
    for (unsigned i = 0; i < kCounters; i++) {
      const uint64_t n = w.tx_increments[i].exchange(0);
      if (committing) shared_->counter_maybe[i] += n;
    }
    w.op = kIdle;
  }
  if (s.claimed.load() < cfg_.loops && !shared_->stop.load()) Start(slot);
}

void Parent::ReportStall() {
  fprintf(stderr, "ptdb-torture: no progress for %u s; operations under way:\n",
          cfg_.stall_seconds);
  for (unsigned i = 0; i < cfg_.procs; i++) {
    if (pids_[i] <= 0) continue;
    fprintf(stderr, "  child %u (pid %d):", i, int(pids_[i]));
    for (unsigned t = 0; t < cfg_.threads; t++) {
      fprintf(stderr, " %s", kOpNames[shared_->slots[i].workers[t].op.load()]);
    }
    fprintf(stderr, "\n");
  }
}

bool Parent::Supervise() {
  using Clock = std::chrono::steady_clock;
  cli::Progress progress("torture", "ops", uint64_t(cfg_.procs) * cfg_.loops);
  bool ok = true;
  uint64_t last_done = 0;
  Clock::time_point last_progress = Clock::now();
  Clock::time_point next_kill = Clock::now() + KillDelay();
  while (Running()) {
    if (!Reap() || start_failed_) {
      ok = false;
      shared_->stop = true;
    }
    const uint64_t done = Done();
    progress.Update(done);
    const Clock::time_point now = Clock::now();
    if (done != last_done) {
      last_done = done;
      last_progress = now;
    } else if (now - last_progress > std::chrono::seconds(cfg_.stall_seconds)) {
      progress.Clear();
      ReportStall();
      ok = false;
      break;
    }
    if (cfg_.kill && ok && now >= next_kill) {
      KillOne();
      next_kill = now + KillDelay();
    }
    usleep(2000);
  }
  progress.Clear();
  // Only children that stopped making progress are left.
  for (pid_t& pid : pids_) {
    if (pid <= 0) continue;
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    pid = -1;
  }
  return ok;
}

std::chrono::microseconds Parent::KillDelay() {
  return std::chrono::microseconds(rng_() % (2000 * uint64_t(cfg_.kill_interval_ms) + 1));
}

bool Parent::FinalCheck() {
  Options o;
  o.open_flags = O_RDWR;
  o.log = [](LogLevel, Error, std::string_view msg) {
    fprintf(stderr, "ptdb-torture: log: %.*s\n", int(msg.size()), msg.data());
  };
  std::unique_ptr<Db> db;
  Status s = Db::Open(cfg_.Path(), o, &db);
  if (!s.ok()) {
    fprintf(stderr, "ptdb-torture: reopen: %s\n", s.ToString().c_str());
    return false;
  }
  const KeySpace keys(cfg_.keys);
  uint64_t records = 0;
  s = db->Check([&](std::string_view key, std::string_view data) {
    records++;
    const Status r = CheckRecord(keys, key, data);
    return r.ok() ? r : Status(r.code(), "record '" + std::string(key) + "': " + r.ToString());
  });
  if (!s.ok()) {
    fprintf(stderr, "ptdb-torture: check: %s\n", s.ToString().c_str());
    return false;
  }
  bool ok = true;
  for (unsigned c = 0; c < kCounters; c++) {
    std::string v;
    uint64_t n = 0;
    s = db->Fetch(keys.Counter(c), &v);
    if (s.ok() && !ParseCounter(v, &n)) s = Status(Error::kCorrupt, "not a number");
    if (!s.ok() && !s.IsNoExist()) {
      fprintf(stderr, "ptdb-torture: counter %u: %s\n", c, s.ToString().c_str());
      ok = false;
      continue;
    }
    const uint64_t low = shared_->counter_stored[c], high = low + shared_->counter_maybe[c];
    if (n < low || n > high) {
      fprintf(stderr,
              "ptdb-torture: counter %u is %" PRIu64 " after %" PRIu64 " increments (%" PRIu64
              " more uncertain): an update was lost\n",
              c, n, low, high - low);
      ok = false;
    }
  }
  printf("ptdb-torture: check clean, %" PRIu64 " records\n", records);
  return ok;
}

}  // namespace ptdb::torture
