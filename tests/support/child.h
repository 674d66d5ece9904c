// A forked child running body(*this), with a pipe each way, for tests of what one process
// sees of another's locks. alarm() ends the child's life if the parent never tells it to
// finish, so a lost lock fails a test instead of hanging it.
#ifndef PTDB_TESTS_SUPPORT_CHILD_H_
#define PTDB_TESTS_SUPPORT_CHILD_H_

#include <sys/types.h>

#include <functional>

namespace ptdb {

class Child {
 public:
  static constexpr unsigned kLifeSeconds = 60;
  // How long a party waits for a message it must get: a bug fails the test at this bound.
  static constexpr int kReplyMs = 20000;

  explicit Child(const std::function<int(Child&)>& body);
  // Kills the child if it is still running.
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // Sends one byte to the other side (a test failure if it cannot).
  void Send(char c);
  // The next byte from the other side, or 0 after timeout_ms (-1: no limit) or at EOF.
  char Receive(int timeout_ms = kReplyMs);
  // The exit status, or minus the signal that ended the child.
  int Wait();

 private:
  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
};

}  // namespace ptdb

#endif  // PTDB_TESTS_SUPPORT_CHILD_H_
