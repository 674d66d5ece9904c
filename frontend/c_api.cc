// The C API (ptdb/ptdb.h) over ptdb::Db. A context owns its Db plus what TDB2 keeps
// per context and the C++ API does not: the last error, the C attributes (which the
// C++ hooks forward to) and the name as given. No C++ exception crosses into C.
#include "ptdb/ptdb.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/errors.h"
#include "common/format.h"
#include "common/hash.h"
#include "frontend/c_context.h"
#include "ptdb/db.h"

namespace ptdb {
namespace {

static_assert(int(Error::kSuccess) == PTDB_SUCCESS && int(Error::kCorrupt) == PTDB_ERR_CORRUPT &&
              int(Error::kIo) == PTDB_ERR_IO && int(Error::kLock) == PTDB_ERR_LOCK &&
              int(Error::kOom) == PTDB_ERR_OOM && int(Error::kExists) == PTDB_ERR_EXISTS &&
              int(Error::kNoExist) == PTDB_ERR_NOEXIST && int(Error::kEinval) == PTDB_ERR_EINVAL &&
              int(Error::kRdonly) == PTDB_ERR_RDONLY);
static_assert(kInternal == PTDB_INTERNAL && kNoLock == PTDB_NOLOCK && kNoMmap == PTDB_NOMMAP &&
              kNoSync == PTDB_NOSYNC && kSeqnum == PTDB_SEQNUM &&
              kAllowNesting == PTDB_ALLOW_NESTING && kRdonly == PTDB_RDONLY &&
              kCantCheck == PTDB_CANT_CHECK);
static_assert(int(StoreMode::kReplace) == PTDB_REPLACE && int(StoreMode::kInsert) == PTDB_INSERT &&
              int(StoreMode::kModify) == PTDB_MODIFY);
static_assert(int(LogLevel::kError) == PTDB_LOG_ERROR &&
              int(LogLevel::kUseError) == PTDB_LOG_USE_ERROR &&
              int(LogLevel::kWarning) == PTDB_LOG_WARNING);
// A counter added to Stats must be added (at the end) to ptdb_attribute_stats too.
static_assert(sizeof(Stats) == 25 * sizeof(uint64_t));
static_assert(sizeof(ptdb_attribute_stats) ==
              offsetof(ptdb_attribute_stats, allocs) + sizeof(Stats));

// Every open context, for ptdb_foreach: the only process-wide state. Recursive, so a
// ptdb_foreach callback may open and close contexts.
struct Registry {
  std::recursive_mutex mu;
  std::vector<ptdb_context*> open;
};

Registry& Contexts() {
  static Registry* registry = new Registry;  // never destroyed: closes may run at exit
  return *registry;
}

// The library never writes through what it hands to callbacks; the C type is not const.
struct ptdb_data Data(std::string_view s) {
  return ptdb_mkdata(s.data(), s.size());
}

// A malloc'd copy (never a NULL pointer, even for zero bytes), or false.
bool CopyOut(std::string_view s, struct ptdb_data* out) {
  void* p = std::malloc(s.empty() ? 1 : s.size());
  if (p == nullptr) return false;
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  out->dptr = static_cast<unsigned char*>(p);
  out->dsize = s.size();
  return true;
}

enum PTDB_ERROR UseError(ptdb_context* ctx, const char* what, const char* attr_name) {
  Log(ctx, PTDB_LOG_USE_ERROR, PTDB_ERR_EINVAL, "%s %s", what, attr_name);
  return ctx->last_error = PTDB_ERR_EINVAL;
}

// A C caller may put any int in an enum, but in C++ reading a value outside the enum's
// range as the enum type is undefined: read it as the int it is.
template <class Enum>
int AsInt(const Enum& e) {
  static_assert(sizeof(Enum) == sizeof(int));
  int v;
  std::memcpy(&v, &e, sizeof(v));
  return v;
}

const char* AttributeName(int type) {
  switch (type) {
    case PTDB_ATTRIBUTE_LOG:
      return "PTDB_ATTRIBUTE_LOG";
    case PTDB_ATTRIBUTE_HASH:
      return "PTDB_ATTRIBUTE_HASH";
    case PTDB_ATTRIBUTE_SEED:
      return "PTDB_ATTRIBUTE_SEED";
    case PTDB_ATTRIBUTE_STATS:
      return "PTDB_ATTRIBUTE_STATS";
    case PTDB_ATTRIBUTE_OPENHOOK:
      return "PTDB_ATTRIBUTE_OPENHOOK";
    case PTDB_ATTRIBUTE_FLOCK:
      return "PTDB_ATTRIBUTE_FLOCK";
    case PTDB_ATTRIBUTE_BACKEND:
      return "PTDB_ATTRIBUTE_BACKEND";
  }
  return "(unknown attribute type)";
}

// What ptdb_get_attribute(HASH) hands back when no hash was given: the library's own.
uint64_t DefaultHash(const void* key, size_t len, uint64_t seed, void*) {
  return JenkinsHash64(key, len, seed);
}

// The file backend reports a failed open(2) as "cannot open <name>: <strerror(errno)>";
// TDB2 leaves open(2)'s errno for the caller, so recover it from the text. 0 if absent.
int OpenSyscallErrno(const Status& st) {
  constexpr std::string_view kPrefix = "cannot open ";
  const std::string_view m = st.message();
  if (m.substr(0, kPrefix.size()) != kPrefix) return 0;
  for (int e = 1; e < 4096; e++) {
    const std::string_view text = strerror(e);
    if (m.size() > text.size() + 2 && m.substr(m.size() - text.size()) == text &&
        m.substr(m.size() - text.size() - 2, 2) == ": ") {
      return e;
    }
  }
  return 0;
}

int OpenErrno(const Status& st) {
  switch (st.code()) {
    case Error::kIo:
      if (const int e = OpenSyscallErrno(st)) return e;
      return EIO;
    case Error::kCorrupt:
      return EIO;
    case Error::kLock:
      return EWOULDBLOCK;
    case Error::kOom:
      return ENOMEM;
    default:
      return EINVAL;
  }
}

// What an unset PTDB_ATTRIBUTE_FLOCK falls back to: plain fcntl, 0 or -1 with errno.
int FcntlLock(int fd, int rw, off_t off, off_t len, bool wait) {
  struct flock fl = {};
  fl.l_type = short(rw);
  fl.l_whence = SEEK_SET;
  fl.l_start = off;
  fl.l_len = len;
  return fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl);
}

// Builds the Options and opens; on failure returns NULL and sets *err to an errno value.
ptdb_context* Open(const char* name, int ptdb_flags, int open_flags, mode_t mode,
                   union ptdb_attribute* attributes, int* err) {
  auto ctx = std::make_unique<ptdb_context>();
  ptdb_context* c = ctx.get();
  if (name != nullptr) ctx->name = name;
  // The log attribute first, so that every other attribute's error is reported.
  for (union ptdb_attribute* a = attributes; a != nullptr; a = a->base.next) {
    if (AsInt(a->base.attr) == PTDB_ATTRIBUTE_LOG) ctx->log = a->log;
  }

