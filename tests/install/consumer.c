// Built against an installed ptdb through pkg-config: stores a key, fetches it back.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ptdb/ptdb.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DBFILE\n", argv[0]);
    return 2;
  }
  struct ptdb_context* ctx = ptdb_open(argv[1], PTDB_DEFAULT, O_RDWR | O_CREAT, 0600, NULL);
  if (ctx == NULL) {
    perror("ptdb_open");
    return 1;
  }
  const struct ptdb_data key = ptdb_mkdata("hello", 5);
  const struct ptdb_data value = ptdb_mkdata("world", 5);
  enum PTDB_ERROR e = ptdb_store(ctx, key, value, PTDB_REPLACE);
  struct ptdb_data fetched = {NULL, 0};
  if (e == PTDB_SUCCESS) e = ptdb_fetch(ctx, key, &fetched);
  const int ok = e == PTDB_SUCCESS && ptdb_deq(fetched, value);
  if (!ok) fprintf(stderr, "store/fetch failed: %s\n", ptdb_errorstr(e));
  free(fetched.dptr);
  ptdb_close(ctx);
  return ok ? 0 : 1;
}
