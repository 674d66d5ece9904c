// ptdb's C API: TDB2's interface (tdb2.h) with the prefix ptdb_ / PTDB_ instead of
// tdb_ / TDB_, the same constant values and the same semantics, over the C++ library
// (ptdb/db.h). Code written for TDB2 ports by renaming.
//
// Errors: most calls return an enum PTDB_ERROR and also record it as the context's last
// error, which ptdb_error() reads. The last error is per context and not thread-safe; it
// exists for code ported from TDB1. ptdb_errorstr() names a code.
//
// Memory: what ptdb_fetch, ptdb_firstkey, ptdb_nextkey and ptdb_summary hand back is
// allocated with malloc(); the caller frees it. Data handed to callbacks (parse_record,
// traverse, check) is valid only during the callback and must not be written to.
//
// Threads: a context may be used by one thread at a time.
#ifndef PTDB_PTDB_H_
#define PTDB_PTDB_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "ptdb/export.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ptdb_context;
union ptdb_attribute;

// A key or a value: `dsize` bytes at `dptr`.
typedef struct ptdb_data {
  unsigned char* dptr;
  size_t dsize;
} PTDB_DATA;

enum PTDB_ERROR {
  PTDB_SUCCESS = 0,
  PTDB_ERR_CORRUPT = -1,  // the database is not what it should be
  PTDB_ERR_IO = -2,       // the operating system refused a read, write or sync
  PTDB_ERR_LOCK = -3,     // a lock could not be taken
  PTDB_ERR_OOM = -4,      // out of memory
  PTDB_ERR_EXISTS = -5,   // insert of a key that is present
  PTDB_ERR_NOEXIST = -6,  // the key is absent
  PTDB_ERR_EINVAL = -7,   // invalid argument
  PTDB_ERR_RDONLY = -8,   // write attempted on a read-only context
  PTDB_ERR_LAST = PTDB_ERR_RDONLY
};

// Flags for ptdb_open (and ptdb_get_flags / ptdb_add_flag / ptdb_remove_flag).
#define PTDB_DEFAULT 0
#define PTDB_INTERNAL 2  // in memory only, no file; implies PTDB_NOLOCK | PTDB_NOMMAP
#define PTDB_NOLOCK 4
#define PTDB_NOMMAP 8
#define PTDB_NOSYNC 64
#define PTDB_SEQNUM 128  // writes bump the sequence number
#define PTDB_ALLOW_NESTING 256
#define PTDB_RDONLY 512       // no writes; implied by O_RDONLY
#define PTDB_CANT_CHECK 2048  // output only: ptdb_check cannot verify this file

// Flags for ptdb_store.
#define PTDB_REPLACE 1  // insert or overwrite
#define PTDB_INSERT 2   // fail with PTDB_ERR_EXISTS if the key is present
#define PTDB_MODIFY 3   // fail with PTDB_ERR_NOEXIST if the key is absent

enum ptdb_log_level { PTDB_LOG_ERROR = 0, PTDB_LOG_USE_ERROR = 1, PTDB_LOG_WARNING = 2 };

enum ptdb_summary_flags { PTDB_SUMMARY_HISTOGRAMS = 1 };

enum ptdb_attribute_type {
  PTDB_ATTRIBUTE_LOG = 0,
  PTDB_ATTRIBUTE_HASH = 1,
  PTDB_ATTRIBUTE_SEED = 2,
  PTDB_ATTRIBUTE_STATS = 3,
  PTDB_ATTRIBUTE_OPENHOOK = 4,
  PTDB_ATTRIBUTE_FLOCK = 5,
  PTDB_ATTRIBUTE_BACKEND = 6
};

// Every attribute starts with this; ptdb_open takes a list linked through `next`.
struct ptdb_attribute_base {
  enum ptdb_attribute_type attr;
  union ptdb_attribute* next;
};

// Called for every error and warning, with the context (during ptdb_open too). Must not
// call back into the same context.
struct ptdb_attribute_log {
  struct ptdb_attribute_base base;
  void (*fn)(struct ptdb_context* ctx, enum ptdb_log_level level, enum PTDB_ERROR ecode,
             const char* message, void* data);
  void* data;
};

