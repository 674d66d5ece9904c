// The sequence number, check, rescue, summary, flags, name, fd and foreach.
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ptdb/ptdb.h"
#include "tests/capi/harness.h"

static struct ptdb_data Str(const char* s) { return ptdb_mkdata(s, strlen(s)); }

static struct ptdb_context* OpenFresh(const char* name, int flags) {
  struct ptdb_context* ctx =
      ptdb_open(TestFile(name), flags, O_RDWR | O_CREAT | O_TRUNC, 0600, NULL);
  CHECK(ctx != NULL);
  return ctx;
}

static void SeqnumCountsWritesOnlyWithTheFlag(void) {
  struct ptdb_context* ctx = OpenFresh("seqnum.tdb", PTDB_DEFAULT);
  if (ctx == NULL) return;
  const int64_t start = ptdb_get_seqnum(ctx);
  CHECK(start >= 0);
  CHECK_EQ(ptdb_store(ctx, Str("a"), Str("1"), PTDB_REPLACE), PTDB_SUCCESS);
  CHECK_EQ(ptdb_get_seqnum(ctx), start);

  ptdb_add_flag(ctx, PTDB_SEQNUM);
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  CHECK_EQ(ptdb_store(ctx, Str("a"), Str("2"), PTDB_REPLACE), PTDB_SUCCESS);
  CHECK_EQ(ptdb_get_seqnum(ctx), start + 1);
  CHECK_EQ(ptdb_append(ctx, Str("a"), Str("3")), PTDB_SUCCESS);
  CHECK_EQ(ptdb_get_seqnum(ctx), start + 2);
  CHECK_EQ(ptdb_delete(ctx, Str("a")), PTDB_SUCCESS);
  CHECK_EQ(ptdb_get_seqnum(ctx), start + 3);
  // Failed writes do not count.
  CHECK_EQ(ptdb_delete(ctx, Str("a")), PTDB_ERR_NOEXIST);
  CHECK_EQ(ptdb_get_seqnum(ctx), start + 3);
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  ptdb_close(ctx);

  ctx = OpenFresh("seqnum-open.tdb", PTDB_SEQNUM);
  if (ctx == NULL) return;
  const int64_t before = ptdb_get_seqnum(ctx);
  CHECK_EQ(ptdb_store(ctx, Str("b"), Str("1"), PTDB_INSERT), PTDB_SUCCESS);
  CHECK_EQ(ptdb_get_seqnum(ctx), before + 1);
  ptdb_close(ctx);
}

struct CheckSeen {
  int calls;
  int fail_at;  // 0: never fail
};

static enum PTDB_ERROR CountRecord(struct ptdb_data key, struct ptdb_data data, void* p) {
  struct CheckSeen* seen = p;
  seen->calls++;
  // Every value is "v" followed by its key.
  if (data.dsize != key.dsize + 1 || data.dptr[0] != 'v') return PTDB_ERR_CORRUPT;
  return seen->fail_at != 0 && seen->calls == seen->fail_at ? PTDB_ERR_EXISTS : PTDB_SUCCESS;
}

// Stores n records "k<i>" whose values are "v" followed by the key (as CountRecord wants).
static void StoreKeys(struct ptdb_context* ctx, int n) {
  for (int i = 0; i < n; i++) {
    char key[16], value[17];
    snprintf(key, sizeof(key), "k%d", i);
    snprintf(value, sizeof(value), "v%s", key);
    CHECK_EQ(ptdb_store(ctx, Str(key), Str(value), PTDB_INSERT), PTDB_SUCCESS);
  }
}

static void CheckCallsBackForEveryRecord(void) {
  struct ptdb_context* ctx = OpenFresh("check.tdb", PTDB_DEFAULT);
  if (ctx == NULL) return;
  StoreKeys(ctx, 50);
  struct CheckSeen seen = {0, 0};
  CHECK_EQ(ptdb_check(ctx, CountRecord, &seen), PTDB_SUCCESS);
  CHECK_EQ(seen.calls, 50);
  CHECK_EQ(ptdb_check(ctx, NULL, NULL), PTDB_SUCCESS);

  seen.calls = 0;
  seen.fail_at = 5;
  CHECK_EQ(ptdb_check(ctx, CountRecord, &seen), PTDB_ERR_EXISTS);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_EXISTS);
  CHECK_EQ(seen.calls, 5);
  ptdb_close(ctx);
}

