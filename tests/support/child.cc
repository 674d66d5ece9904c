#include "tests/support/child.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ptdb {

Child::Child(const std::function<int(Child&)>& body) {
  int down[2], up[2];
  if (pipe(down) != 0 || pipe(up) != 0) {
    ADD_FAILURE() << "pipe: " << strerror(errno);
    return;
  }
  pid_ = fork();
  if (pid_ == 0) {
    close(down[1]);
    close(up[0]);
    in_ = down[0];
    out_ = up[1];
    alarm(kLifeSeconds);
    _exit(body(*this));
  }
  close(down[0]);
  close(up[1]);
  in_ = up[0];
  out_ = down[1];
  if (pid_ < 0) ADD_FAILURE() << "fork: " << strerror(errno);
}

Child::~Child() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    Wait();
  }
  close(in_);
  close(out_);
}

void Child::Send(char c) { ASSERT_EQ(write(out_, &c, 1), 1) << strerror(errno); }

char Child::Receive(int timeout_ms) {
  pollfd p = {in_, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) != 1) return 0;
  char c;
  return read(in_, &c, 1) == 1 ? c : 0;
}

int Child::Wait() {
  int st = 0;
  const pid_t pid = pid_;
  pid_ = -1;
  if (pid <= 0 || waitpid(pid, &st, 0) != pid) return -1000;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

}  // namespace ptdb
