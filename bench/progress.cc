#include "bench/progress.h"

#include <chrono>
#include <cstdio>

namespace ptdb {
namespace bench {
namespace {

std::chrono::steady_clock::time_point& Start() {
  static std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  return start;
}

}  // namespace

void StartProgressClock() { Start() = std::chrono::steady_clock::now(); }

std::string ElapsedStamp() {
  const auto elapsed = std::chrono::steady_clock::now() - Start();
  const long seconds =
      static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count());
  char text[32];
  std::snprintf(text, sizeof(text), "[%3ld:%02ld]", seconds / 60, seconds % 60);
  return text;
}

}  // namespace bench
}  // namespace ptdb
