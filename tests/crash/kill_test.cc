// kill -9 during transactions on a file database. Child processes run transactions in a
// loop; transaction n stores nine records and deletes one, all derived from n, and sets
// "txn" to n, so any state names the model it must equal. A child reports n over a pipe
// right after TransactionCommit returns. The parent SIGKILLs children at random moments,
// often in the middle of a commit, then requires of the file: Check() passes, every
// reported transaction is there, the one in flight is there whole or not at all, and
// nothing else changed. Reproduce a failure with PTDB_TEST_SEED=<seed printed>.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "file/commit_io.h"
#include "file/file_transaction.h"
#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

constexpr int kKeys = 200;
// Children that hang (a lock never released, a wait that never ends) die of this.
constexpr unsigned kChildAlarmSeconds = 30;

uint64_t TestSeed() {
  if (const char* env = std::getenv("PTDB_TEST_SEED")) return std::strtoull(env, nullptr, 0);
  return uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()) & 0xFFFFFFFF;
}

// ---------------------------------------------------------------------------------------
// The model: what transaction n does.

std::string KeyOf(uint64_t n, int j) {
  return "k" + std::to_string((n * 13 + uint64_t(j) * 41) % kKeys);
}

std::string ValueOf(uint64_t n, int j) {
  // Lengths vary with n, so records grow, shrink and move.
  std::string v = "t" + std::to_string(n) + "." + std::to_string(j) + ":";
  v.append((n * 7 + uint64_t(j) * 31) % 300, char('a' + (n + uint64_t(j)) % 26));
  return v;
}

std::string DeletedKeyOf(uint64_t n) { return "k" + std::to_string((n * 29 + 7) % kKeys); }

// Transaction n's writes, in order, applied by fn(key, value) (value null: delete).
template <class Fn>
void ForEachWrite(uint64_t n, Fn&& fn) {
  for (int j = 0; j < 9; j++) {
    const std::string k = KeyOf(n, j), v = ValueOf(n, j);
    fn(k, &v);
  }
  fn(DeletedKeyOf(n), nullptr);
  const std::string t = std::to_string(n);
  fn(std::string("txn"), &t);
}

// The state after transactions 1..n, computed incrementally (n never goes back).
class Model {
 public:
  // False if m is before a state already reached (a committed transaction was lost).
  bool Advance(uint64_t m) {
    if (m < n_) return false;
    for (; n_ < m;) {
      ForEachWrite(++n_, [&](const std::string& k, const std::string* v) {
        if (v != nullptr) {
          dump_[k] = *v;
        } else {
          dump_.erase(k);
        }
      });
    }
    return true;
  }
  const Dump& dump() const { return dump_; }
  uint64_t n() const { return n_; }

 private:
  uint64_t n_ = 0;
  Dump dump_;
};

// Splits a state into its transaction number and the rest ("plain" is kept apart: it is
// written outside transactions).
bool TxnOf(const Dump& d, uint64_t* n) {
  auto it = d.find("txn");
  if (it == d.end()) {
    *n = 0;
    return true;
  }
  char* end;
  *n = std::strtoull(it->second.c_str(), &end, 10);
  return *end == '\0' && !it->second.empty();
}

// Every record, read inside Check(): one consistent pass under the allrecord lock.
Status ReadAll(Db* db, Dump* out) {
  out->clear();
  return db->Check([&](std::string_view k, std::string_view v) {
    (*out)[std::string(k)] = std::string(v);
    return Status::OK();
  });
}

