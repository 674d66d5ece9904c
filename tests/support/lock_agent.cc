#include "tests/support/lock_agent.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <memory>

#include "common/format.h"
#include "common/hash.h"
#include "ptdb/db.h"

namespace ptdb::test {
namespace {

// The child's ends of the pipes, moved here so that closing everything above them leaves
// it nothing of the parent's (other agents' pipes, database descriptors).
constexpr int kChildIn = 3;
constexpr int kChildOut = 4;

struct RequestHeader {
  AgentOp op;
  uint32_t key_len;
  uint32_t data_len;
};

struct ReplyHeader {
  int32_t code;
  uint8_t would_block;
  uint32_t data_len;
};

bool WriteAll(int fd, const void* buf, size_t len) {
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    const ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= size_t(n);
  }
  return true;
}

bool ReadAll(int fd, void* buf, size_t len) {
  char* p = static_cast<char*>(buf);
  while (len > 0) {
    const ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= size_t(n);
  }
  return true;
}

bool ReadString(int fd, uint32_t len, std::string* out) {
  out->resize(len);
  return ReadAll(fd, out->data(), len);
}

int FcntlLock(int fd, int rw, uint64_t off, uint64_t len, bool wait) {
  struct flock fl = {};
  fl.l_type = static_cast<short>(rw);
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(off);
  fl.l_len = static_cast<off_t>(len);
  return fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl);
}

Options OptionsFor(const AgentOpenOptions& o) {
  Options options;
  options.open_flags = o.open_flags;
  options.flags = o.flags;
  options.lock_mode = o.lock_mode;
  if (o.nonblocking) {
    options.lock_hooks.lock = [](int fd, int rw, uint64_t off, uint64_t len, bool) {
      return FcntlLock(fd, rw, off, len, false);
    };
    options.lock_hooks.unlock = [](int fd, int rw, uint64_t off, uint64_t len) {
      return FcntlLock(fd, rw, off, len, false);
    };
  }
  if (o.clear_if_first) options.open_hook = ClearIfFirstHook;
  return options;
}

// Runs one command against *db: its status, and for some commands a value in *out.
Status Execute(AgentOp op, const std::string& key, const std::string& data, std::unique_ptr<Db>* db,
               std::string* out) {
  if (op == AgentOp::kOpen) {
    AgentOpenOptions o;
    if (data.size() != sizeof(o)) return Status(Error::kEinval, "bad open request");
    std::memcpy(&o, data.data(), sizeof(o));
    return Db::Open(key, OptionsFor(o), db);
  }
  if (*db == nullptr) return Status(Error::kEinval, "the agent has no database open");
  Db* d = db->get();
  switch (op) {
    case AgentOp::kOpen:
      break;
    case AgentOp::kClose:
      db->reset();
      return Status::OK();
    case AgentOp::kFetch:
      return d->Fetch(key, out);
    case AgentOp::kStore:
      return d->Store(key, data);
    case AgentOp::kDelete:
      return d->Delete(key);
    case AgentOp::kChainLock:
      return d->ChainLock(key);
    case AgentOp::kChainUnlock:
      return d->ChainUnlock(key);
    case AgentOp::kChainLockRead:
      return d->ChainLockRead(key);
    case AgentOp::kChainUnlockRead:
      return d->ChainUnlockRead(key);
    case AgentOp::kLockAll:
      return d->LockAll();
    case AgentOp::kUnlockAll:
      return d->UnlockAll();
    case AgentOp::kLockAllRead:
      return d->LockAllRead();
    case AgentOp::kUnlockAllRead:
      return d->UnlockAllRead();
    case AgentOp::kTraverse: {
      uint64_t count = 0;
      Status st = d->Traverse(nullptr, &count);
      *out = std::to_string(count);
      return st;
    }
    case AgentOp::kCheck:
      return d->Check();
  }
  return Status(Error::kEinval, "unknown agent command");
}

uint64_t SeedOf(const std::string& path) {
  uint64_t seed = 0;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (pread(fd, &seed, sizeof(seed), offsetof(format::Header, hash_seed)) !=
        ssize_t(sizeof(seed))) {
      seed = 0;
    }
    close(fd);
  }
  return seed;
}

unsigned GroupOf(std::string_view key, uint64_t seed) {
  return unsigned(JenkinsHash64(key.data(), key.size(), seed) >> (64 - format::kTopGroupBits));
}

std::string FindKey(const std::string& path, std::string_view near, bool same) {
  const uint64_t seed = SeedOf(path);
  const unsigned group = GroupOf(near, seed);
  // One key in 128 shares a group: about 128 tries find one.
  for (unsigned i = 0;; i++) {
    std::string key = "probe-" + std::to_string(i);
    if (key != near && (GroupOf(key, seed) == group) == same) return key;
  }
}

[[noreturn]] void RunChild() {
  signal(SIGALRM, SIG_DFL);  // not the parent's test deadline
  alarm(LockAgent::kLifeSeconds);
  std::unique_ptr<Db> db;
  for (;;) {
    RequestHeader req;
    std::string key, data, out;
    if (!ReadAll(kChildIn, &req, sizeof(req)) || !ReadString(kChildIn, req.key_len, &key) ||
        !ReadString(kChildIn, req.data_len, &data)) {
      _exit(0);  // the parent is done with us
    }
    const Status st = Execute(req.op, key, data, &db, &out);
    const ReplyHeader reply{int32_t(st.code()), uint8_t(st.IsWouldBlock()), uint32_t(out.size())};
    if (!WriteAll(kChildOut, &reply, sizeof(reply)) ||
        !WriteAll(kChildOut, out.data(), out.size())) {
      _exit(1);
    }
  }
}

}  // namespace

