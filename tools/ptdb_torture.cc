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
// wedged, and the database stays whole even without crash-safe writes.
// With -t every operation runs inside a transaction of random size, committed or now
// and then cancelled, so -k -t may kill anywhere (tdb2torture -k -t): the file must
// recover to a committed state, and the counters must hold exactly the committed
// increments.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/errors.h"
#include "ptdb/db.h"
#include "tools/args.h"
#include "tools/progress.h"

namespace ptdb::torture {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

constexpr unsigned kMaxProcs = 64;
constexpr unsigned kMaxThreads = 16;
constexpr unsigned kCounters = 8;
// A value that grew past this by appends is replaced rather than appended to.
constexpr size_t kMaxValue = 32 << 10;
// With -t, operations per transaction (1 to this), and one transaction in this many is
// cancelled rather than committed.
constexpr unsigned kMaxTransactionOps = 20;
constexpr unsigned kCancelOneIn = 8;

struct Config {
  unsigned procs = 4;
  uint64_t loops = 5000;
  uint64_t seed = 0;
  bool kill = false;
  bool kill_between_calls = false;
  bool transactions = false;
  LockMode mode = LockMode::kMutex;
  std::string dir = ".";
  unsigned keys = 2000;
  unsigned value_size = 100;
  unsigned threads = 1;
  bool no_mmap = false;
  bool keep = false;
  unsigned stall_seconds = 120;
  unsigned kill_interval_ms = 10;
  // How often each operation is picked (indexed by Op, out of the sum).
  std::vector<unsigned> weights;

  std::string Path() const { return dir + "/torture.ptdb"; }
};

// ---------------------------------------------------------------------------------------
// What parent and children share: an anonymous MAP_SHARED block made before the forks.

enum Op : int {
  kIdle,
  kStoreReplace,
  kStoreInsert,
  kStoreModify,
  kAppend,
  kDelete,
  kFetch,
  kParse,
  kExists,
  kChainRmw,
  kCounterRmw,
  kChainRead,
  kTraverse,
  kWalk,
  kLockAllWrite,
  kLockAllRead,
  kNumOps
};

const char* const kOpNames[kNumOps] = {"idle",     "store",         "insert",      "modify",
                                       "append",   "delete",        "fetch",       "parse",
                                       "exists",   "chainlock-rmw", "counter-rmw", "chainlock-read",
                                       "traverse", "key-walk",      "lockall",     "lockall-read"};

// The default mix: how often each operation is picked (out of the sum).
const unsigned kOpWeights[kNumOps] = {0,  150, 50, 50, 120, 100, 150, 50,
                                      50, 80,  60, 40, 2,   20,  10,  10};

struct WorkerState {
  std::atomic<int> op{kIdle};
  // The counter whose increment is being stored (-1: none): if the process dies now, the
  // database may or may not have the increment.
  std::atomic<int> pending_counter{-1};
  // With -t: the increments the open transaction made, and whether its commit has begun
  // (from then until they are counted as stored, a death leaves them uncertain; before,
  // they are certainly lost).
  std::atomic<uint64_t> tx_increments[kCounters] = {};
  std::atomic<bool> committing{false};
};

struct SlotState {
  std::atomic<uint64_t> claimed{0};  // loops taken by this slot's processes, dead or alive
  // The parent chose this slot's process to die. With --kill-between-calls the process
  // kills itself at its next point between two API calls.
  std::atomic<bool> kill_requested{false};
  WorkerState workers[kMaxThreads];
};

struct Shared {
  // Set when a child failed: the others finish their current operation and exit, so the
  // final check sees what the failure left, not what killing them mid-write would.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> kills_holding_locks{0};
  std::atomic<uint64_t> counter_stored[kCounters];
  std::atomic<uint64_t> counter_maybe[kCounters];  // increments a killed process may have made
  SlotState slots[kMaxProcs];
};

// ---------------------------------------------------------------------------------------
// Keys and values.

std::string KeyName(unsigned i) {
  // Lengths vary, and a few keys are long enough to make records of their own sizes.
  std::string k = "k" + std::to_string(i);
  k.append(i % 97 == 0 ? 200 + i % 300 : i % 11, char('a' + i % 26));
  return k;
}

std::string CounterName(unsigned c) { return "#counter-" + std::to_string(c); }

class KeySpace {
 public:
  explicit KeySpace(unsigned keys) {
    for (unsigned i = 0; i < keys; i++) names_.push_back(KeyName(i));
    for (unsigned c = 0; c < kCounters; c++) counters_.push_back(CounterName(c));
    for (const std::string& n : names_) known_.emplace(n, true);
    for (const std::string& n : counters_) known_.emplace(n, false);
  }
  const std::string& Key(size_t i) const { return names_[i]; }
  size_t size() const { return names_.size(); }
  const std::string& Counter(unsigned c) const { return counters_[c]; }
  bool Known(std::string_view key) const { return known_.count(std::string(key)) != 0; }
  bool IsCounter(std::string_view key) const {
    auto it = known_.find(std::string(key));
    return it != known_.end() && !it->second;
  }