// Replaces the default hash (Jenkins lookup3 with the database's seed). Every opener of a
// file must use the same function: ptdb_open fails on a file made with another one.
struct ptdb_attribute_hash {
  struct ptdb_attribute_base base;
  uint64_t (*fn)(const void* key, size_t len, uint64_t seed, void* data);
  void* data;
};

// The seed of a new database (only with O_CREAT or PTDB_INTERNAL).
struct ptdb_attribute_seed {
  struct ptdb_attribute_base base;
  uint64_t seed;
};

// Counters, read with ptdb_get_attribute. Set `size` to sizeof(struct
// ptdb_attribute_stats) as you compiled it: the library fills only the counters that fit
// in it and sets `size` to its own size, so new counters (always added at the end) do
// not break old callers.
struct ptdb_attribute_stats {
  struct ptdb_attribute_base base;
  size_t size;
  uint64_t allocs;
  uint64_t alloc_subhash;
  uint64_t alloc_chain;
  uint64_t alloc_grow;
  uint64_t alloc_bucket_exact;
  uint64_t alloc_bucket_max;
  uint64_t alloc_leftover;
  uint64_t alloc_coalesce_tried;
  uint64_t alloc_coalesce_succeeded;
  uint64_t alloc_coalesce_num_merged;
  uint64_t compares;
  uint64_t compare_wrong_offsetbits;
  uint64_t compare_wrong_rechash;
  uint64_t compare_wrong_keylen;
  uint64_t compare_wrong_keycmp;
  uint64_t expands;
  uint64_t frees;
  uint64_t record_grows_in_place;
  uint64_t record_moves;
  uint64_t transactions;
  uint64_t transaction_cancels;
  uint64_t syncs;
  uint64_t unlocked_reads;         // fetch/exists without the group lock (kMutex files)
  uint64_t unlocked_read_retries;  // found the group changed meanwhile: read again, locked
  uint64_t logged_ranges;          // pmem: ranges copied to libpmemobj's undo log
};

// Runs during ptdb_open with the file's descriptor, under the open lock and before the
// header is read; a file left empty is then initialised. Anything but PTDB_SUCCESS fails
// the open. This is how TDB1's CLEAR_IF_FIRST is emulated. Not called for PTDB_INTERNAL.
struct ptdb_attribute_openhook {
  struct ptdb_attribute_base base;
  enum PTDB_ERROR (*fn)(int fd, void* data);
  void* data;
};

// Replaces fcntl byte-range locking (a database created with fcntl locking: one created
// with this attribute is). rw is F_RDLCK or F_WRLCK (F_UNLCK for unlock); len 0 means "to
// the end". Return 0, or -1 with errno; EAGAIN or EINTR fail the call with PTDB_ERR_LOCK
// without a log message (non-blocking use, timeouts).
struct ptdb_attribute_flock {
  struct ptdb_attribute_base base;
  int (*lock)(int fd, int rw, off_t off, off_t len, bool waitflag, void* data);
  int (*unlock)(int fd, int rw, off_t off, off_t len, void* data);
  void* data;
};

enum ptdb_backend { PTDB_BACKEND_FILE = 1, PTDB_BACKEND_PMEM = 2 };

// Chooses where a NEW database lives (an existing one's backend is detected): a file, or a
// libpmemobj pool of pool_size bytes (0: a default).
struct ptdb_attribute_backend {
  struct ptdb_attribute_base base;
  enum ptdb_backend backend;
  uint64_t pool_size;
};

union ptdb_attribute {
  struct ptdb_attribute_base base;
  struct ptdb_attribute_log log;
  struct ptdb_attribute_hash hash;
  struct ptdb_attribute_seed seed;
  struct ptdb_attribute_stats stats;
  struct ptdb_attribute_openhook openhook;
  struct ptdb_attribute_flock flock;
  struct ptdb_attribute_backend backend;
};

