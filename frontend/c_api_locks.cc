// The C API's lock and transaction families (ptdb/ptdb.h) over ptdb::Db. The unlocks and
// the cancel return nothing, as in TDB2; their outcome is the context's last error.
#include "frontend/c_context.h"
#include "ptdb/ptdb.h"

extern "C" {

enum PTDB_ERROR ptdb_chainlock(struct ptdb_context* ctx, struct ptdb_data key) {
  return ptdb::Call(ctx, "ptdb_chainlock", [&] { return ctx->db->ChainLock(ptdb::View(key)); });
}

void ptdb_chainunlock(struct ptdb_context* ctx, struct ptdb_data key) {
  ptdb::Call(ctx, "ptdb_chainunlock", [&] { return ctx->db->ChainUnlock(ptdb::View(key)); });
}

enum PTDB_ERROR ptdb_chainlock_read(struct ptdb_context* ctx, struct ptdb_data key) {
  return ptdb::Call(ctx, "ptdb_chainlock_read",
                    [&] { return ctx->db->ChainLockRead(ptdb::View(key)); });
}

void ptdb_chainunlock_read(struct ptdb_context* ctx, struct ptdb_data key) {
  ptdb::Call(ctx, "ptdb_chainunlock_read",
             [&] { return ctx->db->ChainUnlockRead(ptdb::View(key)); });
}

enum PTDB_ERROR ptdb_lockall(struct ptdb_context* ctx) {
  return ptdb::Call(ctx, "ptdb_lockall", [&] { return ctx->db->LockAll(); });
}

void ptdb_unlockall(struct ptdb_context* ctx) {
  ptdb::Call(ctx, "ptdb_unlockall", [&] { return ctx->db->UnlockAll(); });
}

enum PTDB_ERROR ptdb_lockall_read(struct ptdb_context* ctx) {
  return ptdb::Call(ctx, "ptdb_lockall_read", [&] { return ctx->db->LockAllRead(); });
}

void ptdb_unlockall_read(struct ptdb_context* ctx) {
  ptdb::Call(ctx, "ptdb_unlockall_read", [&] { return ctx->db->UnlockAllRead(); });
}

enum PTDB_ERROR ptdb_transaction_start(struct ptdb_context* ctx) {
  return ptdb::Call(ctx, "ptdb_transaction_start", [&] { return ctx->db->TransactionStart(); });
}

enum PTDB_ERROR ptdb_transaction_prepare_commit(struct ptdb_context* ctx) {
  return ptdb::Call(ctx, "ptdb_transaction_prepare_commit",
                    [&] { return ctx->db->TransactionPrepareCommit(); });
}

enum PTDB_ERROR ptdb_transaction_commit(struct ptdb_context* ctx) {
  return ptdb::Call(ctx, "ptdb_transaction_commit", [&] { return ctx->db->TransactionCommit(); });
}

void ptdb_transaction_cancel(struct ptdb_context* ctx) {
  ptdb::Call(ctx, "ptdb_transaction_cancel", [&] { return ctx->db->TransactionCancel(); });
}

enum PTDB_ERROR ptdb_read_transaction_start(struct ptdb_context* ctx) {
  return ptdb::Call(ctx, "ptdb_read_transaction_start",
                    [&] { return ctx->db->ReadTransactionStart(); });
}

enum PTDB_ERROR ptdb_read_transaction_end(struct ptdb_context* ctx) {
  return ptdb::Call(ctx, "ptdb_read_transaction_end",
                    [&] { return ctx->db->ReadTransactionEnd(); });
}

}  // extern "C"
