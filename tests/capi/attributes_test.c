// Attributes: log, hash, seed, stats (with its size negotiation) and the open hook, at
// open and through ptdb_get_attribute / ptdb_set_attribute / ptdb_unset_attribute.
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptdb/ptdb.h"
#include "tests/capi/harness.h"

static struct ptdb_data Str(const char* s) { return ptdb_mkdata(s, strlen(s)); }

static union ptdb_attribute Attribute(enum ptdb_attribute_type type) {
  union ptdb_attribute attr;
  memset(&attr, 0, sizeof(attr));
  attr.base.attr = type;
  return attr;
}

struct LogSeen {
  int calls;
  struct ptdb_context* ctx;
  enum ptdb_log_level level;
  enum PTDB_ERROR code;
  char message[256];
};

static void RecordLog(struct ptdb_context* ctx, enum ptdb_log_level level, enum PTDB_ERROR code,
                      const char* message, void* data) {
  struct LogSeen* seen = data;
  seen->calls++;
  seen->ctx = ctx;
  seen->level = level;
  seen->code = code;
  snprintf(seen->message, sizeof(seen->message), "%s", message);
}

static void LogCanBeGotSetAndUnset(void) {
  struct ptdb_context* ctx = ptdb_open(NULL, PTDB_INTERNAL, O_RDWR, 0, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  union ptdb_attribute got = Attribute(PTDB_ATTRIBUTE_LOG);
  CHECK_EQ(ptdb_get_attribute(ctx, &got), PTDB_ERR_NOEXIST);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_NOEXIST);

  struct LogSeen seen = {0, NULL, PTDB_LOG_ERROR, PTDB_SUCCESS, ""};
  union ptdb_attribute log = Attribute(PTDB_ATTRIBUTE_LOG);
  log.log.fn = RecordLog;
  log.log.data = &seen;
  CHECK_EQ(ptdb_set_attribute(ctx, &log), PTDB_SUCCESS);
  got = Attribute(PTDB_ATTRIBUTE_LOG);
  got.base.next = &log;
  CHECK_EQ(ptdb_get_attribute(ctx, &got), PTDB_SUCCESS);
  CHECK(got.log.fn == RecordLog);
  CHECK(got.log.data == &seen);
  CHECK(got.base.next == NULL);

  // A use error reaches the log function with this context.
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("v"), 99), PTDB_ERR_EINVAL);
  CHECK_EQ(seen.calls, 1);
  CHECK(seen.ctx == ctx);
  CHECK_EQ(seen.level, PTDB_LOG_USE_ERROR);
  CHECK_EQ(seen.code, PTDB_ERR_EINVAL);
  CHECK(strlen(seen.message) > 0);
  // Answers are not errors.
  struct ptdb_data data;
  CHECK_EQ(ptdb_fetch(ctx, Str("absent"), &data), PTDB_ERR_NOEXIST);
  CHECK_EQ(seen.calls, 1);

  ptdb_unset_attribute(ctx, PTDB_ATTRIBUTE_LOG);
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  CHECK_EQ(ptdb_get_attribute(ctx, &got), PTDB_ERR_NOEXIST);
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("v"), 99), PTDB_ERR_EINVAL);
  CHECK_EQ(seen.calls, 1);
  ptdb_close(ctx);
}

static void OnlyLogCanBeSetAfterOpen(void) {
  struct LogSeen seen = {0, NULL, PTDB_LOG_ERROR, PTDB_SUCCESS, ""};
  union ptdb_attribute log = Attribute(PTDB_ATTRIBUTE_LOG);
  log.log.fn = RecordLog;
  log.log.data = &seen;
  struct ptdb_context* ctx = ptdb_open(NULL, PTDB_INTERNAL, O_RDWR, 0, &log);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  const enum ptdb_attribute_type fixed[] = {PTDB_ATTRIBUTE_HASH, PTDB_ATTRIBUTE_SEED,
                                            PTDB_ATTRIBUTE_STATS, PTDB_ATTRIBUTE_OPENHOOK,
                                            (enum ptdb_attribute_type)77};
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
    const union ptdb_attribute attr = Attribute(fixed[i]);
    CHECK_EQ(ptdb_set_attribute(ctx, &attr), PTDB_ERR_EINVAL);
    CHECK_EQ(seen.calls, (int)(i + 1));
    CHECK_EQ(seen.level, PTDB_LOG_USE_ERROR);
  }
  ptdb_unset_attribute(ctx, PTDB_ATTRIBUTE_HASH);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_EINVAL);
  ptdb_unset_attribute(ctx, PTDB_ATTRIBUTE_SEED);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_EINVAL);
  ptdb_unset_attribute(ctx, PTDB_ATTRIBUTE_STATS);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_EINVAL);
  ptdb_unset_attribute(ctx, (enum ptdb_attribute_type)77);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_EINVAL);
  union ptdb_attribute unknown = Attribute((enum ptdb_attribute_type)77);
  CHECK_EQ(ptdb_get_attribute(ctx, &unknown), PTDB_ERR_EINVAL);
  ptdb_close(ctx);
}

