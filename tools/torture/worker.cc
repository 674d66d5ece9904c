// What each child process does: random operations on its own handle, checking every
// result against what may legitimately happen with other writers about and processes
// dying mid-operation.
#include "tools/torture/worker.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "ptdb/db.h"
#include "tools/torture/records.h"

namespace ptdb::torture {
namespace {

// A value that grew past this by appends is replaced rather than appended to.
constexpr size_t kMaxValue = 32 << 10;
// With -t or --tx-mix, operations per transaction (1 to this), and one transaction in this
// many is cancelled rather than committed.
constexpr unsigned kMaxTransactionOps = 20;
constexpr unsigned kCancelOneIn = 8;
// With --tx-mix, how often an operation outside a transaction starts one.
constexpr unsigned kMixTransactionOneIn = 8;

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
    unsigned tx_left = 0;  // operations left in the open transaction (-t, --tx-mix)
    while (!shared_->stop.load() && slot_->claimed.fetch_add(1) < cfg_.loops) {
      if (tx_left == 0 && (cfg_.transactions || (cfg_.tx_mix && OneIn(kMixTransactionOneIn)))) {
        state_->in_transaction = true;
        PTDB_RETURN_IF_ERROR(Allow(db_->TransactionStart(), "transaction_start"));
        tx_left = 1 + Below(kMaxTransactionOps);
        in_transaction_ = true;
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
    if (!cfg_.KillsAtSafePoints() || !slot_->kill_requested.load()) return;
    if (locked) shared_->kills_holding_locks++;
    kill(getpid(), SIGKILL);
  }
  // Commits the open transaction (or now and then cancels it), then counts its
  // increments as stored, or drops them.
  Status EndTransaction() {
    const Status s = CommitOrCancel();
    // Plain writes may follow: a kill the parent asked for meanwhile happens here.
    state_->in_transaction = false;
    SafePoint();
    return s;
  }
  Status CommitOrCancel() {
    in_transaction_ = false;
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
    if (in_transaction_) {
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
  // A kNoLock handle takes no locks, so it has nothing to refuse with.
  Status ExpectWriteRefused(const std::string& k, const char* lock) {
    if (cfg_.no_lock) return Status::OK();
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
  bool in_transaction_ = false;  // between TransactionStart and EndTransaction
};

}  // namespace

uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

int ChildMain(const Config& cfg, Shared* shared, unsigned slot, unsigned generation) {
  const std::string who =
      "ptdb-torture: child " + std::to_string(slot) + " (pid " + std::to_string(getpid()) + ")";
  Options o;
  o.open_flags = O_RDWR;
  o.flags = (cfg.no_mmap ? kNoMmap : kDefault) | (cfg.no_lock ? kNoLock : kDefault);
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

}  // namespace ptdb::torture
