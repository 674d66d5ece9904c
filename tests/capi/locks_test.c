// The lock family (chainlock, lockall), the transaction family, and the FLOCK and BACKEND
// attributes.
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "ptdb/ptdb.h"
#include "tests/capi/harness.h"

static struct ptdb_data Str(const char* s) { return ptdb_mkdata(s, strlen(s)); }

static struct ptdb_context* OpenFresh(const char* name, int flags, union ptdb_attribute* attr) {
  struct ptdb_context* ctx =
      ptdb_open(TestFile(name), flags, O_RDWR | O_CREAT | O_TRUNC, 0600, attr);
  CHECK(ctx != NULL);
  return ctx;
}

static bool Holds(struct ptdb_context* ctx, const char* key, const char* value) {
  struct ptdb_data d;
  if (ptdb_fetch(ctx, Str(key), &d) != PTDB_SUCCESS) return false;
  const bool same = ptdb_deq(d, Str(value));
  free(d.dptr);
  return same;
}

static void ChainLocksNestAndCheckTheirUse(void) {
  struct ptdb_context* ctx = OpenFresh("chain.tdb", PTDB_DEFAULT, NULL);
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_chainlock(ctx, Str("k")), PTDB_SUCCESS);
  CHECK_EQ(ptdb_chainlock(ctx, Str("k")), PTDB_SUCCESS);  // nests
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("v"), PTDB_REPLACE), PTDB_SUCCESS);
  ptdb_chainunlock(ctx, Str("k"));
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  ptdb_chainunlock(ctx, Str("k"));
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  ptdb_chainunlock(ctx, Str("k"));  // not held
  CHECK_EQ(ptdb_error(ctx), PTDB_ERR_LOCK);

  CHECK_EQ(ptdb_chainlock_read(ctx, Str("k")), PTDB_SUCCESS);
  CHECK(Holds(ctx, "k", "v"));
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("w"), PTDB_REPLACE), PTDB_ERR_LOCK);
  ptdb_chainunlock_read(ctx, Str("k"));
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  CHECK_EQ(ptdb_close(ctx), 0);
}

static void LockAllReadRefusesWrites(void) {
  struct ptdb_context* ctx = OpenFresh("lockall.tdb", PTDB_DEFAULT, NULL);
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_lockall(ctx), PTDB_SUCCESS);
  CHECK_EQ(ptdb_store(ctx, Str("a"), Str("1"), PTDB_REPLACE), PTDB_SUCCESS);
  CHECK_EQ(ptdb_chainlock(ctx, Str("a")), PTDB_SUCCESS);  // rides on lockall
  ptdb_chainunlock(ctx, Str("a"));
  ptdb_unlockall(ctx);
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);

  CHECK_EQ(ptdb_lockall_read(ctx), PTDB_SUCCESS);
  CHECK(Holds(ctx, "a", "1"));
  CHECK_EQ(ptdb_store(ctx, Str("b"), Str("2"), PTDB_REPLACE), PTDB_ERR_LOCK);
  ptdb_unlockall_read(ctx);
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  CHECK_EQ(ptdb_close(ctx), 0);
}

static void ReadTransactionsRefuseTheirThreadsWrites(void) {
  struct ptdb_context* ctx = OpenFresh("readtx.tdb", PTDB_DEFAULT, NULL);
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_store(ctx, Str("a"), Str("1"), PTDB_REPLACE), PTDB_SUCCESS);
  CHECK_EQ(ptdb_read_transaction_start(ctx), PTDB_SUCCESS);
  CHECK(Holds(ctx, "a", "1"));
  CHECK_EQ(ptdb_store(ctx, Str("b"), Str("2"), PTDB_REPLACE), PTDB_ERR_EINVAL);
  CHECK_EQ(ptdb_transaction_start(ctx), PTDB_ERR_EINVAL);
  CHECK_EQ(ptdb_read_transaction_start(ctx), PTDB_ERR_EINVAL);
  CHECK_EQ(ptdb_read_transaction_end(ctx), PTDB_SUCCESS);
  CHECK_EQ(ptdb_read_transaction_end(ctx), PTDB_ERR_EINVAL);
  CHECK_EQ(ptdb_store(ctx, Str("b"), Str("2"), PTDB_REPLACE), PTDB_SUCCESS);
  CHECK_EQ(ptdb_close(ctx), 0);
}

