// Error codes, their strings, and every way ptdb_open refuses (NULL with errno set).
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptdb/ptdb.h"
#include "tests/capi/harness.h"

struct LogCount {
  int calls;
  struct ptdb_context* last_ctx;
  enum ptdb_log_level last_level;
  enum PTDB_ERROR last_code;
  char last_message[256];
};

static void CountLog(struct ptdb_context* ctx, enum ptdb_log_level level, enum PTDB_ERROR code,
                     const char* message, void* data) {
  struct LogCount* log = data;
  log->calls++;
  log->last_ctx = ctx;
  log->last_level = level;
  log->last_code = code;
  snprintf(log->last_message, sizeof(log->last_message), "%s", message);
}

static union ptdb_attribute LogAttribute(struct LogCount* log) {
  union ptdb_attribute attr;
  memset(&attr, 0, sizeof(attr));
  attr.base.attr = PTDB_ATTRIBUTE_LOG;
  attr.log.fn = CountLog;
  attr.log.data = log;
  return attr;
}

// Opens `path` and expects failure with `expected_errno`.
static void ExpectOpenFails(const char* path, int ptdb_flags, int open_flags,
                            union ptdb_attribute* attrs, int expected_errno) {
  errno = 0;
  struct ptdb_context* ctx = ptdb_open(path, ptdb_flags, open_flags, 0600, attrs);
  CHECK(ctx == NULL);
  CHECK_EQ(errno, expected_errno);
  if (ctx != NULL) ptdb_close(ctx);
}

static void ErrorStringsAreTdb2s(void) {
  CHECK_STREQ(ptdb_errorstr(PTDB_SUCCESS), "Success");
  CHECK_STREQ(ptdb_errorstr(PTDB_ERR_CORRUPT), "Corrupt database");
  CHECK_STREQ(ptdb_errorstr(PTDB_ERR_IO), "IO Error");
  CHECK_STREQ(ptdb_errorstr(PTDB_ERR_LOCK), "Locking error");
  CHECK_STREQ(ptdb_errorstr(PTDB_ERR_OOM), "Out of memory");
  CHECK_STREQ(ptdb_errorstr(PTDB_ERR_EXISTS), "Record exists");
  CHECK_STREQ(ptdb_errorstr(PTDB_ERR_NOEXIST), "Record does not exist");
  CHECK_STREQ(ptdb_errorstr(PTDB_ERR_EINVAL), "Invalid parameter");
  CHECK_STREQ(ptdb_errorstr(PTDB_ERR_RDONLY), "write not permitted");
  CHECK_STREQ(ptdb_errorstr((enum PTDB_ERROR)(PTDB_ERR_LAST - 1)), "Invalid error code");
  CHECK_STREQ(ptdb_errorstr((enum PTDB_ERROR)1), "Invalid error code");
}

static void ErrorValuesAreTdb2s(void) {
  CHECK_EQ(PTDB_ERR_CORRUPT, -1);
  CHECK_EQ(PTDB_ERR_IO, -2);
  CHECK_EQ(PTDB_ERR_LOCK, -3);
  CHECK_EQ(PTDB_ERR_OOM, -4);
  CHECK_EQ(PTDB_ERR_EXISTS, -5);
  CHECK_EQ(PTDB_ERR_NOEXIST, -6);
  CHECK_EQ(PTDB_ERR_EINVAL, -7);
  CHECK_EQ(PTDB_ERR_RDONLY, -8);
  CHECK_EQ(PTDB_ERR_LAST, PTDB_ERR_RDONLY);
}

static void WriteOnlyIsRefusedBeforeTouchingTheFile(void) {
  const char* path = TestFile("wronly.tdb");
  ExpectOpenFails(path, PTDB_DEFAULT, O_WRONLY | O_CREAT, NULL, EINVAL);
  CHECK(access(path, F_OK) != 0);
}

static void UnknownFlagsAreRefused(void) {
  const char* path = TestFile("flags.tdb");
  ExpectOpenFails(path, 1, O_RDWR | O_CREAT, NULL, EINVAL);
  ExpectOpenFails(path, 16, O_RDWR | O_CREAT, NULL, EINVAL);  // TDB_CONVERT: not supported
  ExpectOpenFails(path, 1 << 20, O_RDWR | O_CREAT, NULL, EINVAL);
  ExpectOpenFails(path, PTDB_CANT_CHECK, O_RDWR | O_CREAT, NULL, EINVAL);  // output only
  ExpectOpenFails(path, -1, O_RDWR | O_CREAT, NULL, EINVAL);
}

static void RdonlyFlagNeedsORdonly(void) {
  ExpectOpenFails(TestFile("rdonly.tdb"), PTDB_RDONLY, O_RDWR | O_CREAT, NULL, EINVAL);
}

static void NullNameNeedsInternal(void) {
  ExpectOpenFails(NULL, PTDB_DEFAULT, O_RDWR | O_CREAT, NULL, EINVAL);
}