// A seeded FNV-1a, a hash the library does not know; counts its calls.
static uint64_t Fnv(const void* key, size_t len, uint64_t seed, void* data) {
  const unsigned char* p = key;
  uint64_t h = 14695981039346656037ULL ^ seed;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  ++*(int*)data;
  return h;
}

static void CustomHashIsUsedAndChecked(void) {
  const char* path = TestFile("hash.tdb");
  int calls = 0;
  union ptdb_attribute hash = Attribute(PTDB_ATTRIBUTE_HASH);
  hash.hash.fn = Fnv;
  hash.hash.data = &calls;
  struct ptdb_context* ctx = ptdb_open(path, PTDB_DEFAULT, O_RDWR | O_CREAT, 0600, &hash);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  const int after_open = calls;
  CHECK(after_open > 0);  // the header's hash check value
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("v"), PTDB_REPLACE), PTDB_SUCCESS);
  CHECK(ptdb_exists(ctx, Str("k")));
  CHECK(calls >= after_open + 2);
  union ptdb_attribute got = Attribute(PTDB_ATTRIBUTE_HASH);
  CHECK_EQ(ptdb_get_attribute(ctx, &got), PTDB_SUCCESS);
  CHECK(got.hash.fn == Fnv);
  CHECK(got.hash.data == &calls);
  ptdb_close(ctx);

  // The file was made with another hash: the default one must be refused.
  struct LogSeen seen = {0, NULL, PTDB_LOG_ERROR, PTDB_SUCCESS, ""};
  union ptdb_attribute log = Attribute(PTDB_ATTRIBUTE_LOG);
  log.log.fn = RecordLog;
  log.log.data = &seen;
  errno = 0;
  CHECK(ptdb_open(path, PTDB_DEFAULT, O_RDWR, 0, &log) == NULL);
  CHECK(errno != 0);
  CHECK_EQ(seen.calls, 1);
  CHECK(strstr(seen.message, "hash") != NULL);

  ctx = ptdb_open(path, PTDB_DEFAULT, O_RDWR, 0, &hash);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  CHECK(ptdb_exists(ctx, Str("k")));
  ptdb_close(ctx);
}

static void DefaultHashCanBeGotAndGivenBack(void) {
  const char* path = TestFile("default-hash.tdb");
  struct ptdb_context* ctx = ptdb_open(path, PTDB_DEFAULT, O_RDWR | O_CREAT, 0600, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("v"), PTDB_REPLACE), PTDB_SUCCESS);
  union ptdb_attribute got = Attribute(PTDB_ATTRIBUTE_HASH);
  CHECK_EQ(ptdb_get_attribute(ctx, &got), PTDB_SUCCESS);
  CHECK(got.hash.fn != NULL && got.hash.fn != Fnv);
  ptdb_close(ctx);
  if (got.hash.fn == NULL) return;

  // Reopening with the function handed back passes the header's hash check.
  ctx = ptdb_open(path, PTDB_DEFAULT, O_RDWR, 0, &got);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  CHECK(ptdb_exists(ctx, Str("k")));
  ptdb_close(ctx);
  int calls = 0;
  union ptdb_attribute other = Attribute(PTDB_ATTRIBUTE_HASH);
  other.hash.fn = Fnv;
  other.hash.data = &calls;
  CHECK(ptdb_open(path, PTDB_DEFAULT, O_RDWR, 0, &other) == NULL);
}

