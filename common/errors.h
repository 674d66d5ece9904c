// Building error statuses with printf-style messages, in one line at the failure site.
#ifndef PTDB_COMMON_ERRORS_H_
#define PTDB_COMMON_ERRORS_H_

#include <cstdarg>
#include <cstdio>

#include "ptdb/status.h"

namespace ptdb {

[[gnu::format(printf, 2, 3)]] inline Status Err(Error code, const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return Status(code, buf);
}

// Propagates a non-OK status to the caller.
#define PTDB_RETURN_IF_ERROR(expr) \
  do {                             \
    ::ptdb::Status _st = (expr);   \
    if (!_st.ok()) return _st;     \
  } while (0)

}  // namespace ptdb

#endif  // PTDB_COMMON_ERRORS_H_
