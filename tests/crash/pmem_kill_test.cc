// kill -9 at random moments while a child process changes a pmem database; then reopen
// (libpmemobj rolls back the transaction that was cut short) and require a clean check()
// and exactly the state after the last commit the child reported, or that state with the
// commit in flight applied whole. Two kinds of child: one whose every operation is its
// own transaction, and one that runs user transactions of several operations (some
// failing inside, some cancelled) between plain operations. Nothing in between is
// allowed. Reproduce a failure with PTDB_TEST_SEED=<seed printed>.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/pmem/pmem_test_util.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

// 5 seeds x 50 kills for each kind of child: 500 kills, about 20 s in a Debug build.
constexpr int kKillsPerSeed = 50;
// A user transaction has 1 to this many operations.
constexpr int kMaxOpsPerTransaction = 12;
constexpr int kKeys = 300;
// One message must fit in one atomic pipe write (PIPE_BUF), so a kill never splits it.
constexpr size_t kMaxValue = 3500;

std::vector<uint64_t> Seeds() {
  if (const char* env = std::getenv("PTDB_TEST_SEED")) return {std::strtoull(env, nullptr, 0)};
  const uint64_t clock = uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
  return {1, 2, 3, 4, clock};
}

enum class OpType : uint8_t { kReplace, kInsert, kModify, kAppend, kDelete, kWipe };

struct Op {
  OpType type = OpType::kReplace;
  std::string key;
  std::string value;
};

Op RandomOp(std::mt19937_64& rng) {
  Op op;
  const unsigned r = unsigned(rng() % 1000);
  op.type = r < 350   ? OpType::kReplace
            : r < 450 ? OpType::kInsert
            : r < 550 ? OpType::kModify
            : r < 750 ? OpType::kAppend
            : r < 995 ? OpType::kDelete
                      : OpType::kWipe;
  op.key = "k" + std::to_string(rng() % kKeys);
  const size_t len = rng() % 10 == 0 ? rng() % (kMaxValue + 1) : rng() % 200;
  op.value.resize(len);
  const uint64_t pattern = rng();
  for (size_t i = 0; i < len; i++) op.value[i] = char((pattern >> (i % 8 * 8)) + i);
  return op;
}

// Applies op to the model as the database would.
void Apply(const Op& op, Dump* model) {
  switch (op.type) {
    case OpType::kReplace:
      (*model)[op.key] = op.value;
      return;
    case OpType::kInsert:
      model->emplace(op.key, op.value);
      return;
    case OpType::kModify:
      if (auto it = model->find(op.key); it != model->end()) it->second = op.value;
      return;
    case OpType::kAppend:
      (*model)[op.key] += op.value;
      return;
    case OpType::kDelete:
      model->erase(op.key);
      return;
    case OpType::kWipe:
      model->clear();
      return;
  }
}

Status Run(Db* db, const Op& op, const Dump& model) {
  switch (op.type) {
    case OpType::kReplace:
      return db->Store(op.key, op.value, StoreMode::kReplace);
    case OpType::kInsert: {
      const Status s = db->Store(op.key, op.value, StoreMode::kInsert);
      return model.count(op.key) && s.code() == Error::kExists ? Status::OK() : s;
    }
    case OpType::kModify: {
      const Status s = db->Store(op.key, op.value, StoreMode::kModify);
      return !model.count(op.key) && s.code() == Error::kNoExist ? Status::OK() : s;
    }
    case OpType::kAppend:
      return db->Append(op.key, op.value);
    case OpType::kDelete: {
      const Status s = db->Delete(op.key);
      return !model.count(op.key) && s.code() == Error::kNoExist ? Status::OK() : s;
    }
    case OpType::kWipe:
      return db->WipeAll();
  }
  return Status(Error::kEinval, "unknown op");
}

// Messages from the child: 'B' + an op (it belongs to the commit being built), 'C' (that
// commit starts: from here it may be in the pool), 'D' (it returned), 'X' (the ops since
// the last 'D' are being cancelled and never reach the pool), 'E' (something failed).
// A plain operation is "B<op>C" in one write, then 'D'.
void Send(int fd, const std::string& msg) {
  if (write(fd, msg.data(), msg.size()) != ssize_t(msg.size())) _exit(4);
}

