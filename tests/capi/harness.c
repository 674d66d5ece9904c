#define _XOPEN_SOURCE 700
#include "tests/capi/harness.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cases_passed;
static int cases_failed;
static int failures_in_case;
static const char* current_case = "(no case)";

static char* test_dir;
static char** paths;
static size_t num_paths;

static void Fail(const char* file, int line) {
  failures_in_case++;
  fprintf(stderr, "%s:%d: in %s: ", file, line, current_case);
}

bool CheckTrue(bool ok, const char* text, const char* file, int line) {
  if (!ok) {
    Fail(file, line);
    fprintf(stderr, "expected %s\n", text);
  }
  return ok;
}

bool CheckEqual(long long a, long long b, const char* a_text, const char* b_text, const char* file,
                int line) {
  if (a != b) {
    Fail(file, line);
    fprintf(stderr, "expected %s == %s, got %lld and %lld\n", a_text, b_text, a, b);
  }
  return a == b;
}

bool CheckStringEqual(const char* a, const char* b, const char* a_text, const char* b_text,
                      const char* file, int line) {
  const bool ok = a != NULL && b != NULL && strcmp(a, b) == 0;
  if (!ok) {
    Fail(file, line);
    fprintf(stderr, "expected %s == %s, got \"%s\" and \"%s\"\n", a_text, b_text, a ? a : "(null)",
            b ? b : "(null)");
  }
  return ok;
}

void RunCase(const char* name, void (*fn)(void)) {
  current_case = name;
  failures_in_case = 0;
  fn();
  if (failures_in_case == 0) {
    cases_passed++;
  } else {
    cases_failed++;
    fprintf(stderr, "FAILED: %s\n", name);
  }
}

static const char* BaseDir(void) {
  struct stat st;
  const char* env = getenv("PTDB_TEST_DIR");
  if (env != NULL) return env;
  if (stat("/dev/shm", &st) == 0) return "/dev/shm";
  env = getenv("TMPDIR");
  return env != NULL ? env : "/tmp";
}

static const char* TestDir(void) {
  if (test_dir == NULL) {
    const char* base = BaseDir();
    test_dir = malloc(strlen(base) + sizeof("/ptdb-capi-XXXXXX"));
    if (test_dir == NULL) abort();
    sprintf(test_dir, "%s/ptdb-capi-XXXXXX", base);
    if (mkdtemp(test_dir) == NULL) {
      perror("mkdtemp");
      abort();
    }
  }
  return test_dir;
}

const char* TestFile(const char* name) {
  const char* dir = TestDir();
  char* path = malloc(strlen(dir) + strlen(name) + 2);
  char** grown = realloc(paths, (num_paths + 1) * sizeof(*paths));
  if (path == NULL || grown == NULL) abort();
  sprintf(path, "%s/%s", dir, name);
  paths = grown;
  paths[num_paths++] = path;
  return path;
}

static int RemoveOne(const char* path, const struct stat* st, int type, struct FTW* ftw) {
  (void)st;
  (void)type;
  (void)ftw;
  return remove(path);
}

int Summary(void) {
  if (test_dir != NULL) {
    nftw(test_dir, RemoveOne, 16, FTW_DEPTH | FTW_PHYS);
    free(test_dir);
    test_dir = NULL;
  }
  for (size_t i = 0; i < num_paths; i++) free(paths[i]);
  free(paths);
  paths = NULL;
  num_paths = 0;
  printf("%d passed, %d failed\n", cases_passed, cases_failed);
  return cases_failed == 0 && cases_passed > 0 ? 0 : 1;
}