static void RescueCallsBackAndReports(void) {
  struct ptdb_context* ctx = OpenFresh("rescue.tdb", PTDB_DEFAULT);
  if (ctx == NULL) return;
  StoreKeys(ctx, 40);
  struct CheckSeen seen = {0, 0};
  struct ptdb_rescue_report report;
  memset(&report, 0xff, sizeof(report));
  CHECK_EQ(ptdb_rescue(ctx, 0, CountRecord, &seen, &report), PTDB_SUCCESS);
  CHECK_EQ(seen.calls, 40);
  CHECK_EQ(report.records, 40);
  CHECK_EQ(report.lost_entries, 0);
  CHECK_EQ(report.duplicates, 0);
  CHECK_EQ(report.space_scanned, 1);
  CHECK_EQ(report.unreachable, 0);

  seen.calls = 0;
  seen.fail_at = 7;
  CHECK_EQ(ptdb_rescue(ctx, 0, CountRecord, &seen, NULL), PTDB_ERR_EXISTS);
  CHECK_EQ(seen.calls, 7);
  CHECK_EQ(ptdb_rescue(ctx, 0, NULL, NULL, NULL), PTDB_ERR_EINVAL);
  ptdb_close(ctx);
}

static int logged_calls;
static enum PTDB_ERROR logged_code;

static void NoteLog(struct ptdb_context* ctx, enum ptdb_log_level level, enum PTDB_ERROR code,
                    const char* message, void* data) {
  (void)level;
  (void)message;
  (void)data;
  CHECK(ctx == NULL);
  logged_calls++;
  logged_code = code;
}

static void RescueFileReadsAFileOpenRefuses(void) {
  struct ptdb_context* ctx = OpenFresh("rescue-file.tdb", PTDB_DEFAULT);
  if (ctx == NULL) return;
  StoreKeys(ctx, 30);
  ptdb_close(ctx);
  // Overwrite the first zone's record (the header's first_zone word is at byte 88).
  const char* path = TestFile("rescue-file.tdb");
  FILE* f = fopen(path, "r+b");
  CHECK(f != NULL);
  if (f == NULL) return;
  uint64_t first_zone = 0;
  CHECK(fseek(f, 88, SEEK_SET) == 0 && fread(&first_zone, 8, 1, f) == 1);
  const char junk[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  CHECK(fseek(f, (long)first_zone, SEEK_SET) == 0 && fwrite(junk, 1, sizeof(junk), f) == 16);
  fclose(f);
  CHECK(ptdb_open(path, PTDB_DEFAULT, O_RDONLY, 0, NULL) == NULL);

  struct CheckSeen seen = {0, 0};
  struct ptdb_rescue_report report;
  CHECK_EQ(ptdb_rescue_file(path, NULL, PTDB_RESCUE_UNREACHABLE, CountRecord, &seen, &report),
           PTDB_SUCCESS);
  CHECK_EQ(seen.calls, 30);
  CHECK_EQ(report.records, 30);
  CHECK_EQ(report.lost_entries, 0);
  CHECK_EQ(report.space_scanned, 0);

  union ptdb_attribute seed;
  memset(&seed, 0, sizeof(seed));
  seed.base.attr = PTDB_ATTRIBUTE_SEED;
  CHECK_EQ(ptdb_rescue_file(path, &seed, 0, CountRecord, &seen, NULL), PTDB_ERR_EINVAL);
  CHECK_EQ(ptdb_rescue_file(path, NULL, 0, NULL, NULL, NULL), PTDB_ERR_EINVAL);
  union ptdb_attribute log;
  memset(&log, 0, sizeof(log));
  log.base.attr = PTDB_ATTRIBUTE_LOG;
  log.log.fn = NoteLog;
  CHECK_EQ(ptdb_rescue_file(TestFile("no-such.tdb"), &log, 0, CountRecord, &seen, NULL),
           PTDB_ERR_IO);
  CHECK_EQ(logged_calls, 1);
  CHECK_EQ(logged_code, PTDB_ERR_IO);
}

static void SummaryIsAMallocdReport(void) {
  struct ptdb_context* ctx = OpenFresh("summary.tdb", PTDB_DEFAULT);
  if (ctx == NULL) return;
  for (int i = 0; i < 20; i++) {
    char key[16];
    snprintf(key, sizeof(key), "key%d", i);
    CHECK_EQ(ptdb_store(ctx, Str(key), Str("some value"), PTDB_INSERT), PTDB_SUCCESS);
  }
  char* plain = NULL;
  CHECK_EQ(ptdb_summary(ctx, 0, &plain), PTDB_SUCCESS);
  CHECK(plain != NULL && strstr(plain, "Number of records") != NULL);
  char* histograms = NULL;
  CHECK_EQ(ptdb_summary(ctx, PTDB_SUMMARY_HISTOGRAMS, &histograms), PTDB_SUCCESS);
  CHECK(histograms != NULL && strstr(histograms, "Number of records") != NULL);
  CHECK(plain != NULL && histograms != NULL && strlen(histograms) > strlen(plain));
  free(plain);
  free(histograms);
  ptdb_close(ctx);
}

static void FlagsCanBeAddedAndRemoved(void) {
  struct ptdb_context* ctx = OpenFresh("flags.tdb", PTDB_NOSYNC);
  if (ctx == NULL) return;
  CHECK(ptdb_get_flags(ctx) & PTDB_NOSYNC);
  CHECK(!(ptdb_get_flags(ctx) & PTDB_RDONLY));
  ptdb_remove_flag(ctx, PTDB_NOSYNC);
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  CHECK(!(ptdb_get_flags(ctx) & PTDB_NOSYNC));
  ptdb_add_flag(ctx, PTDB_NOMMAP);
  CHECK(ptdb_get_flags(ctx) & PTDB_NOMMAP);
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("v"), PTDB_REPLACE), PTDB_SUCCESS);
  ptdb_remove_flag(ctx, PTDB_NOMMAP);
  CHECK(!(ptdb_get_flags(ctx) & PTDB_NOMMAP));

  ptdb_add_flag(ctx, PTDB_RDONLY);
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  CHECK(ptdb_get_flags(ctx) & PTDB_RDONLY);
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("w"), PTDB_REPLACE), PTDB_ERR_RDONLY);
  CHECK_EQ(ptdb_delete(ctx, Str("k")), PTDB_ERR_RDONLY);
  CHECK_EQ(ptdb_wipe_all(ctx), PTDB_ERR_RDONLY);
  CHECK(ptdb_exists(ctx, Str("k")));
  ptdb_remove_flag(ctx, PTDB_RDONLY);
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("w"), PTDB_REPLACE), PTDB_SUCCESS);

  const unsigned before = ptdb_get_flags(ctx);
  ptdb_add_flag(ctx, 1);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_EINVAL);
  ptdb_add_flag(ctx, PTDB_INTERNAL);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_EINVAL);
  ptdb_remove_flag(ctx, PTDB_CANT_CHECK);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_EINVAL);
  CHECK_EQ(ptdb_get_flags(ctx), before);
  ptdb_close(ctx);
}