 private:
  std::vector<std::string> names_;
  std::vector<std::string> counters_;
  std::unordered_map<std::string, bool> known_;  // key -> ordinary (not a counter)
};

// A chunk: 'C', payload length (4 bytes), key tag (4), nonce (4), payload. A value is one
// or more chunks, all tagged with the value's key.
constexpr char kChunkMark = 'C';
constexpr size_t kChunkHeader = 13;

uint32_t KeyTag(std::string_view key) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : key) h = (h ^ c) * 16777619u;
  return h;
}

uint8_t PayloadByte(uint32_t tag, uint32_t nonce, size_t i) {
  uint32_t x = (tag ^ nonce) + uint32_t(i) * 0x9E3779B9u;
  x ^= x >> 16;
  x *= 0x85EBCA6Bu;
  x ^= x >> 13;
  return uint8_t(x);
}

void PutU32(std::string* s, uint32_t v) {
  for (int i = 0; i < 4; i++) s->push_back(char(v >> (8 * i)));
}

uint32_t GetU32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= uint32_t(uint8_t(s[at + i])) << (8 * i);
  return v;
}

std::string MakeChunk(std::string_view key, uint32_t nonce, size_t len) {
  const uint32_t tag = KeyTag(key);
  std::string c(1, kChunkMark);
  PutU32(&c, uint32_t(len));
  PutU32(&c, tag);
  PutU32(&c, nonce);
  for (size_t i = 0; i < len; i++) c.push_back(char(PayloadByte(tag, nonce, i)));
  return c;
}

// Empty when `value` is whole chunks of `key`; else what is wrong with it.
std::string ValueProblem(std::string_view key, std::string_view value) {
  if (value.empty()) return "empty value";
  const uint32_t tag = KeyTag(key);
  for (size_t at = 0; at < value.size();) {
    if (value.size() - at < kChunkHeader || value[at] != kChunkMark) {
      return "no chunk header at byte " + std::to_string(at);
    }
    const uint32_t len = GetU32(value, at + 1);
    if (GetU32(value, at + 5) != tag) {
      return "chunk at byte " + std::to_string(at) + " belongs to another key";
    }
    const uint32_t nonce = GetU32(value, at + 9);
    if (len > value.size() - at - kChunkHeader) {
      return "chunk at byte " + std::to_string(at) + " runs past the value's end";
    }
    for (size_t i = 0; i < len; i++) {
      if (uint8_t(value[at + kChunkHeader + i]) != PayloadByte(tag, nonce, i)) {
        return "payload byte " + std::to_string(i) + " of the chunk at byte " + std::to_string(at) +
               " is wrong";
      }
    }
    at += kChunkHeader + len;
  }
  return "";
}

bool ParseCounter(std::string_view v, uint64_t* n) {
  if (v.empty() || v.size() > 19) return false;
  uint64_t x = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    x = x * 10 + uint64_t(c - '0');
  }
  *n = x;
  return true;
}

// What the final Check() verifies about every record.
Status CheckRecord(const KeySpace& keys, std::string_view key, std::string_view data) {
  if (!keys.Known(key)) return Status(Error::kCorrupt, "a key no worker writes");
  uint64_t n;
  if (keys.IsCounter(key)) {
    return ParseCounter(data, &n) ? Status::OK()
                                  : Status(Error::kCorrupt, "counter value is not a number");
  }
  const std::string why = ValueProblem(key, data);
  return why.empty() ? Status::OK() : Status(Error::kCorrupt, why);
}

