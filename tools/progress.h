// A one-line progress indicator for long commands (check, dump, restore, repack).
//
// It draws on stderr only when stderr is a terminal, so pipes, logs and scripts see
// nothing; the line is redrawn in place with '\r' at most ten times a second and erased
// when the work ends, leaving the terminal as it was.
#ifndef PTDB_TOOLS_PROGRESS_H_
#define PTDB_TOOLS_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace ptdb::cli {

class Progress {
 public:
  // `total` 0 means unknown: only the count is shown.
  Progress(std::string label, std::string unit, uint64_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool enabled() const { return enabled_; }
  void Update(uint64_t done);
  // Erases the line (also done by the destructor); call before printing anything else.
  void Clear();

 private:
  void Draw(uint64_t done);

  const std::string label_;
  const std::string unit_;
  const uint64_t total_;
  const bool enabled_;
  bool drawn_ = false;
  size_t width_ = 0;  // of the line on screen
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace ptdb::cli

#endif  // PTDB_TOOLS_PROGRESS_H_