static void CountLog(struct ptdb_context* ctx, enum ptdb_log_level level, enum PTDB_ERROR code,
                     const char* message, void* data) {
  (void)ctx;
  (void)level;
  (void)code;
  (void)message;
  ++*(int*)data;
}

static void ReadOnlyOpenCannotDropRdonly(void) {
  const char* path = TestFile("readonly.tdb");
  struct ptdb_context* ctx = ptdb_open(path, PTDB_DEFAULT, O_RDWR | O_CREAT, 0600, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("v"), PTDB_REPLACE), PTDB_SUCCESS);
  ptdb_close(ctx);

  int logged = 0;
  union ptdb_attribute log;
  memset(&log, 0, sizeof(log));
  log.base.attr = PTDB_ATTRIBUTE_LOG;
  log.log.fn = CountLog;
  log.log.data = &logged;
  ctx = ptdb_open(path, PTDB_DEFAULT, O_RDONLY, 0, &log);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  CHECK(ptdb_get_flags(ctx) & PTDB_RDONLY);
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("w"), PTDB_REPLACE), PTDB_ERR_RDONLY);
  CHECK_EQ(logged, 1);
  ptdb_remove_flag(ctx, PTDB_RDONLY);
  CHECK(ptdb_error(ctx) != PTDB_SUCCESS);
  CHECK_EQ(logged, 2);
  CHECK(ptdb_get_flags(ctx) & PTDB_RDONLY);
  ptdb_close(ctx);
}

