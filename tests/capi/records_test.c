// Store, fetch, append, delete, exists and parse_record, with their error codes and the
// last error each leaves behind.
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "ptdb/ptdb.h"
#include "tests/capi/harness.h"

static struct ptdb_data Str(const char* s) { return ptdb_mkdata(s, strlen(s)); }

static struct ptdb_context* OpenFresh(const char* name) {
  struct ptdb_context* ctx =
      ptdb_open(TestFile(name), PTDB_DEFAULT, O_RDWR | O_CREAT | O_TRUNC, 0600, NULL);
  CHECK(ctx != NULL);
  return ctx;
}

// True if `key` fetches exactly `expected`.
static bool Holds(struct ptdb_context* ctx, const char* key, const char* expected) {
  struct ptdb_data data;
  if (ptdb_fetch(ctx, Str(key), &data) != PTDB_SUCCESS) return false;
  const bool same = ptdb_deq(data, Str(expected));
  free(data.dptr);
  return same;
}

static void HelpersCompareAndWrap(void) {
  const char bytes[] = "abc";
  const struct ptdb_data d = ptdb_mkdata(bytes, 3);
  CHECK(d.dptr == (const unsigned char*)bytes);
  CHECK_EQ(d.dsize, 3);
  CHECK(ptdb_deq(d, Str("abc")));
  CHECK(!ptdb_deq(d, Str("abd")));
  CHECK(!ptdb_deq(d, Str("ab")));
  CHECK(ptdb_deq(ptdb_mkdata(NULL, 0), Str("")));
}

static void StoreThenFetchGivesAMallocdCopy(void) {
  struct ptdb_context* ctx = OpenFresh("fetch.tdb");
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_store(ctx, Str("key"), Str("value"), PTDB_REPLACE), PTDB_SUCCESS);
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  struct ptdb_data data;
  CHECK_EQ(ptdb_fetch(ctx, Str("key"), &data), PTDB_SUCCESS);
  CHECK(ptdb_deq(data, Str("value")));
  // The copy is the caller's: writing to it does not change the database.
  data.dptr[0] = 'V';
  free(data.dptr);
  CHECK(Holds(ctx, "key", "value"));
  ptdb_close(ctx);
}

static void BinaryKeysAndEmptyValues(void) {
  struct ptdb_context* ctx = OpenFresh("binary.tdb");
  if (ctx == NULL) return;
  const unsigned char k1[] = {0, 1, 0, 2};
  const unsigned char k2[] = {0, 1, 0, 3};
  CHECK_EQ(ptdb_store(ctx, ptdb_mkdata(k1, 4), Str("one"), PTDB_INSERT), PTDB_SUCCESS);
  CHECK_EQ(ptdb_store(ctx, ptdb_mkdata(k2, 4), Str(""), PTDB_INSERT), PTDB_SUCCESS);
  struct ptdb_data data;
  CHECK_EQ(ptdb_fetch(ctx, ptdb_mkdata(k1, 4), &data), PTDB_SUCCESS);
  CHECK(ptdb_deq(data, Str("one")));
  free(data.dptr);
  CHECK_EQ(ptdb_fetch(ctx, ptdb_mkdata(k2, 4), &data), PTDB_SUCCESS);
  CHECK_EQ(data.dsize, 0);
  CHECK(data.dptr != NULL);
  free(data.dptr);
  ptdb_close(ctx);
}

static void FetchOfAnAbsentKeyIsNoexist(void) {
  struct ptdb_context* ctx = OpenFresh("noexist.tdb");
  if (ctx == NULL) return;
  struct ptdb_data data;
  CHECK_EQ(ptdb_fetch(ctx, Str("missing"), &data), PTDB_ERR_NOEXIST);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_NOEXIST);
  ptdb_close(ctx);
}

static void StoreFlags(void) {
  struct ptdb_context* ctx = OpenFresh("storeflags.tdb");
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_store(ctx, Str("a"), Str("1"), PTDB_INSERT), PTDB_SUCCESS);
  CHECK_EQ(ptdb_store(ctx, Str("a"), Str("2"), PTDB_INSERT), PTDB_ERR_EXISTS);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_EXISTS);
  CHECK(Holds(ctx, "a", "1"));

  CHECK_EQ(ptdb_store(ctx, Str("b"), Str("1"), PTDB_MODIFY), PTDB_ERR_NOEXIST);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_NOEXIST);
  CHECK(!ptdb_exists(ctx, Str("b")));
  CHECK_EQ(ptdb_store(ctx, Str("a"), Str("3"), PTDB_MODIFY), PTDB_SUCCESS);
  CHECK(Holds(ctx, "a", "3"));

  CHECK_EQ(ptdb_store(ctx, Str("a"), Str("a longer value"), PTDB_REPLACE), PTDB_SUCCESS);
  CHECK(Holds(ctx, "a", "a longer value"));
  CHECK_EQ(ptdb_store(ctx, Str("c"), Str("new"), PTDB_REPLACE), PTDB_SUCCESS);
  CHECK(Holds(ctx, "c", "new"));
  ptdb_close(ctx);
}