// ---------------------------------------------------------------------------------------
// One worker: a thread of a child process, doing random operations on the shared handle.

// OK if `s` is OK or one of the outcomes the operation may have with other writers about.
Status Allow(const Status& s, const char* what, std::initializer_list<Error> expected = {}) {
  if (s.ok()) return s;
  for (Error e : expected) {
    if (s.code() == e && !s.IsWouldBlock()) return Status::OK();
  }
  return Status(s.code(), std::string(what) + ": " + std::string(s.message()));
}

Status Wrong(const std::string& what) { return Status(Error::kCorrupt, what); }

// Set while this thread makes a call that must be refused: the library logs the refusal,
// which here is the expected outcome, not news.
thread_local bool t_refusal_expected = false;

class Worker {
 public:
  Worker(Db* db, const Config& cfg, const KeySpace& keys, Shared* shared, SlotState* slot,
         WorkerState* state, uint64_t seed)
      : db_(db), cfg_(cfg), keys_(keys), shared_(shared), slot_(slot), state_(state), rng_(seed) {}

  // OK, or the first thing that went wrong.
  Status Run() {
    unsigned total = 0;
    for (unsigned w : cfg_.weights) total += w;
    unsigned tx_left = 0;  // operations left in the open transaction (-t)
    while (!shared_->stop.load() && slot_->claimed.fetch_add(1) < cfg_.loops) {
      if (cfg_.transactions && tx_left == 0) {
        PTDB_RETURN_IF_ERROR(Allow(db_->TransactionStart(), "transaction_start"));
        tx_left = 1 + Below(kMaxTransactionOps);
      }
      unsigned r = Below(total);
      int op = 0;
      while (r >= cfg_.weights[op]) r -= cfg_.weights[op++];
      SafePoint();
      state_->op = op;
      Status s = Do(Op(op));
      state_->op = kIdle;
      if (!s.ok()) {
        return Status(s.code(), "[" + std::string(kOpNames[op]) + "] " + std::string(s.message()));
      }
      if (tx_left > 0 && --tx_left == 0) PTDB_RETURN_IF_ERROR(EndTransaction());
    }
    return tx_left > 0 ? EndTransaction() : Status::OK();
  }

 private:
  // Between two API calls: where --kill-between-calls lets a process die, perhaps holding
  // a chain or allrecord lock but never in the middle of a write.
  // `locked`: this thread holds a chain or allrecord lock here.
  void SafePoint(bool locked = false) {
    if (!cfg_.kill_between_calls || !slot_->kill_requested.load()) return;
    if (locked) shared_->kills_holding_locks++;
    kill(getpid(), SIGKILL);
  }
  // Commits the open transaction (or now and then cancels it), then counts its
  // increments as stored, or drops them.
  Status EndTransaction() {
    if (OneIn(kCancelOneIn)) {
      for (auto& n : state_->tx_increments) n = 0;
      return Allow(db_->TransactionCancel(), "transaction_cancel");
    }
    state_->committing = true;
    const Status s = db_->TransactionCommit();
    if (s.ok()) {
      // Counted as stored before dropped from the transaction's tally: a death between
      // the two then leaves them counted twice, stored and uncertain (the check allows
      // that), not lost from both, which made the check report an increment too many.
      for (unsigned c = 0; c < kCounters; c++) {
        shared_->counter_stored[c] += state_->tx_increments[c].load();
        state_->tx_increments[c] = 0;
      }
    }
    state_->committing = false;
    return Allow(s, "transaction_commit");
  }

  unsigned Below(unsigned n) { return unsigned(rng_() % n); }
  bool OneIn(unsigned n) { return Below(n) == 0; }
  const std::string& RandomKey() { return keys_.Key(Below(unsigned(keys_.size()))); }
  std::string NewValue(std::string_view key) {
    // Mostly small values; now and then a large one, so records move and files grow.
    const size_t len = OneIn(200) ? Below(16 << 10) : Below(cfg_.value_size + 1);
    return MakeChunk(key, uint32_t(rng_()), len);
  }
  Status CheckValue(std::string_view key, std::string_view value) {
    const std::string why = ValueProblem(key, value);
    return why.empty() ? Status::OK() : Wrong("key " + std::string(key) + ": " + why);
  }

