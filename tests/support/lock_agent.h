// A helper process for multi-process lock tests (the role of ccan tdb2's external agent):
// a forked child that opens a database and runs one command at a time, sent over a pipe.
// Each answer (the Status code, whether it was "would block", and a fetched value) comes
// back over another pipe, so a command still waiting for a lock is simply one whose answer
// has not come: the parent sees that with Poll(timeout) and collects the answer later.
//
// The child is forked, not exec'd, so it starts with a copy of this process. Start agents
// before this process opens the database they will use: a handle the child inherited, or
// a file the child finds open in its copy of this process, would be shared with the parent
// (file/shared_file.h) instead of being the child's own, as another program's would be.
//
// Every child runs under alarm(): one that waits forever for a lost lock dies, and the
// parent sees a dead agent instead of hanging.
#ifndef PTDB_TESTS_SUPPORT_LOCK_AGENT_H_
#define PTDB_TESTS_SUPPORT_LOCK_AGENT_H_

#include <fcntl.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "ptdb/options.h"
#include "ptdb/status.h"

namespace ptdb {

// Lets GoogleTest print lock modes (test parameters) by name.
inline void PrintTo(LockMode mode, std::ostream* os) {
  *os << (mode == LockMode::kMutex ? "kMutex" : mode == LockMode::kFcntl ? "kFcntl" : "kDefault");
}

}  // namespace ptdb

namespace ptdb::test {

enum class AgentOp : uint8_t {
  kOpen,  // key: the name; see LockAgent::Open
  kClose,
  kFetch,  // answers the value
  kStore,  // key, data
  kDelete,
  kChainLock,
  kChainUnlock,
  kChainLockRead,
  kChainUnlockRead,
  kLockAll,
  kUnlockAll,
  kLockAllRead,
  kUnlockAllRead,
  kTraverse,  // answers the number of records, in decimal
  kCheck,
};

struct AgentOpenOptions {
  int open_flags = O_RDWR;
  unsigned flags = 0;
  LockMode lock_mode = LockMode::kDefault;
  // Lock hooks that never wait: every contended lock, even one the database would wait
  // for, answers "would block" at once. Needs a kFcntl database.
  bool nonblocking = false;
  // Opens with ClearIfFirstHook as the open hook.
  bool clear_if_first = false;
};

struct AgentReply {
  Error code = Error::kSuccess;
  bool would_block = false;
  bool died = false;  // the agent is gone (killed, or its alarm ran out)
  std::string data;

  bool ok() const { return !died && code == Error::kSuccess; }
  std::string ToString() const;
};

class LockAgent {
 public:
  // How long Do() waits for an answer it must get: a missing one is a bug (a lost lock),
  // reported as a dead agent rather than a hang.
  static constexpr int kAnswerMs = 30000;
  // How long an agent lives at most.
  static constexpr unsigned kLifeSeconds = 120;

  LockAgent();   // forks the child
  ~LockAgent();  // kills the child if it is still there
  LockAgent(const LockAgent&) = delete;
  LockAgent& operator=(const LockAgent&) = delete;

  // Sends a command without waiting for its answer. False if the agent is gone.
  bool Send(AgentOp op, std::string_view key = {}, std::string_view data = {});
  bool SendOpen(const std::string& name, const AgentOpenOptions& options);
  // The answer to the oldest unanswered command, if it comes within timeout_ms. A dead
  // agent answers with died set.
  std::optional<AgentReply> Poll(int timeout_ms);
  // Send, then wait up to kAnswerMs for the answer (died set if none came).
  AgentReply Do(AgentOp op, std::string_view key = {}, std::string_view data = {});
  AgentReply Open(const std::string& name, const AgentOpenOptions& options);

  // SIGKILL, as a crash would end it: its locks are left to the lock layer to recover.
  void Kill();
  pid_t pid() const { return pid_; }

 private:
  void Reap();

  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
};

// Ends this process, with a message, if it is still running `seconds` from now (0
// disarms): a test whose own lock calls could wait forever on a bug fails CI instead of
// hanging it. Uses alarm(); a test that needs SIGALRM itself saves and restores both.
void SetTestDeadline(unsigned seconds);

// TDB1's CLEAR_IF_FIRST, emulated with an open hook as ccan tdb2's tests do: the first
// process to open the file (the only one able to write-lock byte 4) empties it, so Open
// creates a fresh database; every opener then keeps a read lock on byte 4 while it has
// the file open, which tells later openers they are not first.
Status ClearIfFirstHook(int fd);

// The top-level hash group (the unit of chainlock: the top 7 bits of the default hash,
// seeded with the seed in the header of the database at `path`) of key.
unsigned HashGroupOf(const std::string& path, std::string_view key);
// A key in the same hash group as `near`, or in another one. Never `near` itself.
std::string KeyInGroupOf(const std::string& path, std::string_view near);
std::string KeyOutsideGroupOf(const std::string& path, std::string_view near);

}  // namespace ptdb::test

#endif  // PTDB_TESTS_SUPPORT_LOCK_AGENT_H_