std::string Begin(const Op& op) {
  std::string msg(1, 'B');
  msg += char(op.type);
  const uint32_t lens[2] = {uint32_t(op.key.size()), uint32_t(op.value.size())};
  msg.append(reinterpret_cast<const char*>(lens), sizeof(lens));
  return msg + op.key + op.value;
}

[[noreturn]] void Fail(int out) {
  Send(out, "E");
  _exit(3);
}

// The child: applies ops from its own stream until killed. Its model mirrors the
// database, so it knows which outcome (exists, no such key) is expected; inside a
// transaction those failures leave the transaction going.
[[noreturn]] void Child(const std::string& path, bool transactions, uint64_t stream_seed,
                        Dump model, int out) {
  std::unique_ptr<Db> db;
  if (!Db::Open(path, ReopenRw(), &db).ok()) Fail(out);
  std::mt19937_64 rng(stream_seed);
  for (;;) {
    if (!transactions || rng() % 4 == 0) {
      const Op op = RandomOp(rng);
      Send(out, Begin(op) + "C");
      if (!Run(db.get(), op, model).ok()) Fail(out);
      Apply(op, &model);
      Send(out, "D");
      continue;
    }
    if (!db->TransactionStart().ok()) Fail(out);
    Dump inside = model;
    const int ops = int(rng() % kMaxOpsPerTransaction) + 1;
    for (int i = 0; i < ops; i++) {
      const Op op = RandomOp(rng);
      Send(out, Begin(op));
      if (!Run(db.get(), op, inside).ok()) Fail(out);
      Apply(op, &inside);
    }
    if (rng() % 8 == 0) {
      Send(out, "X");
      if (!db->TransactionCancel().ok()) Fail(out);
      continue;
    }
    Send(out, "C");
    if (!db->TransactionCommit().ok()) Fail(out);
    model = std::move(inside);
    Send(out, "D");
  }
}

// Reads what the child said, up to its death (EOF); stops early to kill it once `kill_after`
// ops have begun. Returns false if the child reported a failure.
class Reader {
 public:
  explicit Reader(int fd) : fd_(fd) {}

  // Returns once `ops` ops have begun and `commits` commits started (or the child is gone).
  bool WaitFor(int ops, int commits) {
    while ((begins_ < ops || commits_ < commits) && !eof_) {
      if (!Fill()) return false;
    }
    return !failed_;
  }
  bool Drain() {
    while (!eof_) {
      if (!Fill()) return false;
    }
    return !failed_;
  }
  // The ops of the commits that returned, in order; the ops of the commit begun but not
  // reported done, and whether its commit had started ('C').
  const std::vector<Op>& done() const { return done_; }
  const std::vector<Op>& pending() const { return pending_; }
  bool committing() const { return committing_; }
  bool failed() const { return failed_; }

 private:
  bool Fill() {
    char chunk[65536];
    const ssize_t n = read(fd_, chunk, sizeof(chunk));
    if (n < 0) return errno == EINTR;
    if (n == 0) {
      eof_ = true;
      return true;
    }
    buf_.append(chunk, size_t(n));
    Parse();
    return true;
  }
  void Parse() {
    size_t pos = 0;
    while (pos < buf_.size()) {
      const char tag = buf_[pos];
      if (tag == 'D' || tag == 'X') {
        if (tag == 'D') done_.insert(done_.end(), pending_.begin(), pending_.end());
        pending_.clear();
        committing_ = false;
        pos++;
      } else if (tag == 'C') {
        committing_ = true;
        commits_++;
        pos++;
      } else if (tag == 'E') {
        failed_ = true;
        pos++;
      } else {
        constexpr size_t kHead = 2 + 2 * sizeof(uint32_t);
        if (buf_.size() - pos < kHead) break;
        uint32_t lens[2];
        std::memcpy(lens, &buf_[pos + 2], sizeof(lens));
        if (buf_.size() - pos < kHead + lens[0] + lens[1]) break;
        Op op;
        op.type = OpType(buf_[pos + 1]);
        op.key = buf_.substr(pos + kHead, lens[0]);
        op.value = buf_.substr(pos + kHead + lens[0], lens[1]);
        pending_.push_back(std::move(op));
        begins_++;
        pos += kHead + lens[0] + lens[1];
      }
    }
    buf_.erase(0, pos);
  }