  Status Do(Op op) {
    switch (op) {
      case kStoreReplace:
      case kStoreInsert:
      case kStoreModify:
        return StoreOp(op);
      case kAppend: {
        const std::string& k = RandomKey();
        return Allow(db_->Append(k, NewValue(k)), "append");
      }
      case kDelete:
        return Allow(db_->Delete(RandomKey()), "delete", {Error::kNoExist});
      case kFetch:
        return FetchOp(RandomKey());
      case kParse:
        return ParseOp();
      case kExists: {
        bool exists;
        return Allow(db_->Exists(RandomKey(), &exists), "exists");
      }
      case kChainRmw:
        return ChainRmw();
      case kCounterRmw:
        return CounterRmw();
      case kChainRead:
        return ChainRead();
      case kTraverse:
        return TraverseOp();
      case kWalk:
        return WalkOp();
      case kLockAllWrite:
        return LockAllWrite();
      case kLockAllRead:
        return LockAllRead();
      case kIdle:
      case kNumOps:
        break;
    }
    return Status::OK();
  }

  Status StoreOp(Op op) {
    const std::string& k = RandomKey();
    switch (op) {
      case kStoreInsert:
        return Allow(db_->Store(k, NewValue(k), StoreMode::kInsert), "insert", {Error::kExists});
      case kStoreModify:
        return Allow(db_->Store(k, NewValue(k), StoreMode::kModify), "modify", {Error::kNoExist});
      default:
        return Allow(db_->Store(k, NewValue(k)), "store");
    }
  }

  Status FetchOp(const std::string& k) {
    std::string v;
    const Status s = db_->Fetch(k, &v);
    if (s.IsNoExist()) return Status::OK();
    if (!s.ok()) return Allow(s, "fetch");
    return CheckValue(k, v);
  }

  Status ParseOp() {
    const std::string& k = RandomKey();
    const Status s = db_->ParseRecord(k, [&](std::string_view key, std::string_view data) {
      if (key != k) return Wrong("parse_record was given key " + std::string(key));
      return CheckValue(k, data);
    });
    return Allow(s, "parse_record", {Error::kNoExist});
  }

  // Fetch, change, store and read back under the chain lock: nobody else may get in.
  Status ChainRmw() {
    const std::string& k = RandomKey();
    PTDB_RETURN_IF_ERROR(Allow(db_->ChainLock(k), "chainlock"));
    Status s = ChainRmwLocked(k);
    const Status u = Allow(db_->ChainUnlock(k), "chainunlock");
    return s.ok() ? u : s;
  }

  Status ChainRmwLocked(const std::string& k) {
    std::string v;
    Status s = db_->Fetch(k, &v);
    if (!s.ok() && !s.IsNoExist()) return Allow(s, "fetch");
    if (s.ok()) PTDB_RETURN_IF_ERROR(CheckValue(k, v));
    SafePoint(true);
    if (!s.ok() || v.size() > kMaxValue || OneIn(3)) {
      v = NewValue(k);
    } else {
      v += NewValue(k);
    }
    PTDB_RETURN_IF_ERROR(Allow(db_->Store(k, v), "store"));
    SafePoint(true);
    std::string back;
    PTDB_RETURN_IF_ERROR(Allow(db_->Fetch(k, &back), "fetch after store"));
    if (back != v) return Wrong("key " + k + " changed under its chain lock");
    return Status::OK();
  }

  // An increment the parent can account for. `chainlock`: take the counter's chain lock
  // (false: the caller holds the allrecord lock).
  Status Increment(bool chainlock) {
    const unsigned c = Below(kCounters);
    const std::string& k = keys_.Counter(c);
    if (chainlock) PTDB_RETURN_IF_ERROR(Allow(db_->ChainLock(k), "chainlock"));
    Status s = IncrementLocked(c, k);
    if (chainlock) {
      const Status u = Allow(db_->ChainUnlock(k), "chainunlock");
      if (s.ok()) s = u;
    }
    return s;
  }