static void SeedIsStoredAndReported(void) {
  const char* path = TestFile("seed.tdb");
  union ptdb_attribute seed = Attribute(PTDB_ATTRIBUTE_SEED);
  seed.seed.seed = 0x0123456789abcdefULL;
  struct ptdb_context* ctx = ptdb_open(path, PTDB_DEFAULT, O_RDWR | O_CREAT, 0600, &seed);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  union ptdb_attribute got = Attribute(PTDB_ATTRIBUTE_SEED);
  CHECK_EQ(ptdb_get_attribute(ctx, &got), PTDB_SUCCESS);
  CHECK(got.seed.seed == 0x0123456789abcdefULL);
  ptdb_close(ctx);

  ctx = ptdb_open(path, PTDB_DEFAULT, O_RDONLY, 0, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  got = Attribute(PTDB_ATTRIBUTE_SEED);
  CHECK_EQ(ptdb_get_attribute(ctx, &got), PTDB_SUCCESS);
  CHECK(got.seed.seed == 0x0123456789abcdefULL);
  ptdb_close(ctx);

  // With a custom hash too, the seed reported is the one given at creation.
  int calls = 0;
  union ptdb_attribute hash = Attribute(PTDB_ATTRIBUTE_HASH);
  hash.hash.fn = Fnv;
  hash.hash.data = &calls;
  seed.seed.seed = 7;
  seed.base.next = &hash;
  const char* other = TestFile("seed-hash.tdb");
  ctx = ptdb_open(other, PTDB_DEFAULT, O_RDWR | O_CREAT, 0600, &seed);
  CHECK(ctx != NULL);
  if (ctx != NULL) ptdb_close(ctx);
  ctx = ptdb_open(other, PTDB_DEFAULT, O_RDWR, 0, &hash);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  got = Attribute(PTDB_ATTRIBUTE_SEED);
  CHECK_EQ(ptdb_get_attribute(ctx, &got), PTDB_SUCCESS);
  CHECK_EQ(got.seed.seed, 7);
  ptdb_close(ctx);
}

static void InternalSeedIsReported(void) {
  union ptdb_attribute seed = Attribute(PTDB_ATTRIBUTE_SEED);
  seed.seed.seed = 99;
  struct ptdb_context* ctx = ptdb_open(NULL, PTDB_INTERNAL, O_RDWR, 0, &seed);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  union ptdb_attribute got = Attribute(PTDB_ATTRIBUTE_SEED);
  CHECK_EQ(ptdb_get_attribute(ctx, &got), PTDB_SUCCESS);
  CHECK_EQ(got.seed.seed, 99);
  ptdb_close(ctx);

  ctx = ptdb_open(NULL, PTDB_INTERNAL, O_RDWR, 0, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_get_attribute(ctx, &got), PTDB_SUCCESS);
  ptdb_close(ctx);
}

static struct ptdb_context* OpenWithRecords(const char* name, int records, int deletes) {
  struct ptdb_context* ctx =
      ptdb_open(TestFile(name), PTDB_DEFAULT, O_RDWR | O_CREAT | O_TRUNC, 0600, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return NULL;
  for (int i = 0; i < records; i++) {
    char key[16];
    snprintf(key, sizeof(key), "key%d", i);
    CHECK_EQ(ptdb_store(ctx, Str(key), Str("value"), PTDB_INSERT), PTDB_SUCCESS);
  }
  for (int i = 0; i < deletes; i++) {
    char key[16];
    snprintf(key, sizeof(key), "key%d", i);
    CHECK_EQ(ptdb_delete(ctx, Str(key)), PTDB_SUCCESS);
  }
  return ctx;
}

static void StatsCountOperations(void) {
  struct ptdb_context* ctx = OpenWithRecords("stats.tdb", 30, 10);
  if (ctx == NULL) return;
  union ptdb_attribute stats = Attribute(PTDB_ATTRIBUTE_STATS);
  stats.stats.size = sizeof(stats.stats);
  CHECK_EQ(ptdb_get_attribute(ctx, &stats), PTDB_SUCCESS);
  CHECK_EQ(stats.stats.size, sizeof(struct ptdb_attribute_stats));
  CHECK_EQ(stats.base.attr, PTDB_ATTRIBUTE_STATS);
  CHECK(stats.stats.allocs >= 30);
  CHECK(stats.stats.frees >= 10);
  CHECK(stats.stats.compares >= 10);
  ptdb_close(ctx);
}

static void StatsFromAnOlderCallerFillOnlyItsFields(void) {
  struct ptdb_context* ctx = OpenWithRecords("stats-small.tdb", 30, 10);
  if (ctx == NULL) return;
  union ptdb_attribute full = Attribute(PTDB_ATTRIBUTE_STATS);
  full.stats.size = sizeof(full.stats);
  CHECK_EQ(ptdb_get_attribute(ctx, &full), PTDB_SUCCESS);

  // An older caller knew only the first two counters.
  union ptdb_attribute small = Attribute(PTDB_ATTRIBUTE_STATS);
  memset(&small.stats.allocs, 0xAB,
         sizeof(small.stats) - offsetof(struct ptdb_attribute_stats, allocs));
  small.stats.size = offsetof(struct ptdb_attribute_stats, alloc_chain);
  CHECK_EQ(ptdb_get_attribute(ctx, &small), PTDB_SUCCESS);
  CHECK_EQ(small.stats.size, sizeof(struct ptdb_attribute_stats));
  CHECK(small.stats.allocs == full.stats.allocs);
  CHECK(small.stats.alloc_subhash == full.stats.alloc_subhash);
  CHECK(small.stats.alloc_chain == 0xABABABABABABABABULL);
  CHECK(small.stats.frees == 0xABABABABABABABABULL);
  CHECK(small.stats.record_moves == 0xABABABABABABABABULL);

  // A size too small to hold any counter fills none.
  union ptdb_attribute tiny = Attribute(PTDB_ATTRIBUTE_STATS);
  memset(&tiny.stats.allocs, 0xCD, sizeof(tiny.stats.allocs));
  tiny.stats.size = offsetof(struct ptdb_attribute_stats, allocs);
  CHECK_EQ(ptdb_get_attribute(ctx, &tiny), PTDB_SUCCESS);
  CHECK(tiny.stats.allocs == 0xCDCDCDCDCDCDCDCDULL);
  CHECK_EQ(tiny.stats.size, sizeof(struct ptdb_attribute_stats));
  ptdb_close(ctx);
}

static void StatsFromANewerCallerAreClamped(void) {
  struct ptdb_context* ctx = OpenWithRecords("stats-large.tdb", 30, 10);
  if (ctx == NULL) return;
  union ptdb_attribute full = Attribute(PTDB_ATTRIBUTE_STATS);
  full.stats.size = sizeof(full.stats);
  CHECK_EQ(ptdb_get_attribute(ctx, &full), PTDB_SUCCESS);

  // A newer caller's struct has counters this library does not know.
  struct {
    union ptdb_attribute attr;
    uint64_t newer[4];
  } large;
  memset(&large, 0, sizeof(large));
  large.attr.base.attr = PTDB_ATTRIBUTE_STATS;
  for (int i = 0; i < 4; i++) large.newer[i] = 0xEEEEEEEEEEEEEEEEULL;
  large.attr.stats.size = sizeof(struct ptdb_attribute_stats) + sizeof(large.newer);
  CHECK(large.attr.stats.size <= sizeof(large));
  CHECK_EQ(ptdb_get_attribute(ctx, &large.attr), PTDB_SUCCESS);
  CHECK_EQ(large.attr.stats.size, sizeof(struct ptdb_attribute_stats));
  CHECK(large.attr.stats.allocs == full.stats.allocs);
  CHECK(large.attr.stats.record_moves == full.stats.record_moves);
  int untouched = 0;
  for (int i = 0; i < 4; i++) untouched += large.newer[i] == 0xEEEEEEEEEEEEEEEEULL;
  CHECK_EQ(untouched, 4);
  ptdb_close(ctx);
}

struct Hook {
  int calls;
  int fd;
  bool fd_valid;
  bool truncate;
  enum PTDB_ERROR result;
};

static enum PTDB_ERROR OpenHook(int fd, void* data) {
  struct Hook* hook = data;
  struct stat st;
  hook->calls++;
  hook->fd = fd;
  hook->fd_valid = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (hook->truncate && ftruncate(fd, 0) != 0) return PTDB_ERR_IO;
  return hook->result;
}

static void OpenHookRunsWithTheFile(void) {
  const char* path = TestFile("hook.tdb");
  struct Hook hook = {0, -1, false, false, PTDB_SUCCESS};
  union ptdb_attribute attr = Attribute(PTDB_ATTRIBUTE_OPENHOOK);
  attr.openhook.fn = OpenHook;
  attr.openhook.data = &hook;
  struct ptdb_context* ctx = ptdb_open(path, PTDB_DEFAULT, O_RDWR | O_CREAT, 0600, &attr);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  CHECK_EQ(hook.calls, 1);
  CHECK(hook.fd_valid);
  CHECK_EQ(hook.fd, ptdb_fd(ctx));
  union ptdb_attribute got = Attribute(PTDB_ATTRIBUTE_OPENHOOK);
  CHECK_EQ(ptdb_get_attribute(ctx, &got), PTDB_SUCCESS);
  CHECK(got.openhook.fn == OpenHook);
  CHECK(got.openhook.data == &hook);
  ptdb_unset_attribute(ctx, PTDB_ATTRIBUTE_OPENHOOK);
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  CHECK_EQ(ptdb_get_attribute(ctx, &got), PTDB_ERR_NOEXIST);
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("v"), PTDB_REPLACE), PTDB_SUCCESS);
  ptdb_close(ctx);

  // Opened without a hook: NOEXIST.
  ctx = ptdb_open(path, PTDB_DEFAULT, O_RDWR, 0, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_get_attribute(ctx, &got), PTDB_ERR_NOEXIST);
  ptdb_close(ctx);
}

