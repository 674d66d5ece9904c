// What the fuzz target does with each input, shared with the corpus replay test so that
// every input that once broke the library is checked on every build, not only by chance.
#ifndef PTDB_TESTS_FUZZ_EXERCISE_H_
#define PTDB_TESTS_FUZZ_EXERCISE_H_

#include <string>

namespace ptdb::test {

// Rescues the file at path without opening it, then opens it (open_flags, flags) and runs
// check, rescue, traverse, first/next key, fetches and, when writable, a
// store/append/delete. Ignores every Status: the point is that none of it crashes, hangs
// or trips a sanitizer.
void ExerciseDatabase(const std::string& path, int open_flags, unsigned flags);

}  // namespace ptdb::test

#endif  // PTDB_TESTS_FUZZ_EXERCISE_H_
