// ptdb_traverse, ptdb_firstkey / ptdb_nextkey and ptdb_wipe_all.
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptdb/ptdb.h"
#include "tests/capi/harness.h"

enum { kRecords = 100 };

static struct ptdb_data Str(const char* s) { return ptdb_mkdata(s, strlen(s)); }

// Keys are "key-<i>", values "value-<i>"; returns i for a key of that form, else -1.
static int KeyIndex(struct ptdb_data key) {
  char text[32];
  int i;
  char tail;
  if (key.dsize == 0 || key.dsize >= sizeof(text)) return -1;
  memcpy(text, key.dptr, key.dsize);
  text[key.dsize] = '\0';
  if (sscanf(text, "key-%d%c", &i, &tail) != 1 || i < 0 || i >= kRecords) return -1;
  return i;
}

static struct ptdb_context* OpenFilled(const char* name) {
  struct ptdb_context* ctx =
      ptdb_open(TestFile(name), PTDB_DEFAULT, O_RDWR | O_CREAT | O_TRUNC, 0600, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return NULL;
  for (int i = 0; i < kRecords; i++) {
    char key[32], value[32];
    snprintf(key, sizeof(key), "key-%d", i);
    snprintf(value, sizeof(value), "value-%d", i);
    CHECK_EQ(ptdb_store(ctx, Str(key), Str(value), PTDB_INSERT), PTDB_SUCCESS);
  }
  return ctx;
}

struct Walk {
  int seen[kRecords];
  int calls;
  int stop_after;  // 0: never stop
  int bad;         // records with an unexpected key or value
  bool delete_current;
};

static int Visit(struct ptdb_context* ctx, struct ptdb_data key, struct ptdb_data data, void* p) {
  struct Walk* walk = p;
  walk->calls++;
  const int i = KeyIndex(key);
  if (i < 0) {
    walk->bad++;
    return 0;
  }
  char value[32];
  snprintf(value, sizeof(value), "value-%d", i);
  if (!ptdb_deq(data, Str(value))) walk->bad++;
  walk->seen[i]++;
  if (walk->delete_current && ptdb_delete(ctx, key) != PTDB_SUCCESS) walk->bad++;
  return walk->stop_after != 0 && walk->calls == walk->stop_after;
}

static int CountSeenOnce(const struct Walk* walk) {
  int once = 0;
  for (int i = 0; i < kRecords; i++) once += walk->seen[i] == 1;
  return once;
}

static void TraverseVisitsEveryRecordOnce(void) {
  struct ptdb_context* ctx = OpenFilled("all.tdb");
  if (ctx == NULL) return;
  struct Walk walk = {{0}, 0, 0, 0, false};
  CHECK_EQ(ptdb_traverse(ctx, Visit, &walk), kRecords);
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  CHECK_EQ(walk.calls, kRecords);
  CHECK_EQ(walk.bad, 0);
  CHECK_EQ(CountSeenOnce(&walk), kRecords);
  ptdb_close(ctx);
}

static void TraverseWithoutFunctionCounts(void) {
  struct ptdb_context* ctx = OpenFilled("count.tdb");
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_traverse(ctx, NULL, NULL), kRecords);
  CHECK_EQ(ptdb_delete(ctx, Str("key-7")), PTDB_SUCCESS);
  CHECK_EQ(ptdb_traverse(ctx, NULL, NULL), kRecords - 1);
  ptdb_close(ctx);
}

static void NonZeroStopsTheWalk(void) {
  struct ptdb_context* ctx = OpenFilled("stop.tdb");
  if (ctx == NULL) return;
  struct Walk walk = {{0}, 0, 10, 0, false};
  // The count includes the record whose callback stopped the walk.
  CHECK_EQ(ptdb_traverse(ctx, Visit, &walk), 10);
  CHECK_EQ(walk.calls, 10);
  CHECK_EQ(CountSeenOnce(&walk), 10);
  walk.calls = 0;
  walk.stop_after = 1;
  CHECK_EQ(ptdb_traverse(ctx, Visit, &walk), 1);
  CHECK_EQ(walk.calls, 1);
  ptdb_close(ctx);
}

static void TraverseMayDeleteTheCurrentRecord(void) {
  struct ptdb_context* ctx = OpenFilled("delete.tdb");
  if (ctx == NULL) return;
  struct Walk walk = {{0}, 0, 0, 0, true};
  CHECK_EQ(ptdb_traverse(ctx, Visit, &walk), kRecords);
  CHECK_EQ(walk.bad, 0);
  CHECK_EQ(CountSeenOnce(&walk), kRecords);
  CHECK_EQ(ptdb_traverse(ctx, NULL, NULL), 0);
  ptdb_close(ctx);
}

static void FirstkeyNextkeySeeEveryKeyOnce(void) {
  struct ptdb_context* ctx = OpenFilled("iterate.tdb");
  if (ctx == NULL) return;
  int seen[kRecords] = {0};
  int steps = 0;
  int bad = 0;
  struct ptdb_data key;
  enum PTDB_ERROR e = ptdb_firstkey(ctx, &key);
  while (e == PTDB_SUCCESS && steps <= kRecords) {
    steps++;
    const int i = KeyIndex(key);
    if (i < 0) {
      bad++;
    } else {
      seen[i]++;
    }
    e = ptdb_nextkey(ctx, &key);  // frees the previous key
  }
  CHECK_EQ(e, PTDB_ERR_NOEXIST);
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_NOEXIST);
  CHECK(key.dptr == NULL);
  CHECK_EQ(steps, kRecords);
  CHECK_EQ(bad, 0);
  int once = 0;
  for (int i = 0; i < kRecords; i++) once += seen[i] == 1;
  CHECK_EQ(once, kRecords);
  ptdb_close(ctx);
}

static void EmptyDatabaseHasNoKeys(void) {
  struct ptdb_context* ctx = ptdb_open(NULL, PTDB_INTERNAL, O_RDWR, 0, NULL);
  CHECK(ctx != NULL);
  if (ctx == NULL) return;
  struct ptdb_data key;
  CHECK_EQ(ptdb_firstkey(ctx, &key), PTDB_ERR_NOEXIST);
  CHECK_EQ(ptdb_traverse(ctx, NULL, NULL), 0);
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  ptdb_close(ctx);
}

static void WipeAllRemovesEveryRecord(void) {
  struct ptdb_context* ctx = OpenFilled("wipe.tdb");
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_wipe_all(ctx), PTDB_SUCCESS);
  CHECK_EQ(ptdb_traverse(ctx, NULL, NULL), 0);
  CHECK(!ptdb_exists(ctx, Str("key-0")));
  CHECK_EQ(ptdb_store(ctx, Str("after"), Str("wipe"), PTDB_INSERT), PTDB_SUCCESS);
  CHECK_EQ(ptdb_traverse(ctx, NULL, NULL), 1);
  CHECK_EQ(ptdb_check(ctx, NULL, NULL), PTDB_SUCCESS);
  ptdb_close(ctx);
}

int main(void) {
  RUN(TraverseVisitsEveryRecordOnce);
  RUN(TraverseWithoutFunctionCounts);
  RUN(NonZeroStopsTheWalk);
  RUN(TraverseMayDeleteTheCurrentRecord);
  RUN(FirstkeyNextkeySeeEveryKeyOnce);
  RUN(EmptyDatabaseHasNoKeys);
  RUN(WipeAllRemovesEveryRecord);
  return Summary();
}