static void TransactionsCommitCancelAndNest(void) {
  struct ptdb_context* ctx = OpenFresh("tx.tdb", PTDB_DEFAULT, NULL);
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_transaction_commit(ctx), PTDB_ERR_EINVAL);  // none open
  CHECK_EQ(ptdb_transaction_start(ctx), PTDB_SUCCESS);
  CHECK_EQ(ptdb_store(ctx, Str("a"), Str("1"), PTDB_REPLACE), PTDB_SUCCESS);
  CHECK_EQ(ptdb_transaction_start(ctx), PTDB_ERR_EINVAL);  // nesting not allowed
  CHECK_EQ(ptdb_transaction_prepare_commit(ctx), PTDB_SUCCESS);
  CHECK_EQ(ptdb_transaction_commit(ctx), PTDB_SUCCESS);
  CHECK(Holds(ctx, "a", "1"));

  CHECK_EQ(ptdb_transaction_start(ctx), PTDB_SUCCESS);
  CHECK_EQ(ptdb_store(ctx, Str("a"), Str("2"), PTDB_REPLACE), PTDB_SUCCESS);
  ptdb_transaction_cancel(ctx);
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  CHECK(Holds(ctx, "a", "1"));

  ptdb_add_flag(ctx, PTDB_ALLOW_NESTING);
  CHECK_EQ(ptdb_transaction_start(ctx), PTDB_SUCCESS);
  CHECK_EQ(ptdb_transaction_start(ctx), PTDB_SUCCESS);
  CHECK_EQ(ptdb_store(ctx, Str("b"), Str("3"), PTDB_REPLACE), PTDB_SUCCESS);
  ptdb_transaction_cancel(ctx);  // inner
  CHECK_EQ(ptdb_transaction_commit(ctx), PTDB_ERR_EINVAL);
  struct ptdb_data d;
  CHECK_EQ(ptdb_fetch(ctx, Str("b"), &d), PTDB_ERR_NOEXIST);
  CHECK_EQ(ptdb_check(ctx, NULL, NULL), PTDB_SUCCESS);
  CHECK_EQ(ptdb_close(ctx), 0);
}

struct HookCounts {
  int locks;
  int unlocks;
  int refuse;  // errno the lock hook answers with, 0 to grant
};

static int HookLock(int fd, int rw, off_t off, off_t len, bool waitflag, void* data) {
  struct HookCounts* c = data;
  (void)waitflag;
  c->locks++;
  if (c->refuse != 0) {
    errno = c->refuse;
    return -1;
  }
  struct flock fl;
  memset(&fl, 0, sizeof(fl));
  fl.l_type = (short)rw;
  fl.l_whence = SEEK_SET;
  fl.l_start = off;
  fl.l_len = len;
  return fcntl(fd, F_SETLKW, &fl);
}

static int HookUnlock(int fd, int rw, off_t off, off_t len, void* data) {
  struct HookCounts* c = data;
  (void)rw;
  c->unlocks++;
  struct flock fl;
  memset(&fl, 0, sizeof(fl));
  fl.l_type = F_UNLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = off;
  fl.l_len = len;
  return fcntl(fd, F_SETLK, &fl);
}