static void OpenHookCanClearTheFile(void) {
  // TDB1's CLEAR_IF_FIRST, emulated: the hook empties the file, which is then initialised.
  const char* path = TestFile("clear.tdb");
  struct ptdb_context* ctx = ptdb_open(path, PTDB_DEFAULT, O_RDWR | O_CREAT, 0600, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_store(ctx, Str("old"), Str("data"), PTDB_REPLACE), PTDB_SUCCESS);
  ptdb_close(ctx);

  struct Hook hook = {0, -1, false, true, PTDB_SUCCESS};
  union ptdb_attribute attr = Attribute(PTDB_ATTRIBUTE_OPENHOOK);
  attr.openhook.fn = OpenHook;
  attr.openhook.data = &hook;
  ctx = ptdb_open(path, PTDB_DEFAULT, O_RDWR, 0, &attr);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  CHECK_EQ(hook.calls, 1);
  CHECK(!ptdb_exists(ctx, Str("old")));
  CHECK_EQ(ptdb_store(ctx, Str("new"), Str("data"), PTDB_REPLACE), PTDB_SUCCESS);
  CHECK_EQ(ptdb_check(ctx, NULL, NULL), PTDB_SUCCESS);
  ptdb_close(ctx);
}

static void FailingOpenHookFailsTheOpen(void) {
  const char* path = TestFile("hook-fails.tdb");
  struct Hook hook = {0, -1, false, false, PTDB_ERR_IO};
  union ptdb_attribute attr = Attribute(PTDB_ATTRIBUTE_OPENHOOK);
  attr.openhook.fn = OpenHook;
  attr.openhook.data = &hook;
  errno = 0;
  CHECK(ptdb_open(path, PTDB_DEFAULT, O_RDWR | O_CREAT, 0600, &attr) == NULL);
  CHECK_EQ(errno, EIO);
  CHECK_EQ(hook.calls, 1);
  hook.result = PTDB_ERR_LOCK;
  errno = 0;
  CHECK(ptdb_open(path, PTDB_DEFAULT, O_RDWR | O_CREAT, 0600, &attr) == NULL);
  CHECK_EQ(errno, EWOULDBLOCK);
  CHECK_EQ(hook.calls, 2);
}

