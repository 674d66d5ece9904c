// PTDB_INTERNAL contexts: in memory, no file, fixed flags.
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ptdb/ptdb.h"
#include "tests/capi/harness.h"

static struct ptdb_data Str(const char* s) { return ptdb_mkdata(s, strlen(s)); }

static void NullNameIsAllowed(void) {
  struct ptdb_context* ctx = ptdb_open(NULL, PTDB_INTERNAL, O_RDWR | O_CREAT, 0600, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  CHECK(ptdb_name(ctx) == NULL);
  CHECK_EQ(ptdb_fd(ctx), -1);
  const unsigned flags = ptdb_get_flags(ctx);
  CHECK(flags & PTDB_INTERNAL);
  /* In memory there is no mapping to choose; threads sharing the handle still lock. */
  CHECK(!(flags & PTDB_NOLOCK));
  CHECK(flags & PTDB_NOMMAP);
  CHECK_EQ(ptdb_close(ctx), 0);
}

static void RecordsLiveInMemory(void) {
  struct ptdb_context* ctx = ptdb_open(NULL, PTDB_INTERNAL, O_RDWR, 0, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  for (int i = 0; i < 1000; i++) {
    const int key = i;
    CHECK_EQ(ptdb_store(ctx, ptdb_mkdata(&key, sizeof(key)), Str("value"), PTDB_INSERT),
             PTDB_SUCCESS);
  }
  CHECK_EQ(ptdb_traverse(ctx, NULL, NULL), 1000);
  const int key = 500;
  struct ptdb_data data;
  CHECK_EQ(ptdb_fetch(ctx, ptdb_mkdata(&key, sizeof(key)), &data), PTDB_SUCCESS);
  CHECK(ptdb_deq(data, Str("value")));
  free(data.dptr);
  CHECK_EQ(ptdb_delete(ctx, ptdb_mkdata(&key, sizeof(key))), PTDB_SUCCESS);
  CHECK_EQ(ptdb_traverse(ctx, NULL, NULL), 999);
  CHECK_EQ(ptdb_check(ctx, NULL, NULL), PTDB_SUCCESS);
  ptdb_close(ctx);
}

static void TwoInternalDatabasesAreSeparate(void) {
  struct ptdb_context* a = ptdb_open(NULL, PTDB_INTERNAL, O_RDWR, 0, NULL);
  struct ptdb_context* b = ptdb_open(NULL, PTDB_INTERNAL, O_RDWR, 0, NULL);
  CHECK(a != NULL && b != NULL);
  if (a == NULL || b == NULL) return;
  CHECK_EQ(ptdb_store(a, Str("k"), Str("a"), PTDB_INSERT), PTDB_SUCCESS);
  CHECK(!ptdb_exists(b, Str("k")));
  ptdb_close(a);
  ptdb_close(b);
}

static void FlagsCannotChange(void) {
  struct ptdb_context* ctx = ptdb_open(NULL, PTDB_INTERNAL, O_RDWR, 0, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  const unsigned before = ptdb_get_flags(ctx);
  ptdb_add_flag(ctx, PTDB_SEQNUM);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_EINVAL);
  ptdb_remove_flag(ctx, PTDB_NOMMAP);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_EINVAL);
  CHECK_EQ(ptdb_get_flags(ctx), before);
  ptdb_close(ctx);
}

static void SeqnumWorksInMemory(void) {
  struct ptdb_context* ctx = ptdb_open(NULL, PTDB_INTERNAL | PTDB_SEQNUM, O_RDWR, 0, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  const int64_t start = ptdb_get_seqnum(ctx);
  CHECK(start >= 0);
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("v"), PTDB_INSERT), PTDB_SUCCESS);
  CHECK_EQ(ptdb_get_seqnum(ctx), start + 1);
  ptdb_close(ctx);
}

static void NameIsOnlyALabel(void) {
  const char* path = TestFile("label.tdb");
  struct ptdb_context* ctx = ptdb_open(path, PTDB_INTERNAL, O_RDWR | O_CREAT, 0600, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  CHECK_STREQ(ptdb_name(ctx), path);
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("v"), PTDB_INSERT), PTDB_SUCCESS);
  CHECK_EQ(ptdb_fd(ctx), -1);
  CHECK(access(path, F_OK) != 0);
  ptdb_close(ctx);
}

int main(void) {
  RUN(NullNameIsAllowed);
  RUN(RecordsLiveInMemory);
  RUN(TwoInternalDatabasesAreSeparate);
  RUN(FlagsCannotChange);
  RUN(SeqnumWorksInMemory);
  RUN(NameIsOnlyALabel);
  return Summary();
}