  Status IncrementLocked(unsigned c, const std::string& k) {
    std::string v;
    uint64_t n = 0;
    Status s = db_->Fetch(k, &v);
    if (s.ok()) {
      if (!ParseCounter(v, &n)) return Wrong("counter " + k + " holds '" + v + "'");
    } else if (!s.IsNoExist()) {
      return Allow(s, "fetch counter");
    }
    const std::string next = std::to_string(n + 1);
    SafePoint(true);
    if (cfg_.transactions) {
      // Counted when (and if) the transaction commits.
      s = db_->Store(k, next);
      if (s.ok()) state_->tx_increments[c]++;
    } else {
      state_->pending_counter = int(c);
      s = db_->Store(k, next);
      if (s.ok()) shared_->counter_stored[c]++;
      state_->pending_counter = -1;
    }
    PTDB_RETURN_IF_ERROR(Allow(s, "store counter"));
    PTDB_RETURN_IF_ERROR(Allow(db_->Fetch(k, &v), "fetch counter after store"));
    if (v != next) return Wrong("counter " + k + " changed under its lock");
    return Status::OK();
  }

  Status CounterRmw() { return Increment(true); }

  // A write under a read lock is a caller's error: it must fail, not deadlock or succeed.
  Status ExpectWriteRefused(const std::string& k, const char* lock) {
    t_refusal_expected = true;
    const Status s = db_->Store(k, NewValue(k));
    t_refusal_expected = false;
    if (s.ok()) return Wrong(std::string("a store under ") + lock + " succeeded");
    if (s.code() != Error::kLock) return Allow(s, "store under a read lock");
    return Status::OK();
  }

  Status ChainRead() {
    const std::string& k = RandomKey();
    PTDB_RETURN_IF_ERROR(Allow(db_->ChainLockRead(k), "chainlock_read"));
    SafePoint(true);
    Status s = FetchOp(k);
    if (s.ok()) {
      bool exists;
      s = Allow(db_->Exists(k, &exists), "exists");
    }
    if (s.ok() && OneIn(4)) s = ExpectWriteRefused(k, "chainlock_read");
    const Status u = Allow(db_->ChainUnlockRead(k), "chainunlock_read");
    return s.ok() ? u : s;
  }

  // Reads every record; now and then deletes the current one, adds one, or stops early.
  Status TraverseOp() {
    Status failure;
    const Status s = db_->Traverse([&](std::string_view key, std::string_view data) {
      if (!keys_.Known(key)) {
        failure = Wrong("traverse met unknown key '" + std::string(key) + "'");
        return false;
      }
      SafePoint();
      if (keys_.IsCounter(key)) return true;
      failure = CheckValue(key, data);
      if (!failure.ok()) return false;
      if (OneIn(100)) {
        failure = Allow(db_->Delete(key), "delete in traverse", {Error::kNoExist});
        if (!failure.ok()) return false;
      }
      if (OneIn(100)) {
        const std::string& k = RandomKey();
        failure = Allow(db_->Store(k, NewValue(k)), "store in traverse");
        if (!failure.ok()) return false;
      }
      return !OneIn(500);
    });
    return failure.ok() ? Allow(s, "traverse") : failure;
  }

  Status WalkOp() {
    std::string k;
    Status s = db_->FirstKey(&k);
    for (unsigned steps = 1 + Below(64); s.ok() && steps > 0; steps--) {
      if (!keys_.Known(k)) return Wrong("key walk met unknown key '" + k + "'");
      SafePoint();
      s = db_->NextKey(&k);
    }
    return Allow(s, "key walk", {Error::kNoExist});
  }

  Status LockAllWrite() {
    PTDB_RETURN_IF_ERROR(Allow(db_->LockAll(), "lockall"));
    Status s;
    for (unsigned n = 1 + Below(5); s.ok() && n > 0; n--) {
      SafePoint(true);
      switch (Below(5)) {
        case 0:
          s = StoreOp(kStoreReplace);
          break;
        case 1:
          s = FetchOp(RandomKey());
          break;
        case 2:
          s = Allow(db_->Delete(RandomKey()), "delete", {Error::kNoExist});
          break;
        case 3:
          s = Increment(false);
          break;
        default:
          // A chain lock nests inside the allrecord lock.
          s = Increment(true);
          break;
      }
    }
    const Status u = Allow(db_->UnlockAll(), "unlockall");
    return s.ok() ? u : s;
  }