// Empty if `d` is exactly the model at its own "txn" (plus a "plain" record, whose value
// must be one of `plain_ok`); else what is wrong. Advances the model.
std::string Mismatch(const Dump& d, Model* model, const std::vector<uint64_t>& plain_ok = {}) {
  uint64_t n;
  if (!TxnOf(d, &n)) return "txn record is not a number";
  if (!model->Advance(n)) {
    return "went back to transaction " + std::to_string(n) + " after seeing " +
           std::to_string(model->n());
  }
  Dump rest = d;
  auto plain = rest.find("plain");
  if (plain != rest.end()) {
    const bool ok = std::any_of(plain_ok.begin(), plain_ok.end(), [&](uint64_t p) {
      return plain->second == "p" + std::to_string(p);
    });
    if (!ok)
      return "plain record holds '" + plain->second + "' at transaction " + std::to_string(n);
    rest.erase(plain);
  }
  if (rest == model->dump()) return "";
  size_t differ = 0;
  std::string first;
  for (const auto& [k, v] : model->dump()) {
    auto it = rest.find(k);
    if (it == rest.end() || it->second != v) {
      if (differ++ == 0) first = k;
    }
  }
  for (const auto& [k, v] : rest) {
    if (model->dump().count(k) == 0 && differ++ == 0) first = k;
  }
  return "at transaction " + std::to_string(n) + ", " + std::to_string(differ) +
         " records differ from the model (first: '" + first + "')";
}

// ---------------------------------------------------------------------------------------
// Shared between the parent and its children (anonymous MAP_SHARED memory).

enum Phase : int { kIdle, kCommitting, kPlain, kParked };

struct Slot {
  std::atomic<int> phase{kIdle};
  // The parent is about to kill this child: it must not start a plain write (those are
  // not crash-safe, so a kill must not land inside one).
  std::atomic<bool> kill_pending{false};
  std::atomic<uint64_t> commits{0};
};

constexpr int kMaxSlots = 8;

struct Shared {
  std::atomic<bool> stop{false};
  Slot slots[kMaxSlots];
};

[[noreturn]] void ChildFail(const std::string& who, const std::string& what) {
  fprintf(stderr, "kill_test %s (pid %d): %s\n", who.c_str(), int(getpid()), what.c_str());
  fflush(stderr);
  _exit(1);
}

struct ChildConfig {
  std::string path;
  unsigned flags = 0;
  int report_fd = -1;   // the committer writes each committed n here
  bool plain = false;   // after each commit, a plain store of "plain" = "p<n>"
  bool verify = false;  // read the whole state at every transaction start
  // A pause after each commit, so others get the transaction lock (fcntl locks are not
  // fair: a committer that takes it again at once can starve the rest).
  unsigned pause_us = 0;
};

Status OpenRw(const std::string& path, unsigned flags, std::unique_ptr<Db>* db) {
  Options o;
  o.open_flags = O_RDWR;
  o.flags = flags;
  return Db::Open(path, o, db);
}

// A committer: transactions forever (until stopped or killed).
[[noreturn]] void CommitterMain(const ChildConfig& cfg, Shared* shared, Slot* slot) {
  alarm(kChildAlarmSeconds);
  const std::string who = "committer";
  std::unique_ptr<Db> db;
  Status s = OpenRw(cfg.path, cfg.flags, &db);
  if (!s.ok()) ChildFail(who, "open: " + s.ToString());
  Model model;
  while (!shared->stop.load()) {
    s = db->TransactionStart();
    if (!s.ok()) ChildFail(who, "start: " + s.ToString());
    std::string v;
    uint64_t n = 0;
    s = db->Fetch("txn", &v);
    if (s.ok()) {
      n = std::strtoull(v.c_str(), nullptr, 10);
    } else if (!s.IsNoExist()) {
      ChildFail(who, "fetch txn: " + s.ToString());
    }
    if (cfg.verify) {
      // A dead committer before us must have been recovered: the state is whole.
      Dump d;
      s = ReadAll(db.get(), &d);
      if (!s.ok()) ChildFail(who, "check inside a transaction: " + s.ToString());
      const std::string bad = Mismatch(d, &model, {n, n > 0 ? n - 1 : 0});
      if (!bad.empty()) ChildFail(who, "state at transaction start: " + bad);
    }
    ForEachWrite(n + 1, [&](const std::string& k, const std::string* val) {
      const Status w = val != nullptr ? db->Store(k, *val) : db->Delete(k);
      if (!w.ok() && !w.IsNoExist()) ChildFail(who, "write " + k + ": " + w.ToString());
    });
    slot->phase = kCommitting;
    s = db->TransactionCommit();
    slot->phase = kIdle;
    if (!s.ok()) ChildFail(who, "commit " + std::to_string(n + 1) + ": " + s.ToString());
    const uint64_t done = n + 1;
    if (write(cfg.report_fd, &done, sizeof(done)) != ssize_t(sizeof(done))) {
      ChildFail(who, "report");
    }
    slot->commits++;
    if (cfg.pause_us > 0) usleep(cfg.pause_us);
    if (cfg.plain) {
      slot->phase = kPlain;
      if (slot->kill_pending.load()) {
        slot->phase = kParked;
        pause();
      }
      s = db->Store("plain", "p" + std::to_string(done));
      slot->phase = kIdle;
      if (!s.ok()) ChildFail(who, "plain store: " + s.ToString());
    }
  }
  db.reset();
  _exit(0);
}