std::string AgentReply::ToString() const {
  if (died) return "agent died";
  std::string s = ErrorString(code);
  if (would_block) s += " (would block)";
  return s;
}

LockAgent::LockAgent() {
  int down[2], up[2];
  if (pipe(down) != 0) return;
  if (pipe(up) != 0) {
    close(down[0]);
    close(down[1]);
    return;
  }
  pid_ = fork();
  if (pid_ == 0) {
    // Out of the way of the numbers they move to, then into place.
    const int in = fcntl(down[0], F_DUPFD, 16);
    const int out = fcntl(up[1], F_DUPFD, 16);
    if (in < 0 || out < 0 || dup2(in, kChildIn) < 0 || dup2(out, kChildOut) < 0) _exit(1);
    close_range(kChildOut + 1, ~0u, 0);
    RunChild();
  }
  close(down[0]);
  close(up[1]);
  if (pid_ < 0) {
    close(down[1]);
    close(up[0]);
    return;
  }
  to_child_ = down[1];
  from_child_ = up[0];
}

LockAgent::~LockAgent() {
  Kill();
  if (to_child_ >= 0) close(to_child_);
  if (from_child_ >= 0) close(from_child_);
}

bool LockAgent::Send(AgentOp op, std::string_view key, std::string_view data) {
  if (to_child_ < 0) return false;
  const RequestHeader req{op, uint32_t(key.size()), uint32_t(data.size())};
  // A dead child must give false here, not SIGPIPE.
  struct sigaction ignore = {}, old;
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old);
  const bool sent = WriteAll(to_child_, &req, sizeof(req)) &&
                    WriteAll(to_child_, key.data(), key.size()) &&
                    WriteAll(to_child_, data.data(), data.size());
  sigaction(SIGPIPE, &old, nullptr);
  return sent;
}

bool LockAgent::SendOpen(const std::string& name, const AgentOpenOptions& options) {
  return Send(AgentOp::kOpen, name,
              std::string_view(reinterpret_cast<const char*>(&options), sizeof(options)));
}

std::optional<AgentReply> LockAgent::Poll(int timeout_ms) {
  AgentReply reply;
  reply.died = true;
  if (from_child_ < 0) return reply;
  struct pollfd p = {from_child_, POLLIN, 0};
  int n;
  do {
    n = poll(&p, 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return std::nullopt;
  ReplyHeader h;
  // Once the first byte is there, the rest follows: the child writes a reply in one go.
  if (n < 0 || !ReadAll(from_child_, &h, sizeof(h)) ||
      !ReadString(from_child_, h.data_len, &reply.data)) {
    reply.data.clear();
    return reply;
  }
  reply.died = false;
  reply.code = Error(h.code);
  reply.would_block = h.would_block != 0;
  return reply;
}

AgentReply LockAgent::Do(AgentOp op, std::string_view key, std::string_view data) {
  AgentReply dead;
  dead.died = true;
  if (!Send(op, key, data)) return dead;
  std::optional<AgentReply> reply = Poll(kAnswerMs);
  return reply ? *reply : dead;
}

AgentReply LockAgent::Open(const std::string& name, const AgentOpenOptions& options) {
  AgentReply dead;
  dead.died = true;
  if (!SendOpen(name, options)) return dead;
  std::optional<AgentReply> reply = Poll(kAnswerMs);
  return reply ? *reply : dead;
}

void LockAgent::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  Reap();
}

void LockAgent::Reap() {
  int status;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

unsigned HashGroupOf(const std::string& path, std::string_view key) {
  return GroupOf(key, SeedOf(path));
}

void SetTestDeadline(unsigned seconds) {
  struct sigaction on_alarm = {};
  on_alarm.sa_handler = [](int) {
    static const char kMessage[] = "test deadline passed: a lock wait never ended\n";
    (void)!write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
    _exit(3);
  };
  sigemptyset(&on_alarm.sa_mask);
  if (seconds > 0) sigaction(SIGALRM, &on_alarm, nullptr);
  alarm(seconds);
}

std::string KeyInGroupOf(const std::string& path, std::string_view near) {
  return FindKey(path, near, true);
}

std::string KeyOutsideGroupOf(const std::string& path, std::string_view near) {
  return FindKey(path, near, false);
}

Status ClearIfFirstHook(int fd) {
  constexpr uint64_t kActiveByte = 4;
  if (FcntlLock(fd, F_WRLCK, kActiveByte, 1, false) == 0) {
    if (ftruncate(fd, 0) != 0) return Status(Error::kIo, strerror(errno));
  }
  // Converts our write lock, or joins the other openers' read locks.
  if (FcntlLock(fd, F_RDLCK, kActiveByte, 1, true) != 0) {
    return Status(Error::kLock, strerror(errno));
  }
  return Status::OK();
}

}  // namespace ptdb::test