  Options options;
  options.flags = unsigned(ptdb_flags);
  options.open_flags = open_flags;
  options.mode = unsigned(mode);
  options.log = [c](LogLevel level, Error code, std::string_view message) {
    if (c->log.fn == nullptr) return;
    // The message must be NUL-terminated for C; a hook may not throw.
    try {
      const std::string text(message);
      c->log.fn(c, static_cast<enum ptdb_log_level>(level), static_cast<enum PTDB_ERROR>(code),
                text.c_str(), c->log.data);
    } catch (const std::bad_alloc&) {
      c->log.fn(c, static_cast<enum ptdb_log_level>(level), static_cast<enum PTDB_ERROR>(code),
                "(out of memory copying the log message)", c->log.data);
    }
  };
  for (union ptdb_attribute* a = attributes; a != nullptr; a = a->base.next) {
    switch (AsInt(a->base.attr)) {
      case PTDB_ATTRIBUTE_LOG:
        break;
      case PTDB_ATTRIBUTE_HASH: {
        ctx->hash = a->hash;
        const auto fn = a->hash.fn;
        void* const data = a->hash.data;
        options.hash = [fn, data](const void* key, size_t len, uint64_t seed) {
          return fn(key, len, seed, data);
        };
        break;
      }
      case PTDB_ATTRIBUTE_SEED:
        options.seed = a->seed.seed;
        break;
      case PTDB_ATTRIBUTE_OPENHOOK:
        ctx->openhook = a->openhook;
        options.open_hook = [c](int fd) {
          if (c->openhook.fn == nullptr) return Status::OK();
          const enum PTDB_ERROR code = c->openhook.fn(fd, c->openhook.data);
          return Status(static_cast<Error>(code), "the open hook failed");
        };
        break;
      case PTDB_ATTRIBUTE_FLOCK: {
        if (a->flock.lock == nullptr || a->flock.unlock == nullptr) {
          Log(c, PTDB_LOG_USE_ERROR, PTDB_ERR_EINVAL,
              "ptdb_open: PTDB_ATTRIBUTE_FLOCK needs both lock and unlock");
          *err = EINVAL;
          return nullptr;
        }
        ctx->flock = a->flock;
        ctx->flock_hooked = true;
        // Read at every call: ptdb_set_attribute / ptdb_unset_attribute may change them.
        options.lock_hooks.lock = [c](int fd, int rw, uint64_t off, uint64_t len, bool wait) {
          if (c->flock.lock == nullptr) return FcntlLock(fd, rw, off_t(off), off_t(len), wait);
          return c->flock.lock(fd, rw, off_t(off), off_t(len), wait, c->flock.data);
        };
        options.lock_hooks.unlock = [c](int fd, int rw, uint64_t off, uint64_t len) {
          if (c->flock.unlock == nullptr)
            return FcntlLock(fd, F_UNLCK, off_t(off), off_t(len), false);
          return c->flock.unlock(fd, rw, off_t(off), off_t(len), c->flock.data);
        };
        break;
      }
      case PTDB_ATTRIBUTE_BACKEND:
        switch (AsInt(a->backend.backend)) {
          case PTDB_BACKEND_FILE:
            options.backend = BackendKind::kFile;
            break;
          case PTDB_BACKEND_PMEM:
            options.backend = BackendKind::kPmem;
            break;
          default:
            Log(c, PTDB_LOG_USE_ERROR, PTDB_ERR_EINVAL, "ptdb_open: unknown backend %d",
                AsInt(a->backend.backend));
            *err = EINVAL;
            return nullptr;
        }
        options.pool_size = a->backend.pool_size;
        break;
      default:
        Log(c, PTDB_LOG_USE_ERROR, PTDB_ERR_EINVAL, "ptdb_open: %s cannot be given to open",
            AttributeName(AsInt(a->base.attr)));
        *err = EINVAL;
        return nullptr;
    }
  }
  const Status st = Db::Open(name != nullptr ? name : "", options, &ctx->db);
  if (!st.ok()) {
    *err = OpenErrno(st);
    return nullptr;
  }
  Registry& r = Contexts();
  std::lock_guard<std::recursive_mutex> lock(r.mu);
  r.open.push_back(c);
  return ctx.release();
}

void FillStats(const Stats& s, struct ptdb_attribute_stats* c) {
  c->allocs = s.allocs;
  c->alloc_subhash = s.alloc_subhash;
  c->alloc_chain = s.alloc_chain;
  c->alloc_grow = s.alloc_grow;
  c->alloc_bucket_exact = s.alloc_bucket_exact;
  c->alloc_bucket_max = s.alloc_bucket_max;
  c->alloc_leftover = s.alloc_leftover;
  c->alloc_coalesce_tried = s.alloc_coalesce_tried;
  c->alloc_coalesce_succeeded = s.alloc_coalesce_succeeded;
  c->alloc_coalesce_num_merged = s.alloc_coalesce_num_merged;
  c->compares = s.compares;
  c->compare_wrong_offsetbits = s.compare_wrong_offsetbits;
  c->compare_wrong_rechash = s.compare_wrong_rechash;
  c->compare_wrong_keylen = s.compare_wrong_keylen;
  c->compare_wrong_keycmp = s.compare_wrong_keycmp;
  c->expands = s.expands;
  c->frees = s.frees;
  c->record_grows_in_place = s.record_grows_in_place;
  c->record_moves = s.record_moves;
  c->transactions = s.transactions;
  c->transaction_cancels = s.transaction_cancels;
  c->syncs = s.syncs;
  c->unlocked_reads = s.unlocked_reads;
  c->unlocked_read_retries = s.unlocked_read_retries;
  c->logged_ranges = s.logged_ranges;
}

// TDB2's size negotiation: the caller's struct may be older (smaller) or newer (larger)
// than ours. Fill the counters that fit in both, and tell the caller our size.
Status GetStats(ptdb_context* ctx, struct ptdb_attribute_stats* out) {
  Stats stats;
  PTDB_RETURN_IF_ERROR(ctx->db->GetStats(&stats));
  struct ptdb_attribute_stats full = {};
  FillStats(stats, &full);
  constexpr size_t kStart = offsetof(ptdb_attribute_stats, allocs);
  const size_t end = std::min(out->size, sizeof(full));
  if (end > kStart) {
    std::memcpy(reinterpret_cast<char*>(out) + kStart, reinterpret_cast<char*>(&full) + kStart,
                end - kStart);
  }
  out->size = sizeof(full);
  return Status::OK();
}

Status GetAttribute(ptdb_context* ctx, union ptdb_attribute* attr) {
  switch (AsInt(attr->base.attr)) {
    case PTDB_ATTRIBUTE_LOG:
      if (ctx->log.fn == nullptr) return Status(Error::kNoExist, "");
      attr->log.fn = ctx->log.fn;
      attr->log.data = ctx->log.data;
      break;
    case PTDB_ATTRIBUTE_HASH:
      attr->hash.fn = ctx->hash.fn != nullptr ? ctx->hash.fn : DefaultHash;
      attr->hash.data = ctx->hash.fn != nullptr ? ctx->hash.data : nullptr;
      break;
    case PTDB_ATTRIBUTE_SEED:
      attr->seed.seed = ctx->db->HashSeed();
      break;
    case PTDB_ATTRIBUTE_STATS:
      PTDB_RETURN_IF_ERROR(GetStats(ctx, &attr->stats));
      break;
    case PTDB_ATTRIBUTE_OPENHOOK:
      if (ctx->openhook.fn == nullptr) return Status(Error::kNoExist, "");
      attr->openhook.fn = ctx->openhook.fn;
      attr->openhook.data = ctx->openhook.data;
      break;
    case PTDB_ATTRIBUTE_FLOCK:
      if (ctx->flock.lock == nullptr) return Status(Error::kNoExist, "");
      attr->flock.lock = ctx->flock.lock;
      attr->flock.unlock = ctx->flock.unlock;
      attr->flock.data = ctx->flock.data;
      break;
    default:
      Log(ctx, PTDB_LOG_USE_ERROR, PTDB_ERR_EINVAL, "ptdb_get_attribute: unknown attribute type %d",
          AsInt(attr->base.attr));
      return Status(Error::kEinval, "unknown attribute type");
  }
  attr->base.next = nullptr;
  return Status::OK();
}

using CRescueFn = enum PTDB_ERROR (*)(struct ptdb_data key, struct ptdb_data data, void* p);

RescueFn RescueCallback(CRescueFn rescue, void* p) {
  return [rescue, p](std::string_view k, std::string_view d) {
    return Status(static_cast<Error>(rescue(Data(k), Data(d), p)),
                  "the rescue callback stopped it");
  };
}

void FillRescueReport(const RescueReport& found, struct ptdb_rescue_report* report) {
  if (report == nullptr) return;
  *report = ptdb_rescue_report{found.records,     found.lost_entries,
                               found.duplicates,  found.space_scanned ? 1 : 0,
                               found.unreachable, found.unreachable_saved};
}

}  // namespace
}  // namespace ptdb