static void FlockAttributeRoutesEveryLock(void) {
  struct HookCounts counts = {0, 0, 0};
  union ptdb_attribute attr;
  memset(&attr, 0, sizeof(attr));
  attr.flock.base.attr = PTDB_ATTRIBUTE_FLOCK;
  attr.flock.lock = HookLock;
  attr.flock.unlock = HookUnlock;
  attr.flock.data = &counts;
  struct ptdb_context* ctx = OpenFresh("flock.tdb", PTDB_DEFAULT, &attr);
  if (ctx == NULL) return;
  const int before = counts.locks;
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("v"), PTDB_REPLACE), PTDB_SUCCESS);
  CHECK(counts.locks > before);
  CHECK(counts.unlocks > 0);

  union ptdb_attribute got;
  memset(&got, 0, sizeof(got));
  got.base.attr = PTDB_ATTRIBUTE_FLOCK;
  CHECK_EQ(ptdb_get_attribute(ctx, &got), PTDB_SUCCESS);
  CHECK(got.flock.lock == HookLock && got.flock.data == &counts);

  // A hook that would block: the call fails with PTDB_ERR_LOCK.
  counts.refuse = EAGAIN;
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("w"), PTDB_REPLACE), PTDB_ERR_LOCK);
  counts.refuse = 0;
  CHECK(Holds(ctx, "k", "v"));

  // Changed after opening: the new hooks get every lock from now on.
  struct HookCounts second = {0, 0, 0};
  union ptdb_attribute other = attr;
  other.flock.data = &second;
  const int first_locks = counts.locks;
  CHECK_EQ(ptdb_set_attribute(ctx, &other), PTDB_SUCCESS);
  CHECK_EQ(ptdb_store(ctx, Str("k2"), Str("v2"), PTDB_REPLACE), PTDB_SUCCESS);
  CHECK(second.locks > 0);
  CHECK_EQ(counts.locks, first_locks);
  // Unset: back to fcntl, no hook is called, and the records are still there.
  ptdb_unset_attribute(ctx, PTDB_ATTRIBUTE_FLOCK);
  CHECK_EQ(ptdb_error(ctx), PTDB_SUCCESS);
  const int second_locks = second.locks;
  CHECK_EQ(ptdb_store(ctx, Str("k3"), Str("v3"), PTDB_REPLACE), PTDB_SUCCESS);
  CHECK_EQ(second.locks, second_locks);
  CHECK(Holds(ctx, "k2", "v2") && Holds(ctx, "k3", "v3"));
  memset(&got, 0, sizeof(got));
  got.base.attr = PTDB_ATTRIBUTE_FLOCK;
  CHECK_EQ(ptdb_get_attribute(ctx, &got), PTDB_ERR_NOEXIST);
  CHECK_EQ(ptdb_close(ctx), 0);

  // A context opened without hooks locks with mutexes: it cannot take them later.
  ctx = OpenFresh("noflock.tdb", PTDB_DEFAULT, NULL);
  if (ctx == NULL) return;
  CHECK_EQ(ptdb_set_attribute(ctx, &other), PTDB_ERR_EINVAL);
  CHECK_EQ(ptdb_store(ctx, Str("k"), Str("v"), PTDB_REPLACE), PTDB_SUCCESS);
  CHECK_EQ(ptdb_close(ctx), 0);

  // Only one of the two functions is a use error.
  attr.flock.unlock = NULL;
  errno = 0;
  CHECK(ptdb_open(TestFile("flock2.tdb"), PTDB_DEFAULT, O_RDWR | O_CREAT, 0600, &attr) == NULL);
  CHECK_EQ(errno, EINVAL);
}

static void BackendAttributeIsCheckedAndFileWorks(void) {
  union ptdb_attribute attr;
  memset(&attr, 0, sizeof(attr));
  attr.backend.base.attr = PTDB_ATTRIBUTE_BACKEND;
  attr.backend.backend = PTDB_BACKEND_FILE;
  struct ptdb_context* ctx = OpenFresh("backend.tdb", PTDB_DEFAULT, &attr);
  if (ctx == NULL) return;
  CHECK(ptdb_fd(ctx) >= 0);
  CHECK_EQ(ptdb_close(ctx), 0);

  attr.backend.backend = (enum ptdb_backend)7;
  errno = 0;
  CHECK(ptdb_open(TestFile("backend2.tdb"), PTDB_DEFAULT, O_RDWR | O_CREAT, 0600, &attr) == NULL);
  CHECK_EQ(errno, EINVAL);
}

int main(void) {
  RUN(ChainLocksNestAndCheckTheirUse);
  RUN(LockAllReadRefusesWrites);
  RUN(ReadTransactionsRefuseTheirThreadsWrites);
  RUN(TransactionsCommitCancelAndNest);
  RUN(FlockAttributeRoutesEveryLock);
  RUN(BackendAttributeIsCheckedAndFileWorks);
  return Summary();
}