  Status LockAllRead() {
    PTDB_RETURN_IF_ERROR(Allow(db_->LockAllRead(), "lockall_read"));
    Status s;
    for (unsigned n = 1 + Below(5); s.ok() && n > 0; n--) {
      SafePoint(true);
      s = FetchOp(RandomKey());
    }
    if (s.ok() && OneIn(2)) s = ExpectWriteRefused(RandomKey(), "lockall_read");
    const Status u = Allow(db_->UnlockAllRead(), "unlockall_read");
    return s.ok() ? u : s;
  }

  Db* const db_;
  const Config& cfg_;
  const KeySpace& keys_;
  Shared* const shared_;
  SlotState* const slot_;
  WorkerState* const state_;
  std::mt19937_64 rng_;
};

uint64_t Mix(uint64_t x) {  // splitmix64's finaliser
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A child process: opens the database and runs the slot's workers on one handle.
int ChildMain(const Config& cfg, Shared* shared, unsigned slot, unsigned generation) {
  const std::string who =
      "ptdb-torture: child " + std::to_string(slot) + " (pid " + std::to_string(getpid()) + ")";
  Options o;
  o.open_flags = O_RDWR;
  o.flags = cfg.no_mmap ? kNoMmap : kDefault;
  o.log = [&who](LogLevel, Error, std::string_view msg) {
    if (t_refusal_expected) return;
    fprintf(stderr, "%s: log: %.*s\n", who.c_str(), int(msg.size()), msg.data());
  };
  std::unique_ptr<Db> db;
  Status s = Db::Open(cfg.Path(), o, &db);
  if (!s.ok()) {
    fprintf(stderr, "%s: open: %s\n", who.c_str(), s.ToString().c_str());
    return kExitFailed;
  }
  const KeySpace keys(cfg.keys);
  SlotState* state = &shared->slots[slot];
  std::vector<Status> results(cfg.threads);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < cfg.threads; t++) {
    const uint64_t seed = Mix(Mix(Mix(cfg.seed) ^ slot) ^ generation) ^ t;
    threads.emplace_back([&, t, seed] {
      Worker w(db.get(), cfg, keys, shared, state, &state->workers[t], seed);
      results[t] = w.Run();
    });
  }
  for (std::thread& t : threads) t.join();
  int rc = kExitOk;
  for (unsigned t = 0; t < cfg.threads; t++) {
    if (!results[t].ok()) {
      fprintf(stderr, "%s thread %u: %s\n", who.c_str(), t, results[t].ToString().c_str());
      rc = kExitFailed;
    }
  }
  return rc;
}

// ---------------------------------------------------------------------------------------
// The parent.

class Parent {
 public:
  explicit Parent(const Config& cfg) : cfg_(cfg), rng_(Mix(cfg.seed ^ 0x5EED)) {}
  ~Parent() {
    if (shared_ != nullptr) munmap(shared_, sizeof(Shared));
  }

  int Run() {
    printf("ptdb-torture: %u processes x %u threads, %" PRIu64 " loops, seed=%" PRIu64
           ", mode=%s%s%s%s\n",
           cfg_.procs, cfg_.threads, cfg_.loops, cfg_.seed,
           cfg_.mode == LockMode::kMutex ? "mutex" : "fcntl",
           cfg_.kill ? (cfg_.kill_between_calls ? ", kill between calls" : ", kill") : "",
           cfg_.no_mmap ? ", no-mmap" : "", cfg_.transactions ? ", transactions" : "");
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
    if (cfg_.kill) {
      printf("ptdb-torture: OK (children killed: %" PRIu64 ", %" PRIu64
             " of them holding a lock)\n",
             kills_, shared_->kills_holding_locks.load());
    } else {
      printf("ptdb-torture: OK\n");
    }
    if (!cfg_.keep) unlink(cfg_.Path().c_str());
    return kExitOk;
  }