using ptdb::Status;

extern "C" {

struct ptdb_context* ptdb_open(const char* name, int ptdb_flags, int open_flags, mode_t mode,
                               union ptdb_attribute* attributes) {
  // errno is set last, once nothing (a log function, a destructor) can change it.
  int err = EIO;
  struct ptdb_context* ctx = nullptr;
  try {
    ctx = ptdb::Open(name, ptdb_flags, open_flags, mode, attributes, &err);
  } catch (const std::bad_alloc&) {
    err = ENOMEM;
  } catch (...) {
    err = EIO;
  }
  if (ctx == nullptr) errno = err;
  return ctx;
}

int ptdb_close(struct ptdb_context* ctx) {
  if (ctx == nullptr) return 0;
  {
    ptdb::Registry& r = ptdb::Contexts();
    std::lock_guard<std::recursive_mutex> lock(r.mu);
    r.open.erase(std::remove(r.open.begin(), r.open.end(), ctx), r.open.end());
  }
  delete ctx;
  return 0;
}

enum PTDB_ERROR ptdb_store(struct ptdb_context* ctx, struct ptdb_data key, struct ptdb_data data,
                           int flag) {
  return ptdb::Call(ctx, "ptdb_store", [&] {
    return ctx->db->Store(ptdb::View(key), ptdb::View(data), static_cast<ptdb::StoreMode>(flag));
  });
}

enum PTDB_ERROR ptdb_fetch(struct ptdb_context* ctx, struct ptdb_data key, struct ptdb_data* data) {
  // Copy straight from the record into the caller's buffer (one copy, not two).
  return ptdb::Call(ctx, "ptdb_fetch", [&] {
    return ctx->db->ParseRecord(ptdb::View(key), [&](std::string_view, std::string_view value) {
      if (!ptdb::CopyOut(value, data)) {
        return Status(ptdb::Error::kOom, "ptdb_fetch: cannot allocate the value");
      }
      return Status::OK();
    });
  });
}

enum PTDB_ERROR ptdb_append(struct ptdb_context* ctx, struct ptdb_data key, struct ptdb_data data) {
  return ptdb::Call(ctx, "ptdb_append",
                    [&] { return ctx->db->Append(ptdb::View(key), ptdb::View(data)); });
}

enum PTDB_ERROR ptdb_delete(struct ptdb_context* ctx, struct ptdb_data key) {
  return ptdb::Call(ctx, "ptdb_delete", [&] { return ctx->db->Delete(ptdb::View(key)); });
}

bool ptdb_exists(struct ptdb_context* ctx, struct ptdb_data key) {
  bool exists = false;
  const enum PTDB_ERROR code =
      ptdb::Call(ctx, "ptdb_exists", [&] { return ctx->db->Exists(ptdb::View(key), &exists); });
  return code == PTDB_SUCCESS && exists;
}

enum PTDB_ERROR ptdb_parse_record(struct ptdb_context* ctx, struct ptdb_data key,
                                  enum PTDB_ERROR (*parse)(struct ptdb_data key,
                                                           struct ptdb_data data, void* p),
                                  void* p) {
  return ptdb::Call(ctx, "ptdb_parse_record", [&] {
    ptdb::ParseFn fn;
    if (parse != nullptr) {
      fn = [&](std::string_view, std::string_view value) {
        return Status(static_cast<ptdb::Error>(parse(key, ptdb::Data(value), p)),
                      "the parse_record callback failed");
      };
    }
    return ctx->db->ParseRecord(ptdb::View(key), fn);
  });
}

int64_t ptdb_traverse(struct ptdb_context* ctx,
                      int (*fn)(struct ptdb_context* ctx, struct ptdb_data key,
                                struct ptdb_data data, void* p),
                      void* p) {
  uint64_t count = 0;
  const enum PTDB_ERROR code = ptdb::Call(ctx, "ptdb_traverse", [&] {
    ptdb::TraverseFn walk;
    if (fn != nullptr) {
      walk = [&](std::string_view k, std::string_view d) {
        return fn(ctx, ptdb::Data(k), ptdb::Data(d), p) == 0;
      };
    }
    return ctx->db->Traverse(walk, &count);
  });
  return code == PTDB_SUCCESS ? int64_t(count) : int64_t(code);
}

enum PTDB_ERROR ptdb_firstkey(struct ptdb_context* ctx, struct ptdb_data* key) {
  return ptdb::Call(ctx, "ptdb_firstkey", [&] {
    std::string k;
    Status st = ctx->db->FirstKey(&k);
    if (st.ok() && !ptdb::CopyOut(k, key)) st = Status(ptdb::Error::kOom, "");
    return st;
  });
}

enum PTDB_ERROR ptdb_nextkey(struct ptdb_context* ctx, struct ptdb_data* key) {
  return ptdb::Call(ctx, "ptdb_nextkey", [&] {
    std::string k(ptdb::View(*key));
    std::free(key->dptr);
    *key = ptdb_mkdata(nullptr, 0);
    Status st = ctx->db->NextKey(&k);
    if (st.ok() && !ptdb::CopyOut(k, key)) st = Status(ptdb::Error::kOom, "");
    return st;
  });
}

int64_t ptdb_get_seqnum(struct ptdb_context* ctx) {
  uint64_t seqnum = 0;
  const enum PTDB_ERROR code =
      ptdb::Call(ctx, "ptdb_get_seqnum", [&] { return ctx->db->GetSeqnum(&seqnum); });
  return code == PTDB_SUCCESS ? int64_t(seqnum) : int64_t(code);
}

enum PTDB_ERROR ptdb_wipe_all(struct ptdb_context* ctx) {
  return ptdb::Call(ctx, "ptdb_wipe_all", [&] { return ctx->db->WipeAll(); });
}

enum PTDB_ERROR ptdb_repack(struct ptdb_context* ctx) {
  return ptdb::Call(ctx, "ptdb_repack", [&] { return ctx->db->Repack(); });
}

enum PTDB_ERROR ptdb_check(struct ptdb_context* ctx,
                           enum PTDB_ERROR (*check)(struct ptdb_data key, struct ptdb_data data,
                                                    void* p),
                           void* p) {
  return ptdb::Call(ctx, "ptdb_check", [&] {
    ptdb::CheckFn fn;
    if (check != nullptr) {
      fn = [&](std::string_view k, std::string_view d) {
        return Status(static_cast<ptdb::Error>(check(ptdb::Data(k), ptdb::Data(d), p)),
                      "the check callback refused a record");
      };
    }
    return ctx->db->Check(fn);
  });
}

enum PTDB_ERROR ptdb_rescue(struct ptdb_context* ctx, enum ptdb_rescue_flags flags,
                            ptdb::CRescueFn rescue, void* p, struct ptdb_rescue_report* report) {
  return ptdb::Call(ctx, "ptdb_rescue", [&] {
    if (rescue == nullptr) return Status(ptdb::Error::kEinval, "ptdb_rescue: no callback");
    ptdb::RescueReport found;
    Status st = ctx->db->Rescue(ptdb::RescueCallback(rescue, p), &found, unsigned(flags));
    ptdb::FillRescueReport(found, report);
    return st;
  });
}

enum PTDB_ERROR ptdb_rescue_file(const char* name, union ptdb_attribute* attributes,
                                 enum ptdb_rescue_flags flags, ptdb::CRescueFn rescue, void* p,
                                 struct ptdb_rescue_report* report) {
  try {
    ptdb::Options options;
    ptdb_attribute_log log = {};
    for (union ptdb_attribute* a = attributes; a != nullptr; a = a->base.next) {
      switch (ptdb::AsInt(a->base.attr)) {
        case PTDB_ATTRIBUTE_LOG:
          log = a->log;
          break;
        case PTDB_ATTRIBUTE_HASH: {
          const auto fn = a->hash.fn;
          void* const data = a->hash.data;
          options.hash = [fn, data](const void* key, size_t len, uint64_t seed) {
            return fn(key, len, seed, data);
          };
          break;
        }
        default:
          return PTDB_ERR_EINVAL;
      }
    }
    if (log.fn != nullptr) {
      options.log = [log](ptdb::LogLevel level, ptdb::Error code, std::string_view msg) {
        const std::string text(msg);
        log.fn(nullptr, static_cast<enum ptdb_log_level>(level), static_cast<enum PTDB_ERROR>(code),
               text.c_str(), log.data);
      };
    }
    if (name == nullptr || rescue == nullptr) return PTDB_ERR_EINVAL;
    ptdb::RescueReport found;
    const Status st = ptdb::Db::RescueFile(name, options, ptdb::RescueCallback(rescue, p), &found,
                                           unsigned(flags));
    ptdb::FillRescueReport(found, report);
    return ptdb::Code(st);
  } catch (const std::bad_alloc&) {
    return PTDB_ERR_OOM;
  }
}

enum PTDB_ERROR ptdb_summary(struct ptdb_context* ctx, enum ptdb_summary_flags flags,
                             char** summary) {
  return ptdb::Call(ctx, "ptdb_summary", [&] {
    std::string report;
    Status st = ctx->db->Summary((ptdb::AsInt(flags) & PTDB_SUMMARY_HISTOGRAMS) != 0, &report);
    if (!st.ok()) return st;
    char* out = static_cast<char*>(std::malloc(report.size() + 1));
    if (out == nullptr) return Status(ptdb::Error::kOom, "");
    std::memcpy(out, report.c_str(), report.size() + 1);
    *summary = out;
    return Status::OK();
  });
}

enum PTDB_ERROR ptdb_error(struct ptdb_context* ctx) { return ctx->last_error; }

const char* ptdb_errorstr(enum PTDB_ERROR ecode) {
  return ptdb::ErrorString(static_cast<ptdb::Error>(ecode));
}

unsigned int ptdb_get_flags(struct ptdb_context* ctx) { return ctx->db->GetFlags(); }

void ptdb_add_flag(struct ptdb_context* ctx, unsigned flag) {
  ptdb::Call(ctx, "ptdb_add_flag", [&] { return ctx->db->AddFlag(flag); });
}

void ptdb_remove_flag(struct ptdb_context* ctx, unsigned flag) {
  ptdb::Call(ctx, "ptdb_remove_flag", [&] { return ctx->db->RemoveFlag(flag); });
}

enum PTDB_ERROR ptdb_get_attribute(struct ptdb_context* ctx, union ptdb_attribute* attr) {
  return ptdb::Call(ctx, "ptdb_get_attribute", [&] { return ptdb::GetAttribute(ctx, attr); });
}

enum PTDB_ERROR ptdb_set_attribute(struct ptdb_context* ctx, const union ptdb_attribute* attr) {
  switch (ptdb::AsInt(attr->base.attr)) {
    case PTDB_ATTRIBUTE_LOG:
      ctx->log.fn = attr->log.fn;
      ctx->log.data = attr->log.data;
      return ctx->last_error = PTDB_SUCCESS;
    case PTDB_ATTRIBUTE_FLOCK:
      if (!ctx->flock_hooked) {
        return ptdb::UseError(ctx,
                              "ptdb_set_attribute: only a database opened with it (its locks go "
                              "through the hooks from the open on) can change",
                              "PTDB_ATTRIBUTE_FLOCK");
      }
      if (attr->flock.lock == nullptr || attr->flock.unlock == nullptr) {
        return ptdb::UseError(
            ctx, "ptdb_set_attribute: needs both lock and unlock:", "PTDB_ATTRIBUTE_FLOCK");
      }
      ctx->flock = attr->flock;
      return ctx->last_error = PTDB_SUCCESS;
    case PTDB_ATTRIBUTE_HASH:
    case PTDB_ATTRIBUTE_SEED:
    case PTDB_ATTRIBUTE_STATS:
    case PTDB_ATTRIBUTE_OPENHOOK:
      return ptdb::UseError(ctx, "ptdb_set_attribute: cannot set after opening:",
                            ptdb::AttributeName(ptdb::AsInt(attr->base.attr)));
  }
  return ptdb::UseError(ctx,
                        "ptdb_set_attribute:", ptdb::AttributeName(ptdb::AsInt(attr->base.attr)));
}

void ptdb_unset_attribute(struct ptdb_context* ctx, enum ptdb_attribute_type type) {
  switch (ptdb::AsInt(type)) {
    case PTDB_ATTRIBUTE_LOG:
      ctx->log.fn = nullptr;
      ctx->log.data = nullptr;
      ctx->last_error = PTDB_SUCCESS;
      return;
    case PTDB_ATTRIBUTE_OPENHOOK:
      ctx->openhook.fn = nullptr;
      ctx->openhook.data = nullptr;
      ctx->last_error = PTDB_SUCCESS;
      return;
    case PTDB_ATTRIBUTE_FLOCK:
      // Back to fcntl (what a database opened without hooks already uses).
      ctx->flock.lock = nullptr;
      ctx->flock.unlock = nullptr;
      ctx->flock.data = nullptr;
      ctx->last_error = PTDB_SUCCESS;
      return;
    case PTDB_ATTRIBUTE_HASH:
    case PTDB_ATTRIBUTE_SEED:
    case PTDB_ATTRIBUTE_STATS:
      ptdb::UseError(ctx, "ptdb_unset_attribute: cannot unset after opening:",
                     ptdb::AttributeName(ptdb::AsInt(type)));
      return;
  }
  ptdb::UseError(ctx, "ptdb_unset_attribute:", ptdb::AttributeName(ptdb::AsInt(type)));
}

const char* ptdb_name(const struct ptdb_context* ctx) {
  return ctx->name ? ctx->name->c_str() : nullptr;
}

int ptdb_fd(const struct ptdb_context* ctx) { return ctx->db->Fd(); }

void ptdb_foreach(int (*fn)(struct ptdb_context* ctx, void* p), void* p) {
  ptdb::Registry& r = ptdb::Contexts();
  std::lock_guard<std::recursive_mutex> lock(r.mu);
  std::vector<ptdb_context*> snapshot;
  try {
    snapshot = r.open;
  } catch (const std::bad_alloc&) {
    return;
  }
  for (ptdb_context* ctx : snapshot) {
    // fn may have closed a context that was still to come.
    if (std::find(r.open.begin(), r.open.end(), ctx) == r.open.end()) continue;
    if (fn(ctx, p) != 0) break;
  }
}

}  // extern "C"
