// For a test executable with threads on kMutex files: under ThreadSanitizer, turns off
// its deadlock detector, which aborts once a thread holds more than 64 mutexes (LockAll,
// Check and a commit hold one per hash group: 128). Races are still reported. Include it
// from one source file of the executable; PTDB_UNDER_TSAN tells the test it runs there.
#ifndef PTDB_TESTS_SUPPORT_TSAN_OPTIONS_H_
#define PTDB_TESTS_SUPPORT_TSAN_OPTIONS_H_

#if defined(__SANITIZE_THREAD__)  // gcc
#define PTDB_UNDER_TSAN 1
#elif defined(__has_feature)  // clang
#if __has_feature(thread_sanitizer)
#define PTDB_UNDER_TSAN 1
#endif
#endif

#if defined(PTDB_UNDER_TSAN)
extern "C" const char* __tsan_default_options() { return "detect_deadlocks=0"; }
#endif

#endif  // PTDB_TESTS_SUPPORT_TSAN_OPTIONS_H_