// Opens (with O_CREAT, creates) the database `name`; `name` may be NULL only with
// PTDB_INTERNAL. open_flags are open(2)'s (O_RDONLY or O_RDWR, optionally O_CREAT,
// O_TRUNC, O_EXCL); mode is for a created file. Returns NULL with errno set on failure:
// open(2)'s own errno when the file could not be opened, otherwise EIO (corrupt or I/O
// error), EWOULDBLOCK (lock), ENOMEM or EINVAL. The log attribute, if given, hears why.
PTDB_EXPORT struct ptdb_context* ptdb_open(const char* name, int ptdb_flags, int open_flags,
                                           mode_t mode, union ptdb_attribute* attributes);

// Closes and frees the context, even on failure. Returns 0.
PTDB_EXPORT int ptdb_close(struct ptdb_context* ctx);

// Stores `data` under `key`; flag is PTDB_REPLACE, PTDB_INSERT or PTDB_MODIFY.
PTDB_EXPORT enum PTDB_ERROR ptdb_store(struct ptdb_context* ctx, struct ptdb_data key,
                                       struct ptdb_data data, int flag);

// On success data->dptr is a malloc'd copy of the value (free it); PTDB_ERR_NOEXIST if the
// key is absent.
PTDB_EXPORT enum PTDB_ERROR ptdb_fetch(struct ptdb_context* ctx, struct ptdb_data key,
                                       struct ptdb_data* data);

// Appends `data` to the key's value; stores it if the key is absent.
PTDB_EXPORT enum PTDB_ERROR ptdb_append(struct ptdb_context* ctx, struct ptdb_data key,
                                        struct ptdb_data data);

// PTDB_ERR_NOEXIST if the key is absent.
PTDB_EXPORT enum PTDB_ERROR ptdb_delete(struct ptdb_context* ctx, struct ptdb_data key);

// False if the key is absent or on error; ptdb_error() tells which.
PTDB_EXPORT bool ptdb_exists(struct ptdb_context* ctx, struct ptdb_data key);

// Calls parse(key, data, p) with the value in place (no copy) and returns what parse
// returned, or PTDB_ERR_NOEXIST. parse must not write to the database.
PTDB_EXPORT enum PTDB_ERROR ptdb_parse_record(
    struct ptdb_context* ctx, struct ptdb_data key,
    enum PTDB_ERROR (*parse)(struct ptdb_data key, struct ptdb_data data, void* p), void* p);

// Calls fn(ctx, key, data, p) for every record until fn returns non-zero (fn may be NULL
// to count). Returns the number of records visited, including the one that stopped the
// walk, or a negative enum PTDB_ERROR. No lock is held while fn runs, so fn may change the
// database; deleting the current record is safe, other changes may be seen or missed.
PTDB_EXPORT int64_t ptdb_traverse(struct ptdb_context* ctx,
                                  int (*fn)(struct ptdb_context* ctx, struct ptdb_data key,
                                            struct ptdb_data data, void* p),
                                  void* p);

// Iteration by key: ptdb_firstkey, then ptdb_nextkey until PTDB_ERR_NOEXIST. Keys are
// malloc'd; ptdb_nextkey frees the key it is given (and sets dptr to NULL when it fails).
PTDB_EXPORT enum PTDB_ERROR ptdb_firstkey(struct ptdb_context* ctx, struct ptdb_data* key);
PTDB_EXPORT enum PTDB_ERROR ptdb_nextkey(struct ptdb_context* ctx, struct ptdb_data* key);

// The sequence number (bumped by writes of contexts with PTDB_SEQNUM), or a negative
// enum PTDB_ERROR.
PTDB_EXPORT int64_t ptdb_get_seqnum(struct ptdb_context* ctx);

// Chain locks: hold the lock of the key's top-level hash group across calls. The unlocks
// record their outcome in ptdb_error().
PTDB_EXPORT enum PTDB_ERROR ptdb_chainlock(struct ptdb_context* ctx, struct ptdb_data key);
PTDB_EXPORT void ptdb_chainunlock(struct ptdb_context* ctx, struct ptdb_data key);
PTDB_EXPORT enum PTDB_ERROR ptdb_chainlock_read(struct ptdb_context* ctx, struct ptdb_data key);
PTDB_EXPORT void ptdb_chainunlock_read(struct ptdb_context* ctx, struct ptdb_data key);