 private:
  bool Create() {
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

  void Start(unsigned slot) {
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

  uint64_t Done() const {
    uint64_t done = 0;
    for (unsigned i = 0; i < cfg_.procs; i++) {
      done += std::min<uint64_t>(shared_->slots[i].claimed.load(), cfg_.loops);
    }
    return done;
  }

  bool Running() const {
    return std::any_of(pids_.begin(), pids_.end(), [](pid_t p) { return p > 0; });
  }

  // Reaps whatever exited; false once a child failed.
  bool Reap() {
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

  // Picks a running child to die: at once, or at its next point between API calls.
  void KillOne() {
    std::vector<unsigned> live;
    for (unsigned i = 0; i < cfg_.procs; i++) {
      if (pids_[i] > 0 && !shared_->slots[i].kill_requested.load()) live.push_back(i);
    }
    if (live.empty()) return;
    const unsigned slot = live[rng_() % live.size()];
    shared_->slots[slot].kill_requested = true;
    if (!cfg_.kill_between_calls) kill(pids_[slot], SIGKILL);
  }

  // After a kill: notes the increments the dead process may have stored, and starts a
  // new process for its loops unless they are done.
  void Replace(unsigned slot) {
    kills_++;
    SlotState& s = shared_->slots[slot];
    for (WorkerState& w : s.workers) {
      const int c = w.pending_counter.exchange(-1);
      if (c >= 0) shared_->counter_maybe[c]++;
      const bool committing = w.committing.exchange(false);
      for (unsigned i = 0; i < kCounters; i++) {
        const uint64_t n = w.tx_increments[i].exchange(0);
        if (committing) shared_->counter_maybe[i] += n;
      }
      w.op = kIdle;
    }
    if (s.claimed.load() < cfg_.loops && !shared_->stop.load()) Start(slot);
  }

  void ReportStall() {
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

  // Runs the children to the end; false if one failed or all stopped making progress.
  bool Supervise() {
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

  // Kills come at random moments, kill_interval_ms apart on average.
  std::chrono::microseconds KillDelay() {
    return std::chrono::microseconds(rng_() % (2000 * uint64_t(cfg_.kill_interval_ms) + 1));
  }

  bool FinalCheck() {
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

  const Config& cfg_;
  std::mt19937_64 rng_;
  Shared* shared_ = nullptr;
  std::vector<pid_t> pids_;
  std::vector<unsigned> generation_;
  uint64_t kills_ = 0;
  bool start_failed_ = false;
};

// ---------------------------------------------------------------------------------------
// Command line.

const char kUsage[] =
    "Usage: ptdb-torture [-n PROCS] [-l LOOPS] [-s SEED] [-k] [-t] [-m mutex|fcntl] [-d DIR]\n"
    "                    [--threads N] [--keys N] [--value-size N] [--no-mmap] [--keep]\n"
    "                    [--kill-between-calls] [--kill-interval MS] [--ops LIST]\n"
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
    "  -m MODE              lock mode of the new database: mutex (default) or fcntl\n"
    "  -d DIR               where to create torture.ptdb\n"
    "  --threads N          threads per process sharing its handle (1..16, default 1)\n"
    "  --keys N             distinct keys (default 2000; fewer means more contention)\n"
    "  --value-size N       largest ordinary value chunk in bytes (default 100)\n"
    "  --no-mmap            open with kNoMmap (pread/pwrite)\n"
    "  --keep               keep the database after a clean run\n"
    "  --kill-between-calls with -k, a process dies only between two API calls (perhaps\n"
    "                       holding a chain or allrecord lock), never inside one: the\n"
    "                       database stays whole without transactions\n"
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
      {"--keep", false},
      {"--kill-between-calls", false},
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
  cfg.transactions = args.Has("-t");
  // A transaction belongs to its handle, which the threads of a process share.
  if (cfg.transactions && cfg.threads > 1) return Usage("-t needs --threads 1");
  if (cfg.kill_between_calls && !cfg.kill) return Usage("--kill-between-calls needs -k");
  // Another thread of the process could be inside a call when one thread kills it.
  if (cfg.kill_between_calls && cfg.threads > 1) {
    return Usage("--kill-between-calls needs --threads 1");
  }
  cfg.no_mmap = args.Has("--no-mmap");
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
