// Small helpers shared by the linear scan and the checker: building "check: ..."
// corruption messages, and reading through a SpaceReader into a buffer.
#ifndef PTDB_COMMON_CHECK_UTIL_H_
#define PTDB_COMMON_CHECK_UTIL_H_

#include <cstdint>
#include <ostream>
#include <sstream>

#include "common/space_reader.h"
#include "common/space_scan.h"
#include "ptdb/status.h"

namespace ptdb::check_util {

struct Hex {
  uint64_t v;
};
inline std::ostream& operator<<(std::ostream& os, Hex h) {
  return os << "0x" << std::hex << h.v << std::dec;
}

template <class... Args>
Status Corrupt(const Args&... args) {
  std::ostringstream os;
  os << "check: ";
  (os << ... << args);
  return Status(Error::kCorrupt, os.str());
}

// Reads len bytes at off into buf (which has room for them), whatever the backend does.
Status ReadInto(SpaceReader& space, uint64_t off, size_t len, void* buf, const char* what);

const char* KindName(RecordKind kind);

}  // namespace ptdb::check_util

#endif  // PTDB_COMMON_CHECK_UTIL_H_
