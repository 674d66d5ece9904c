// The supervisor: it alone creates the database, forks, kills and restarts children, and
// at the end knows enough (the shared counts, the kills) to judge the database it finds.
#ifndef PTDB_TOOLS_TORTURE_PARENT_H_
#define PTDB_TOOLS_TORTURE_PARENT_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "tools/torture/config.h"
#include "tools/torture/shared_state.h"

namespace ptdb::torture {

// ---------------------------------------------------------------------------------------
// The parent.

class Parent {
 public:
  explicit Parent(const Config& cfg);
  ~Parent();

  int Run();

 private:
  bool Create();
  void Start(unsigned slot);
  uint64_t Done() const;
  bool Running() const;
  // Reaps whatever exited; false once a child failed.
  bool Reap();
  // Picks a running child to die: at once, or at its next point between API calls.
  void KillOne();
  // After a kill: notes the increments the dead process may have stored, and starts a
  // new process for its loops unless they are done.
  void Replace(unsigned slot);
  void ReportStall();
  // Runs the children to the end; false if one failed or all stopped making progress.
  bool Supervise();
  // Kills come at random moments, kill_interval_ms apart on average.
  std::chrono::microseconds KillDelay();
  bool FinalCheck();

  const Config& cfg_;
  std::mt19937_64 rng_;
  Shared* shared_ = nullptr;
  std::vector<pid_t> pids_;
  std::vector<unsigned> generation_;
  uint64_t kills_ = 0;
  uint64_t kills_in_transactions_ = 0;  // --kill-in-transactions: signalled inside one
  bool start_failed_ = false;
};

}  // namespace ptdb::torture

#endif  // PTDB_TOOLS_TORTURE_PARENT_H_
