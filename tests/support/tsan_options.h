// For a test executable with threads on kMutex files: under ThreadSanitizer, turns off
// its deadlock detector, which aborts once a thread holds more than 64 mutexes (LockAll,
// Check and a commit hold one per hash group: 128). Races are still reported. Include it
// from one source file of the executable.
#ifndef PTDB_TESTS_SUPPORT_TSAN_OPTIONS_H_
#define PTDB_TESTS_SUPPORT_TSAN_OPTIONS_H_

#include "common/sanitizers.h"

#if PTDB_TSAN
extern "C" const char* __tsan_default_options() { return "detect_deadlocks=0"; }
#endif

#endif  // PTDB_TESTS_SUPPORT_TSAN_OPTIONS_H_