// A reader: whole consistent states, forever; each must be a model state.
[[noreturn]] void ReaderMain(const ChildConfig& cfg, Shared* shared) {
  alarm(kChildAlarmSeconds);
  const std::string who = "reader";
  std::unique_ptr<Db> db;
  Status s = OpenRw(cfg.path, cfg.flags, &db);
  if (!s.ok()) ChildFail(who, "open: " + s.ToString());
  Model model;
  for (uint64_t round = 0; !shared->stop.load(); round++) {
    Dump d;
    if (round % 2 == 0) {
      s = ReadAll(db.get(), &d);
    } else {
      // Under LockAllRead, key by key.
      s = db->LockAllRead();
      for (int k = 0; s.ok() && k <= kKeys; k++) {
        const std::string key = k < kKeys ? "k" + std::to_string(k) : "txn";
        std::string v;
        const Status f = db->Fetch(key, &v);
        if (f.ok()) {
          d[key] = v;
        } else if (!f.IsNoExist()) {
          s = f;
        }
      }
      const Status u = db->UnlockAllRead();
      if (s.ok()) s = u;
    }
    if (!s.ok()) ChildFail(who, "read: " + s.ToString());
    d.erase("plain");
    const std::string bad = Mismatch(d, &model);
    if (!bad.empty()) ChildFail(who, "read a state that is no commit's: " + bad);
  }
  _exit(0);
}

// Holds the file open and does nothing until stopped; then closes it (maybe last).
[[noreturn]] void IdleMain(const ChildConfig& cfg, Shared* shared) {
  alarm(kChildAlarmSeconds);
  std::unique_ptr<Db> db;
  Status s = OpenRw(cfg.path, cfg.flags, &db);
  if (!s.ok()) ChildFail("idle holder", "open: " + s.ToString());
  while (!shared->stop.load()) usleep(1000);
  db.reset();
  _exit(0);
}

// ---------------------------------------------------------------------------------------
// The parent.

struct Param {
  LockMode mode;
  bool mmap;
};

std::string ParamName(const ::testing::TestParamInfo<Param>& info) {
  return std::string(info.param.mode == LockMode::kMutex ? "Mutex" : "Fcntl") +
         (info.param.mmap ? "Mmap" : "NoMmap");
}

void PrintTo(const Param& p, std::ostream* os) {
  *os << ParamName(::testing::TestParamInfo<Param>(p, 0));
}

class KillTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    void* mem =
        mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(mem, MAP_FAILED);
    shared_ = new (mem) Shared();
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
    report_rd_ = fds[0];
    report_wr_ = fds[1];
    ASSERT_EQ(fcntl(report_rd_, F_SETFL, O_NONBLOCK), 0);
    seed_ = TestSeed();
    rng_.seed(seed_ ^ uint64_t(GetParam().mode) * 31 ^ GetParam().mmap);
    RecordProperty("seed", std::to_string(seed_));
    Options o;
    o.open_flags = O_RDWR | O_CREAT | O_TRUNC;
    o.lock_mode = GetParam().mode;
    o.flags = flags();
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(Db::Open(Path(), o, &db));
  }

  void TearDown() override {
    shared_->stop = true;
    for (pid_t pid : live_) {
      kill(pid, SIGKILL);
      int st;
      waitpid(pid, &st, 0);
    }
    close(report_rd_);
    close(report_wr_);
    munmap(shared_, sizeof(Shared));
  }

  unsigned flags() const { return GetParam().mmap ? 0u : unsigned(kNoMmap); }
  std::string Path() const { return dir_.File("db.ptdb"); }
  std::string Seed() const { return "PTDB_TEST_SEED=" + std::to_string(seed_); }

  ChildConfig Config(bool plain, bool verify) const {
    ChildConfig c;
    c.path = Path();
    c.flags = flags();
    c.report_fd = report_wr_;
    c.plain = plain;
    c.verify = verify;
    return c;
  }

  // Forks a child running fn; its slot's state is reset first.
  template <class Fn>
  pid_t Spawn(int slot, Fn&& fn) {
    Slot& s = shared_->slots[slot];
    s.phase = kIdle;
    s.kill_pending = false;
    fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      fn();
      _exit(1);
    }
    EXPECT_GT(pid, 0) << "fork";
    if (pid > 0) live_.push_back(pid);
    return pid;
  }

  // Reads every report so far; returns the largest.
  uint64_t DrainReports() {
    uint64_t buf[512];
    for (;;) {
      const ssize_t n = read(report_rd_, buf, sizeof(buf));
      if (n <= 0) break;
      for (ssize_t i = 0; i < n / ssize_t(sizeof(uint64_t)); i++) {
        max_reported_ = std::max(max_reported_, buf[i]);
      }
    }
    return max_reported_;
  }

  // Kills a child: now, or (mid_commit) a random few microseconds after it next enters
  // a commit. Never inside a plain write. Returns whether it was inside a commit.
  bool KillChild(pid_t pid, int slot, bool mid_commit) {
    Slot& s = shared_->slots[slot];
    if (mid_commit) {
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (s.phase.load() != kCommitting && std::chrono::steady_clock::now() < give_up) {
        sched_yield();
      }
      // Half at once (the start of the commit), half somewhere later in it or after.
      const unsigned us = rng_() % 2 == 0 ? 0 : unsigned(rng_() % 800);
      if (us > 0) std::this_thread::sleep_for(std::chrono::microseconds(us));
    }
    s.kill_pending = true;
    while (s.phase.load() == kPlain) sched_yield();
    const bool committing = s.phase.load() == kCommitting;
    kill(pid, SIGKILL);
    int st = 0;
    EXPECT_EQ(waitpid(pid, &st, 0), pid);
    live_.erase(std::remove(live_.begin(), live_.end(), pid), live_.end());
    EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
        << "the child ended by itself before the kill (status " << st << "); " << Seed();
    kills_++;
    return committing;
  }

  // Stops the children that run until told, and requires that they all ended well.
  void StopAll() {
    shared_->stop = true;
    for (pid_t pid : live_) {
      int st = 0;
      EXPECT_EQ(waitpid(pid, &st, 0), pid);
      EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
          << "a child failed (status " << st << "; see its message above); " << Seed();
    }
    live_.clear();
    shared_->stop = false;
  }

  // Opens the file alone (so recovery runs), checks it and requires a model state that
  // keeps every reported transaction and adds at most `in_flight` more.
  void Verify(uint64_t in_flight, bool plain, const std::string& when) {
    const uint64_t reported = DrainReports();
    std::unique_ptr<Db> db;
    Status s = OpenRw(Path(), flags(), &db);
    ASSERT_TRUE(s.ok()) << when << ": reopen: " << s.ToString() << "; " << Seed();
    Dump d;
    s = ReadAll(db.get(), &d);
    ASSERT_TRUE(s.ok()) << when << ": check: " << s.ToString() << "; " << Seed();
    uint64_t n;
    ASSERT_TRUE(TxnOf(d, &n)) << when;
    ASSERT_GE(n, reported) << when << ": a reported commit is missing; " << Seed();
    ASSERT_LE(n, reported + in_flight) << when << ": more commits than were made; " << Seed();
    // The plain record follows each commit of a committer, which may have been killed
    // between a commit and its plain write: then it still holds what the last check saw.
    const std::vector<uint64_t> plain_ok =
        plain ? std::vector<uint64_t>{n, n > 0 ? n - 1 : 0, last_plain_} : std::vector<uint64_t>{};
    const std::string bad = Mismatch(d, &model_, plain_ok);
    ASSERT_EQ(bad, "") << when << "; " << Seed();
    auto it = d.find("plain");
    if (it != d.end()) last_plain_ = std::strtoull(it->second.c_str() + 1, nullptr, 10);
    // The next process starts from here; no more reports are pending.
    max_reported_ = n;
  }

  test::TempDir dir_;
  Shared* shared_ = nullptr;
  int report_rd_ = -1, report_wr_ = -1;
  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::vector<pid_t> live_;
  uint64_t max_reported_ = 0;
  uint64_t last_plain_ = 0;  // the plain record's number at the last Verify
  Model model_;
  int kills_ = 0;
};