static void OpenSyscallErrnoIsKept(void) {
  ExpectOpenFails(TestFile("absent.tdb"), PTDB_DEFAULT, O_RDWR, NULL, ENOENT);
  ExpectOpenFails(TestFile("no-such-dir/x.tdb"), PTDB_DEFAULT, O_RDWR | O_CREAT, NULL, ENOENT);
  const char* dir = TestFile("a-directory");
  CHECK_EQ(mkdir(dir, 0700), 0);
  ExpectOpenFails(dir, PTDB_DEFAULT, O_RDWR, NULL, EISDIR);
  const char* existing = TestFile("exclusive.tdb");
  struct ptdb_context* ctx = ptdb_open(existing, PTDB_DEFAULT, O_RDWR | O_CREAT, 0600, NULL);
  CHECK(ctx != NULL);
  if (ctx != NULL) ptdb_close(ctx);
  ExpectOpenFails(existing, PTDB_DEFAULT, O_RDWR | O_CREAT | O_EXCL, NULL, EEXIST);
}

static void NotADatabaseIsEio(void) {
  const char* empty = TestFile("empty.tdb");
  FILE* f = fopen(empty, "w");
  CHECK(f != NULL);
  if (f != NULL) fclose(f);
  // Empty without O_CREAT: not a database (with O_CREAT it would be initialised).
  ExpectOpenFails(empty, PTDB_DEFAULT, O_RDWR, NULL, EIO);

  const char* garbage = TestFile("garbage.tdb");
  f = fopen(garbage, "w");
  CHECK(f != NULL);
  if (f != NULL) {
    for (int i = 0; i < 20000; i++) fputc('x', f);
    fclose(f);
  }
  ExpectOpenFails(garbage, PTDB_DEFAULT, O_RDWR, NULL, EIO);
  ExpectOpenFails(garbage, PTDB_DEFAULT, O_RDONLY, NULL, EIO);
}

static void SeedNeedsOCreat(void) {
  const char* path = TestFile("seeded.tdb");
  struct ptdb_context* ctx = ptdb_open(path, PTDB_DEFAULT, O_RDWR | O_CREAT, 0600, NULL);
  CHECK(ctx != NULL);
  if (ctx != NULL) ptdb_close(ctx);
  union ptdb_attribute seed;
  memset(&seed, 0, sizeof(seed));
  seed.base.attr = PTDB_ATTRIBUTE_SEED;
  seed.seed.seed = 42;
  ExpectOpenFails(path, PTDB_DEFAULT, O_RDWR, &seed, EINVAL);
}

static void StatsAndUnknownAttributesAreRefusedAtOpen(void) {
  struct LogCount log = {0};
  union ptdb_attribute attrs[2];
  attrs[0] = LogAttribute(&log);
  memset(&attrs[1], 0, sizeof(attrs[1]));
  attrs[1].base.attr = PTDB_ATTRIBUTE_STATS;
  attrs[1].stats.size = sizeof(attrs[1].stats);
  attrs[0].base.next = &attrs[1];
  const char* path = TestFile("attrs.tdb");
  ExpectOpenFails(path, PTDB_DEFAULT, O_RDWR | O_CREAT, &attrs[0], EINVAL);
  CHECK_EQ(log.calls, 1);
  CHECK_EQ(log.last_level, PTDB_LOG_USE_ERROR);
  CHECK_EQ(log.last_code, PTDB_ERR_EINVAL);
  CHECK(strstr(log.last_message, "PTDB_ATTRIBUTE_STATS") != NULL);

  attrs[1].base.attr = (enum ptdb_attribute_type)99;
  ExpectOpenFails(path, PTDB_DEFAULT, O_RDWR | O_CREAT, &attrs[0], EINVAL);
  CHECK_EQ(log.calls, 2);
  CHECK(access(path, F_OK) != 0);
}

static void OpenFailureIsLoggedWithTheContext(void) {
  struct LogCount log = {0};
  union ptdb_attribute attr = LogAttribute(&log);
  ExpectOpenFails(TestFile("absent2.tdb"), PTDB_DEFAULT, O_RDWR, &attr, ENOENT);
  CHECK_EQ(log.calls, 1);
  CHECK(log.last_ctx != NULL);
  CHECK_EQ(log.last_level, PTDB_LOG_ERROR);
  CHECK_EQ(log.last_code, PTDB_ERR_IO);
  CHECK(strstr(log.last_message, "absent2.tdb") != NULL);
}

static void InvalidStoreFlagIsEinval(void) {
  struct ptdb_context* ctx = ptdb_open(NULL, PTDB_INTERNAL, O_RDWR, 0, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  const struct ptdb_data key = ptdb_mkdata("k", 1);
  CHECK_EQ(ptdb_store(ctx, key, key, 0), PTDB_ERR_EINVAL);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_EINVAL);
  CHECK_EQ(ptdb_store(ctx, key, key, 4), PTDB_ERR_EINVAL);
  CHECK(!ptdb_exists(ctx, key));
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  ptdb_close(ctx);
}

int main(void) {
  RUN(ErrorStringsAreTdb2s);
  RUN(ErrorValuesAreTdb2s);
  RUN(WriteOnlyIsRefusedBeforeTouchingTheFile);
  RUN(UnknownFlagsAreRefused);
  RUN(RdonlyFlagNeedsORdonly);
  RUN(NullNameNeedsInternal);
  RUN(OpenSyscallErrnoIsKept);
  RUN(NotADatabaseIsEio);
  RUN(SeedNeedsOCreat);
  RUN(StatsAndUnknownAttributesAreRefusedAtOpen);
  RUN(OpenFailureIsLoggedWithTheContext);
  RUN(InvalidStoreFlagIsEinval);
  return Summary();
}
