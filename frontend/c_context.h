// What the C API's files share: the context behind a struct ptdb_context*, and how a call
// records its outcome as the context's last error.
#ifndef PTDB_FRONTEND_C_CONTEXT_H_
#define PTDB_FRONTEND_C_CONTEXT_H_

#include <cstdarg>
#include <cstdio>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>

#include "ptdb/db.h"
#include "ptdb/ptdb.h"

struct ptdb_context {
  enum PTDB_ERROR last_error = PTDB_SUCCESS;
  std::optional<std::string> name;  // nullopt: opened with a NULL name
  struct ptdb_attribute_log log = {};
  struct ptdb_attribute_hash hash = {};  // fn NULL: the default hash
  struct ptdb_attribute_openhook openhook = {};
  struct ptdb_attribute_flock flock = {};  // lock NULL: fcntl
  // Opened with PTDB_ATTRIBUTE_FLOCK: every byte-range lock goes through `flock` (or
  // fcntl while it is unset), so ptdb_set_attribute can change it.
  bool flock_hooked = false;
  // Last, so it is destroyed first: the Db's hooks use the members above.
  std::unique_ptr<ptdb::Db> db;
};

namespace ptdb {

inline enum PTDB_ERROR Code(const Status& st) { return static_cast<enum PTDB_ERROR>(st.code()); }

inline std::string_view View(struct ptdb_data d) {
  return d.dsize ? std::string_view(reinterpret_cast<const char*>(d.dptr), d.dsize)
                 : std::string_view();
}

// Errors found by this layer go to the context's log function like the library's own.
[[gnu::format(printf, 4, 5)]] inline void Log(ptdb_context* ctx, enum ptdb_log_level level,
                                              enum PTDB_ERROR code, const char* fmt, ...) {
  if (ctx->log.fn == nullptr) return;
  char message[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof(message), fmt, ap);
  va_end(ap);
  ctx->log.fn(ctx, level, code, message, ctx->log.data);
}

// Runs a call that yields a Status, records its code as the last error and returns it.
// Allocation failures in this layer become PTDB_ERR_OOM without allocating again.
template <class F>
inline enum PTDB_ERROR Call(ptdb_context* ctx, const char* op, F&& f) noexcept {
  enum PTDB_ERROR code;
  try {
    code = Code(f());
  } catch (const std::bad_alloc&) {
    code = PTDB_ERR_OOM;
    Log(ctx, PTDB_LOG_ERROR, code, "%s: out of memory", op);
  } catch (...) {
    code = PTDB_ERR_IO;
    Log(ctx, PTDB_LOG_ERROR, code, "%s: unexpected exception", op);
  }
  return ctx->last_error = code;
}

}  // namespace ptdb

#endif  // PTDB_FRONTEND_C_CONTEXT_H_