// One committer, killed again and again: at a random moment since it started, or a few
// microseconds into a commit. Between commits it makes a plain write, so recovery must
// not replay a bundle over it.
TEST_P(KillTest, CommitterKilledAnywhere) {
  constexpr int kKills = 50;
  int in_commit = 0;
  for (int i = 0; i < kKills && !HasFatalFailure(); i++) {
    const pid_t pid =
        Spawn(0, [&] { CommitterMain(Config(true, false), shared_, &shared_->slots[0]); });
    ASSERT_GT(pid, 0);
    const bool mid_commit = i % 2 == 1;
    if (!mid_commit) std::this_thread::sleep_for(std::chrono::microseconds(rng_() % 20000));
    in_commit += KillChild(pid, 0, mid_commit);
    ASSERT_NO_FATAL_FAILURE(Verify(1, true, "after kill " + std::to_string(i + 1)));
  }
  RecordProperty("kills", kills_);
  RecordProperty("kills_in_commit", in_commit);
  EXPECT_GT(in_commit, 0) << "no kill landed inside a commit";
}

// A committer that keeps working while other committers die mid-commit next to it: it
// must notice each dead one when it takes its locks, and recover before reading. Readers
// check every whole state they see, and are killed now and then too.
TEST_P(KillTest, SurvivorsRecoverDeadCommitters) {
  constexpr int kVictimKills = 30;
  ChildConfig survivor = Config(false, true);
  survivor.pause_us = 300;
  ASSERT_GT(Spawn(0, [&] { CommitterMain(survivor, shared_, &shared_->slots[0]); }), 0);
  pid_t reader = Spawn(1, [&] { ReaderMain(Config(false, false), shared_); });
  ASSERT_GT(reader, 0);
  int in_commit = 0;
  for (int i = 0; i < kVictimKills && !HasFatalFailure(); i++) {
    const pid_t victim =
        Spawn(2, [&] { CommitterMain(Config(false, false), shared_, &shared_->slots[2]); });
    ASSERT_GT(victim, 0);
    in_commit += KillChild(victim, 2, i % 4 != 0);
    if (i % 5 == 4) {
      KillChild(reader, 1, false);
      reader = Spawn(1, [&] { ReaderMain(Config(false, false), shared_); });
    }
    DrainReports();
  }
  // The survivor must still be making progress after the last death.
  const uint64_t before = shared_->slots[0].commits.load();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (shared_->slots[0].commits.load() < before + 3 &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GE(shared_->slots[0].commits.load(), before + 3) << "the survivor stopped committing";
  StopAll();
  ASSERT_NO_FATAL_FAILURE(Verify(0, false, "at the end"));
  RecordProperty("kills", kills_);
  RecordProperty("kills_in_commit", in_commit);
}

// A committer dies mid-commit while another process only holds the file open; that one
// then closes, the last to. Whatever it does on the way out, the next opener must find
// the dead commit rolled back or forward, and every reported one there.
TEST_P(KillTest, LastCloserAfterDeadCommitter) {
  constexpr int kKills = 20;
  for (int i = 0; i < kKills && !HasFatalFailure(); i++) {
    ASSERT_GT(Spawn(1, [&] { IdleMain(Config(false, false), shared_); }), 0);
    const pid_t victim =
        Spawn(0, [&] { CommitterMain(Config(false, false), shared_, &shared_->slots[0]); });
    ASSERT_GT(victim, 0);
    KillChild(victim, 0, true);
    StopAll();
    ASSERT_NO_FATAL_FAILURE(Verify(1, false, "after kill " + std::to_string(i + 1)));
  }
  RecordProperty("kills", kills_);
}

// ---------------------------------------------------------------------------------------
// A committer that dies at a chosen point of its commit, while this process has the file
// open: the others must find the dead commit at lock time, whatever they do next.

// In the child: its commit's writes, extends and syncs so far (across CommitIo objects).
int g_ops = 0;

// Kills its process just before operation `die_at`; reports every completed sync's
// operation number on `sync_fd`.
class DyingCommitIo final : public CommitIo {
 public:
  DyingCommitIo(FileStorage* file, int die_at, int sync_fd)
      : real_(file), die_at_(die_at), sync_fd_(sync_fd) {}
  Status Read(uint64_t off, size_t len, void* buf) override { return real_.Read(off, len, buf); }
  Status Write(uint64_t off, const void* data, size_t len) override {
    Step();
    return real_.Write(off, data, len);
  }
  Status Sync() override {
    const int op = Step();
    const Status s = real_.Sync();
    if (s.ok() && write(sync_fd_, &op, sizeof(op)) != ssize_t(sizeof(op))) _exit(3);
    return s;
  }
  Status Extend(uint64_t size) override {
    Step();
    return real_.Extend(size);
  }
  uint64_t Size() override { return real_.Size(); }

 private:
  int Step() {
    if (g_ops == die_at_) raise(SIGKILL);
    return g_ops++;
  }
  FileCommitIo real_;
  int die_at_, sync_fd_;
};

Status RunTransaction(Db* db, uint64_t n) {
  PTDB_RETURN_IF_ERROR(db->TransactionStart());
  Status s;
  ForEachWrite(n, [&](const std::string& k, const std::string* v) {
    if (!s.ok()) return;
    s = v != nullptr ? db->Store(k, *v) : db->Delete(k);
    if (s.IsNoExist()) s = Status::OK();
  });
  if (!s.ok()) {
    (void)db->TransactionCancel();
    return s;
  }
  return db->TransactionCommit();
}

// Every record, one Fetch at a time (optionally under LockAllRead or in a transaction).
enum class ReadWay { kCheck, kLockAllRead, kFetch, kTransaction, kCount };

Status ReadAllWay(Db* db, ReadWay way, Dump* out) {
  if (way == ReadWay::kCheck) return ReadAll(db, out);
  out->clear();
  Status s;
  if (way == ReadWay::kLockAllRead) s = db->LockAllRead();
  if (way == ReadWay::kTransaction) s = db->TransactionStart();
  for (int k = 0; s.ok() && k <= kKeys; k++) {
    const std::string key = k < kKeys ? "k" + std::to_string(k) : "txn";
    std::string v;
    const Status f = db->Fetch(key, &v);
    if (f.ok()) {
      (*out)[key] = v;
    } else if (!f.IsNoExist()) {
      s = f;
    }
  }
  Status end;
  if (way == ReadWay::kLockAllRead) end = db->UnlockAllRead();
  if (way == ReadWay::kTransaction) end = db->TransactionCancel();
  return s.ok() ? end : s;
}

const char* WayName(ReadWay way) {
  switch (way) {
    case ReadWay::kCheck:
      return "Check";
    case ReadWay::kLockAllRead:
      return "LockAllRead and Fetch";
    case ReadWay::kFetch:
      return "Fetch";
    case ReadWay::kTransaction:
      return "a transaction";
    case ReadWay::kCount:
      break;
  }
  return "?";
}

// For every operation k of a commit, a child dies just before it while this process has
// the file open. This process must then read the state before or after the commit
// ("after" once its sync completed) whichever way it reads (the ways take turns), write
// to it, and leave it whole for the next lone opener.
TEST_P(KillTest, DeadCommitterFoundByOthersAtEveryOp) {
  constexpr uint64_t kBefore = 5;
  Model before, after;
  before.Advance(kBefore);
  after.Advance(kBefore + 1);
  bool finished = false;
  for (int k = 0; !finished && !HasFatalFailure(); k++) {
    const std::string at = "child killed before commit op " + std::to_string(k);
    {
      Options o;
      o.open_flags = O_RDWR | O_CREAT | O_TRUNC;
      o.lock_mode = GetParam().mode;
      o.flags = flags();
      std::unique_ptr<Db> db;
      PTDB_ASSERT_OK(Db::Open(Path(), o, &db));
      for (uint64_t n = 1; n <= kBefore; n++) PTDB_ASSERT_OK(RunTransaction(db.get(), n));
    }
    int go[2], syncs[2];
    ASSERT_EQ(pipe(go), 0);
    ASSERT_EQ(pipe(syncs), 0);
    fflush(nullptr);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      alarm(kChildAlarmSeconds);
      close(go[1]);
      close(syncs[0]);
      char byte;
      if (read(go[0], &byte, 1) != 1) _exit(2);
      std::unique_ptr<Db> db;
      if (!OpenRw(Path(), flags(), &db).ok()) _exit(2);
      SetCommitIoFactoryForTesting([&](FileStorage* f) -> std::unique_ptr<CommitIo> {
        return std::make_unique<DyingCommitIo>(f, k, syncs[1]);
      });
      _exit(RunTransaction(db.get(), kBefore + 1).ok() ? 0 : 1);
    }
    close(go[0]);
    close(syncs[1]);
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(OpenRw(Path(), flags(), &db));
    ASSERT_EQ(write(go[1], "g", 1), 1);
    close(go[1]);
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    int synced_at = -1, op;
    while (read(syncs[0], &op, sizeof(op)) == ssize_t(sizeof(op))) synced_at = op;
    close(syncs[0]);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
      finished = true;  // k is past the commit's last operation
    } else {
      ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << at << ": child status " << st;
      kills_++;
    }
    // A read may still see the state before: the commit never returned, and a reader
    // need not finish it. But it must see one whole state, and never go back.
    const ReadWay way = ReadWay(k % int(ReadWay::kCount));
    Dump got;
    Status s = ReadAllWay(db.get(), way, &got);
    ASSERT_TRUE(s.ok()) << at << ", reading by " << WayName(way) << ": " << s.ToString();
    const bool read_after = got == after.dump();
    EXPECT_TRUE(read_after || got == before.dump())
        << at << ", reading by " << WayName(way) << ": " << got.size() << " records, neither state";
    // A write next to the dead commit settles it: after, once its sync completed.
    PTDB_ASSERT_OK(db->Store("plain", "after the death"));
    Dump settled;
    s = ReadAll(db.get(), &settled);
    EXPECT_TRUE(s.ok()) << at << ": check by the survivor: " << s.ToString();
    EXPECT_EQ(settled["plain"], "after the death") << at;
    Dump core = settled;
    core.erase("plain");
    const bool must_be_after = finished || synced_at >= 0 || read_after;
    EXPECT_TRUE(core == after.dump() || (core == before.dump() && !must_be_after))
        << at << ", after reading by " << WayName(way) << " and a plain write: " << core.size()
        << " records, " << (core == before.dump() ? "the state before" : "neither state")
        << (must_be_after ? ", but it must be after" : "");
    // And the next lone opener finds the same.
    db.reset();
    PTDB_ASSERT_OK(OpenRw(Path(), flags(), &db));
    Dump again;
    s = ReadAll(db.get(), &again);
    EXPECT_TRUE(s.ok()) << at << ": check after a lone reopen: " << s.ToString();
    EXPECT_TRUE(again == settled) << at << ": a lone reopen found " << again.size()
                                  << " records, the survivor had " << settled.size();
  }
  EXPECT_TRUE(finished) << "never got past the commit";
  RecordProperty("kills", kills_);
}

INSTANTIATE_TEST_SUITE_P(Modes, KillTest,
                         ::testing::Values(Param{LockMode::kMutex, true},
                                           Param{LockMode::kMutex, false},
                                           Param{LockMode::kFcntl, true},
                                           Param{LockMode::kFcntl, false}),
                         ParamName);

}  // namespace
}  // namespace ptdb::test