static void AppendExtendsOrCreates(void) {
  struct ptdb_context* ctx = OpenFresh("append.tdb");
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_append(ctx, Str("k"), Str("abc")), PTDB_SUCCESS);
  CHECK(Holds(ctx, "k", "abc"));
  CHECK_EQ(ptdb_append(ctx, Str("k"), Str("def")), PTDB_SUCCESS);
  CHECK_EQ(ptdb_append(ctx, Str("k"), Str("")), PTDB_SUCCESS);
  CHECK(Holds(ctx, "k", "abcdef"));
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  ptdb_close(ctx);
}

static void DeleteAndExists(void) {
  struct ptdb_context* ctx = OpenFresh("delete.tdb");
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("v"), PTDB_REPLACE), PTDB_SUCCESS);
  CHECK(ptdb_exists(ctx, Str("k")));
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  CHECK_EQ(ptdb_delete(ctx, Str("k")), PTDB_SUCCESS);
  CHECK(!ptdb_exists(ctx, Str("k")));
  // Absent is an answer, not an error.
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  CHECK_EQ(ptdb_delete(ctx, Str("k")), PTDB_ERR_NOEXIST);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_NOEXIST);
  ptdb_close(ctx);
}

struct ParseSeen {
  int calls;
  bool key_matches;
  bool data_matches;
  enum PTDB_ERROR result;
};

static enum PTDB_ERROR Parse(struct ptdb_data key, struct ptdb_data data, void* p) {
  struct ParseSeen* seen = p;
  seen->calls++;
  seen->key_matches = ptdb_deq(key, Str("key"));
  seen->data_matches = ptdb_deq(data, Str("in place"));
  return seen->result;
}

static void ParseRecordReturnsTheCallbacksResult(void) {
  struct ptdb_context* ctx = OpenFresh("parse.tdb");
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_store(ctx, Str("key"), Str("in place"), PTDB_REPLACE), PTDB_SUCCESS);
  struct ParseSeen seen = {0, false, false, PTDB_SUCCESS};
  CHECK_EQ(ptdb_parse_record(ctx, Str("key"), Parse, &seen), PTDB_SUCCESS);
  CHECK_EQ(seen.calls, 1);
  CHECK(seen.key_matches);
  CHECK(seen.data_matches);

  seen.result = PTDB_ERR_EXISTS;
  CHECK_EQ(ptdb_parse_record(ctx, Str("key"), Parse, &seen), PTDB_ERR_EXISTS);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_EXISTS);
  seen.result = PTDB_ERR_CORRUPT;
  CHECK_EQ(ptdb_parse_record(ctx, Str("key"), Parse, &seen), PTDB_ERR_CORRUPT);
  CHECK_EQ(seen.calls, 3);

  CHECK_EQ(ptdb_parse_record(ctx, Str("absent"), Parse, &seen), PTDB_ERR_NOEXIST);
  CHECK_EQ(seen.calls, 3);
  ptdb_close(ctx);
}

static void RecordsSurviveReopen(void) {
  const char* path = TestFile("reopen.tdb");
  struct ptdb_context* ctx = ptdb_open(path, PTDB_DEFAULT, O_RDWR | O_CREAT, 0600, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_store(ctx, Str("persistent"), Str("yes"), PTDB_REPLACE), PTDB_SUCCESS);
  CHECK_EQ(ptdb_close(ctx), 0);
  ctx = ptdb_open(path, PTDB_DEFAULT, O_RDONLY, 0, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  CHECK(Holds(ctx, "persistent", "yes"));
  CHECK_EQ(ptdb_close(ctx), 0);
}

int main(void) {
  RUN(HelpersCompareAndWrap);
  RUN(StoreThenFetchGivesAMallocdCopy);
  RUN(BinaryKeysAndEmptyValues);
  RUN(FetchOfAnAbsentKeyIsNoexist);
  RUN(StoreFlags);
  RUN(AppendExtendsOrCreates);
  RUN(DeleteAndExists);
  RUN(ParseRecordReturnsTheCallbacksResult);
  RUN(RecordsSurviveReopen);
  return Summary();
}