static void OpenHookIsNotCalledForInternal(void) {
  struct Hook hook = {0, -1, false, false, PTDB_SUCCESS};
  union ptdb_attribute attr = Attribute(PTDB_ATTRIBUTE_OPENHOOK);
  attr.openhook.fn = OpenHook;
  attr.openhook.data = &hook;
  struct ptdb_context* ctx = ptdb_open(NULL, PTDB_INTERNAL, O_RDWR, 0, &attr);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  CHECK_EQ(hook.calls, 0);
  ptdb_close(ctx);
}

int main(void) {
  RUN(LogCanBeGotSetAndUnset);
  RUN(OnlyLogCanBeSetAfterOpen);
  RUN(CustomHashIsUsedAndChecked);
  RUN(DefaultHashCanBeGotAndGivenBack);
  RUN(SeedIsStoredAndReported);
  RUN(InternalSeedIsReported);
  RUN(StatsCountOperations);
  RUN(StatsFromAnOlderCallerFillOnlyItsFields);
  RUN(StatsFromANewerCallerAreClamped);
  RUN(OpenHookRunsWithTheFile);
  RUN(OpenHookCanClearTheFile);
  RUN(FailingOpenHookFailsTheOpen);
  RUN(OpenHookIsNotCalledForInternal);
  return Summary();
}