static void NameIsACopyAndFdIsTheFile(void) {
  char path[4096];
  snprintf(path, sizeof(path), "%s", TestFile("named.tdb"));
  struct ptdb_context* ctx = ptdb_open(path, PTDB_DEFAULT, O_RDWR | O_CREAT, 0600, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  CHECK_STREQ(ptdb_name(ctx), path);
  CHECK(ptdb_name(ctx) != path);
  path[0] = '\0';
  CHECK(strstr(ptdb_name(ctx), "named.tdb") != NULL);

  const int fd = ptdb_fd(ctx);
  CHECK(fd >= 0);
  struct stat by_fd, by_name;
  CHECK_EQ(fstat(fd, &by_fd), 0);
  CHECK_EQ(stat(ptdb_name(ctx), &by_name), 0);
  CHECK(by_fd.st_ino == by_name.st_ino && by_fd.st_dev == by_name.st_dev);
  CHECK_EQ(ptdb_close(ctx), 0);
}

struct Visits {
  struct ptdb_context* seen[8];
  int count;
  int stop_after;  // 0: never stop
};

static int Collect(struct ptdb_context* ctx, void* p) {
  struct Visits* v = p;
  if (v->count < 8) v->seen[v->count] = ctx;
  v->count++;
  return v->stop_after != 0 && v->count == v->stop_after;
}

static bool Saw(const struct Visits* v, const struct ptdb_context* ctx) {
  for (int i = 0; i < v->count && i < 8; i++) {
    if (v->seen[i] == ctx) return true;
  }
  return false;
}

static void ForeachVisitsEveryOpenContext(void) {
  struct Visits none = {{NULL}, 0, 0};
  ptdb_foreach(Collect, &none);
  CHECK_EQ(none.count, 0);

  struct ptdb_context* a = OpenFresh("foreach-a.tdb", PTDB_DEFAULT);
  struct ptdb_context* b = ptdb_open(NULL, PTDB_INTERNAL, O_RDWR, 0, NULL);
  CHECK(a != NULL && b != NULL);
  struct Visits both = {{NULL}, 0, 0};
  ptdb_foreach(Collect, &both);
  CHECK_EQ(both.count, 2);
  CHECK(Saw(&both, a));
  CHECK(Saw(&both, b));

  struct Visits first = {{NULL}, 0, 1};
  ptdb_foreach(Collect, &first);
  CHECK_EQ(first.count, 1);

  ptdb_close(a);
  struct Visits after = {{NULL}, 0, 0};
  ptdb_foreach(Collect, &after);
  CHECK_EQ(after.count, 1);
  CHECK(Saw(&after, b));
  ptdb_close(b);
}

static int CloseEach(struct ptdb_context* ctx, void* p) {
  ++*(int*)p;
  ptdb_close(ctx);
  return 0;
}

static void ForeachCallbackMayClose(void) {
  CHECK(OpenFresh("close-a.tdb", PTDB_DEFAULT) != NULL);
  CHECK(OpenFresh("close-b.tdb", PTDB_DEFAULT) != NULL);
  int closed = 0;
  ptdb_foreach(CloseEach, &closed);
  CHECK_EQ(closed, 2);
  struct Visits after = {{NULL}, 0, 0};
  ptdb_foreach(Collect, &after);
  CHECK_EQ(after.count, 0);
}

// ptdb_repack keeps every record and cuts the file; on a read-only context it is refused.
static void RepackKeepsRecordsAndShrinks(void) {
  struct ptdb_context* ctx = OpenFresh("repack.tdb", PTDB_DEFAULT);
  char key[32], value[256];
  memset(value, 'v', sizeof(value));
  for (int i = 0; i < 2000; i++) {
    snprintf(key, sizeof(key), "key%d", i);
    CHECK_EQ(ptdb_store(ctx, Str(key), ptdb_mkdata(value, sizeof(value)), PTDB_INSERT),
             PTDB_SUCCESS);
  }
  for (int i = 10; i < 2000; i++) {
    snprintf(key, sizeof(key), "key%d", i);
    CHECK_EQ(ptdb_delete(ctx, Str(key)), PTDB_SUCCESS);
  }
  struct stat before, after;
  CHECK_EQ(fstat(ptdb_fd(ctx), &before), 0);
  CHECK_EQ(ptdb_repack(ctx), PTDB_SUCCESS);
  CHECK_EQ(fstat(ptdb_fd(ctx), &after), 0);
  CHECK(after.st_size < before.st_size / 2);
  for (int i = 0; i < 10; i++) {
    snprintf(key, sizeof(key), "key%d", i);
    CHECK(ptdb_exists(ctx, Str(key)));
  }
  CHECK(!ptdb_exists(ctx, Str("key10")));
  CHECK_EQ(ptdb_check(ctx, NULL, NULL), PTDB_SUCCESS);
  ptdb_add_flag(ctx, PTDB_RDONLY);
  CHECK_EQ(ptdb_repack(ctx), PTDB_ERR_RDONLY);
  ptdb_close(ctx);
}

int main(void) {
  RUN(SeqnumCountsWritesOnlyWithTheFlag);
  RUN(CheckCallsBackForEveryRecord);
  RUN(RescueCallsBackAndReports);
  RUN(RescueFileReadsAFileOpenRefuses);
  RUN(SummaryIsAMallocdReport);
  RUN(FlagsCanBeAddedAndRemoved);
  RUN(ReadOnlyOpenCannotDropRdonly);
  RUN(NameIsACopyAndFdIsTheFile);
  RUN(ForeachVisitsEveryOpenContext);
  RUN(ForeachCallbackMayClose);
  RUN(RepackKeepsRecordsAndShrinks);
  return Summary();
}