// The allrecord lock: every hash group. Nested calls count.
PTDB_EXPORT enum PTDB_ERROR ptdb_lockall(struct ptdb_context* ctx);
PTDB_EXPORT void ptdb_unlockall(struct ptdb_context* ctx);
PTDB_EXPORT enum PTDB_ERROR ptdb_lockall_read(struct ptdb_context* ctx);
PTDB_EXPORT void ptdb_unlockall_read(struct ptdb_context* ctx);

// Write transactions: atomic, one sync per durable commit (docs/transactions.md). A nested
// start fails unless PTDB_ALLOW_NESTING; an inner cancel makes the outer commit fail.
PTDB_EXPORT enum PTDB_ERROR ptdb_transaction_start(struct ptdb_context* ctx);
PTDB_EXPORT enum PTDB_ERROR ptdb_transaction_prepare_commit(struct ptdb_context* ctx);
PTDB_EXPORT enum PTDB_ERROR ptdb_transaction_commit(struct ptdb_context* ctx);
PTDB_EXPORT void ptdb_transaction_cancel(struct ptdb_context* ctx);

// Read-only transactions (ptdb::Db::ReadTransactionStart): one consistent state across
// many reads; writers wait until they end. Not part of TDB2's interface.
PTDB_EXPORT enum PTDB_ERROR ptdb_read_transaction_start(struct ptdb_context* ctx);
PTDB_EXPORT enum PTDB_ERROR ptdb_read_transaction_end(struct ptdb_context* ctx);

// Deletes every record; a file database gives its space back (ptdb::Db::WipeAll).
PTDB_EXPORT enum PTDB_ERROR ptdb_wipe_all(struct ptdb_context* ctx);
// Rewrites every record compactly inside a transaction (the caller's or its own) and
// gives back the space left over (ptdb::Db::Repack).
PTDB_EXPORT enum PTDB_ERROR ptdb_repack(struct ptdb_context* ctx);

// Verifies the whole database; PTDB_ERR_CORRUPT if anything is wrong. check (may be NULL)
// is called for every record; a result other than PTDB_SUCCESS aborts the check with it.
PTDB_EXPORT enum PTDB_ERROR ptdb_check(struct ptdb_context* ctx,
                                       enum PTDB_ERROR (*check)(struct ptdb_data key,
                                                                struct ptdb_data data, void* p),
                                       void* p);

// ptdb::RescueFlag.
enum ptdb_rescue_flags { PTDB_RESCUE_UNREACHABLE = 1 };

// What ptdb_rescue found (ptdb::RescueReport).
struct ptdb_rescue_report {
  uint64_t records;            // handed to the callback
  uint64_t lost_entries;       // hash entries leading to nothing sound: what they held is lost
  uint64_t duplicates;         // further entries for a key already handed over, skipped
  int space_scanned;           // whether the space could be parsed, so that unreachable is known
  uint64_t unreachable;        // sound records no hash entry leads to
  uint64_t unreachable_saved;  // of those, handed over (PTDB_RESCUE_UNREACHABLE)
};

// Salvage from a database ptdb_check calls corrupt (ptdb::Db::Rescue): rescue is called
// for every record the hash tree still leads to soundly, each key once; damage is passed
// over. A result other than PTDB_SUCCESS stops it with that result. Writes nothing.
// flags: 0 or PTDB_RESCUE_UNREACHABLE. report may be NULL.
PTDB_EXPORT enum PTDB_ERROR ptdb_rescue(struct ptdb_context* ctx, enum ptdb_rescue_flags flags,
                                        enum PTDB_ERROR (*rescue)(struct ptdb_data key,
                                                                  struct ptdb_data data, void* p),
                                        void* p, struct ptdb_rescue_report* report);