  int fd_;
  std::string buf_;
  std::vector<Op> done_;
  std::vector<Op> pending_;
  bool committing_ = false;
  int begins_ = 0;
  int commits_ = 0;
  bool eof_ = false;
  bool failed_ = false;
};

struct Tally {
  int kills = 0;
  int rolled_back = 0;  // the commit in flight left nothing (or none was in flight)
  int committed = 0;    // the commit in flight had committed before it could say so
  int mid_commit = 0;   // killed after a commit started and before it said it returned
};

// One kill: a child from the current state, killed after a random number of ops (or of
// commits started) and a random few microseconds more. Updates *model to the state the
// reopened database has.
void KillOnce(const std::string& path, bool transactions, std::mt19937_64& rng, Dump* model,
              Tally* tally) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const uint64_t stream_seed = rng();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    Child(path, transactions, stream_seed, *model, fds[1]);
  }
  close(fds[1]);
  Reader reader(fds[0]);
  // Sometimes while the pool is still being opened; often just as a commit starts.
  const bool at_commit = rng() % 3 == 0;
  const int kill_after = rng() % 20 == 0 ? 0 : int(rng() % 150) + 1;
  const bool alive =
      at_commit ? reader.WaitFor(0, kill_after / 4 + 1) : reader.WaitFor(kill_after, 0);
  const auto spin = std::chrono::microseconds(rng() % 60);
  for (auto until = std::chrono::steady_clock::now() + spin;
       std::chrono::steady_clock::now() < until;) {
  }
  kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  const bool drained = reader.Drain();
  close(fds[0]);
  ASSERT_TRUE(alive && drained && !reader.failed()) << "the child reported a failed operation";
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child ended on its own, status " << status;
  tally->kills++;

  for (const Op& op : reader.done()) Apply(op, model);
  if (reader.committing()) tally->mid_commit++;
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(Db::Open(path, ReopenRw(), &db));
  PTDB_ASSERT_OK(db->Check());
  const Dump got = DumpDb(db.get());
  if (got == *model) {
    tally->rolled_back++;
    return;
  }
  ASSERT_TRUE(reader.committing())
      << "after the kill the database differs from the state after the last commit, and "
         "no commit had started ("
      << reader.pending().size() << " ops of a transaction pending)";
  Dump with = *model;
  for (const Op& op : reader.pending()) Apply(op, &with);
  ASSERT_TRUE(got == with) << "after the kill the database is neither the state after the "
                              "last commit nor that state plus the whole commit in flight ("
                           << reader.pending().size() << " ops)";
  *model = std::move(with);
  tally->committed++;
}

void KillMany(bool transactions) {
  Tally tally;
  for (uint64_t seed : Seeds()) {
    SCOPED_TRACE("PTDB_TEST_SEED=" + std::to_string(seed));
    TempDir dir;
    const std::string path = dir.File("db.pool");
    {
      std::unique_ptr<Db> db;
      PTDB_ASSERT_OK(Db::Open(path, PmemCreateOptions(), &db));
    }
    std::mt19937_64 rng(seed);
    Dump model;
    for (int k = 0; k < kKillsPerSeed; k++) {
      SCOPED_TRACE("kill " + std::to_string(k));
      KillOnce(path, transactions, rng, &model, &tally);
      if (::testing::Test::HasFatalFailure()) return;
    }
    std::printf("pmem kill seed %llu: %d kills so far, %zu records\n", (unsigned long long)seed,
                tally.kills, model.size());
  }
  std::printf(
      "pmem kills (%s): %d; commit in flight rolled back or none %d, committed %d; killed "
      "mid-commit %d\n",
      transactions ? "user transactions" : "one transaction per operation", tally.kills,
      tally.rolled_back, tally.committed, tally.mid_commit);
  // CI's run (the default seeds) must make at least 200 kills; one seed given in
  // PTDB_TEST_SEED, to repeat a failure, makes only its own.
  if (std::getenv("PTDB_TEST_SEED") == nullptr) {
    EXPECT_GE(tally.kills, 200);
  }
}

TEST(PmemKillTest, EveryKillLeavesACommittedState) { KillMany(false); }

TEST(PmemKillTest, EveryKillDuringUserTransactionsLeavesACommittedState) { KillMany(true); }

}  // namespace
}  // namespace ptdb::test
