// Which sanitizer the build runs under: code that ThreadSanitizer cannot follow (fences,
// robust mutexes taken by a dead owner, reads that race by design) tells it so, and tests
// of deliberate misuse it would report step aside. GCC says so one way, Clang another.
#ifndef PTDB_COMMON_SANITIZERS_H_
#define PTDB_COMMON_SANITIZERS_H_

#if defined(__SANITIZE_THREAD__)
#define PTDB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PTDB_TSAN 1
#endif
#endif

#ifndef PTDB_TSAN
#define PTDB_TSAN 0
#endif

#endif  // PTDB_COMMON_SANITIZERS_H_