// ptdb_rescue for a database file that ptdb_open refuses as damaged (a zone record
// overwritten, say): reads the file directly, with no context, no locks and no recovery,
// so nothing may be writing to it (ptdb::Db::RescueFile). attributes may hold
// PTDB_ATTRIBUTE_HASH (the file's hash function) and PTDB_ATTRIBUTE_LOG (called with a
// NULL context); any other is PTDB_ERR_EINVAL. A pool is PTDB_ERR_EINVAL: open it and
// call ptdb_rescue. report may be NULL.
PTDB_EXPORT enum PTDB_ERROR ptdb_rescue_file(
    const char* name, union ptdb_attribute* attributes, enum ptdb_rescue_flags flags,
    enum PTDB_ERROR (*rescue)(struct ptdb_data key, struct ptdb_data data, void* p), void* p,
    struct ptdb_rescue_report* report);

// A malloc'd multi-line report on space use (with PTDB_SUMMARY_HISTOGRAMS, histograms).
PTDB_EXPORT enum PTDB_ERROR ptdb_summary(struct ptdb_context* ctx, enum ptdb_summary_flags flags,
                                         char** summary);

// The last error recorded on this context.
PTDB_EXPORT enum PTDB_ERROR ptdb_error(struct ptdb_context* ctx);

// Names an error code ("Invalid error code" for anything else).
PTDB_EXPORT const char* ptdb_errorstr(enum PTDB_ERROR ecode);

// The context's flags. add/remove change one of PTDB_NOLOCK, PTDB_NOMMAP, PTDB_NOSYNC,
// PTDB_SEQNUM, PTDB_ALLOW_NESTING, PTDB_RDONLY (not on PTDB_INTERNAL contexts; PTDB_RDONLY
// cannot be removed from an O_RDONLY context); the outcome goes to ptdb_error().
PTDB_EXPORT unsigned int ptdb_get_flags(struct ptdb_context* ctx);
PTDB_EXPORT void ptdb_add_flag(struct ptdb_context* ctx, unsigned flag);
PTDB_EXPORT void ptdb_remove_flag(struct ptdb_context* ctx, unsigned flag);

// Reads the attribute named by attr->base.attr into *attr. LOG, OPENHOOK and FLOCK give
// PTDB_ERR_NOEXIST when not set; HASH gives the default hash when none was given.
PTDB_EXPORT enum PTDB_ERROR ptdb_get_attribute(struct ptdb_context* ctx,
                                               union ptdb_attribute* attr);
// LOG can be set after opening; FLOCK too on a context opened with FLOCK (its locks go
// through hooks from the open on; others lock with mutexes or plain fcntl). Anything else
// is PTDB_ERR_EINVAL.
PTDB_EXPORT enum PTDB_ERROR ptdb_set_attribute(struct ptdb_context* ctx,
                                               const union ptdb_attribute* attr);
// Removes the LOG, OPENHOOK or FLOCK attribute (FLOCK: back to fcntl); anything else is
// PTDB_ERR_EINVAL (see ptdb_error).
PTDB_EXPORT void ptdb_unset_attribute(struct ptdb_context* ctx, enum ptdb_attribute_type type);

// The name given to ptdb_open (NULL if it was NULL).
PTDB_EXPORT const char* ptdb_name(const struct ptdb_context* ctx);
// The file descriptor, or -1 for PTDB_INTERNAL.
PTDB_EXPORT int ptdb_fd(const struct ptdb_context* ctx);

// Calls fn(ctx, p) for every open context of the process until fn returns non-zero. fn
// may open and close contexts; one opened meanwhile may be seen or missed.
PTDB_EXPORT void ptdb_foreach(int (*fn)(struct ptdb_context* ctx, void* p), void* p);

// Whether two keys or values hold the same bytes.
static inline bool ptdb_deq(struct ptdb_data a, struct ptdb_data b) {
  return a.dsize == b.dsize && (a.dsize == 0 || memcmp(a.dptr, b.dptr, a.dsize) == 0);
}

// A ptdb_data over constant bytes (the library never writes through a key or value it is
// given).
static inline struct ptdb_data ptdb_mkdata(const void* p, size_t len) {
  struct ptdb_data d;
  d.dptr = (unsigned char*)(uintptr_t)p;
  d.dsize = len;
  return d;
}

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // PTDB_PTDB_H_
