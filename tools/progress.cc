#include "tools/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <utility>

namespace ptdb::cli {
namespace {

constexpr std::chrono::milliseconds kRedrawInterval(100);

}  // namespace

Progress::Progress(std::string label, std::string unit, uint64_t total)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() { Clear(); }

void Progress::Update(uint64_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  Draw(done);
}

void Progress::Draw(uint64_t done) {
  char line[160];
  int n;
  if (total_ != 0) {
    n = snprintf(line, sizeof(line), "%s: %" PRIu64 "/%" PRIu64 " %s (%u%%)", label_.c_str(), done,
                 total_, unit_.c_str(), unsigned(done * 100.0 / double(total_)));
  } else {
    n = snprintf(line, sizeof(line), "%s: %" PRIu64 " %s", label_.c_str(), done, unit_.c_str());
  }
  if (n < 0) return;
  const size_t len = std::min(size_t(n), sizeof(line) - 1);
  // Spaces over whatever is left of a longer previous line.
  const size_t pad = width_ > len ? width_ - len : 0;
  fprintf(stderr, "\r%s%*s", line, int(pad), "");
  fflush(stderr);
  width_ = len;
  drawn_ = true;
}

void Progress::Clear() {
  if (!drawn_) return;
  fprintf(stderr, "\r%*s\r", int(width_), "");
  fflush(stderr);
  drawn_ = false;
  width_ = 0;
}

}  // namespace ptdb::cli
