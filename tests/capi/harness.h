// A minimal harness for the C API's tests, which must be C (GoogleTest is C++).
//
// A test program is a list of cases: `RUN(CaseFunction)` for each, then
// `return Summary();`. Checks record a failure with its location and let the case go on;
// a case passes when none of its checks failed. Summary prints "N passed, M failed" and
// returns non-zero if anything failed (or nothing ran). Each program gets a fresh
// directory (PTDB_TEST_DIR, else /dev/shm, else $TMPDIR or /tmp), removed by Summary.
#ifndef PTDB_TESTS_CAPI_HARNESS_H_
#define PTDB_TESTS_CAPI_HARNESS_H_

#include <stdbool.h>

#define CHECK(cond) CheckTrue((cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ(a, b) CheckEqual((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)
#define CHECK_STREQ(a, b) CheckStringEqual((a), (b), #a, #b, __FILE__, __LINE__)
#define RUN(fn) RunCase(#fn, fn)

bool CheckTrue(bool ok, const char* text, const char* file, int line);
bool CheckEqual(long long a, long long b, const char* a_text, const char* b_text, const char* file,
                int line);
bool CheckStringEqual(const char* a, const char* b, const char* a_text, const char* b_text,
                      const char* file, int line);

void RunCase(const char* name, void (*fn)(void));
int Summary(void);

// A path to `name` in this program's test directory. The string lives until Summary.
const char* TestFile(const char* name);

#endif  // PTDB_TESTS_CAPI_HARNESS_H_
