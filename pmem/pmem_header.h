// Validation of a pool's TDB2 header and capability list at open, before anything else
// trusts them. The same rules as a file's (file/file_open.cc), except that a pool's first
// zone may lie anywhere after the header: zone objects sit where libpmemobj puts them.
#ifndef PTDB_PMEM_PMEM_HEADER_H_
#define PTDB_PMEM_PMEM_HEADER_H_

#include <string>

#include "common/engine.h"
#include "common/format.h"
#include "pmem/pmem_storage.h"
#include "ptdb/status.h"

namespace ptdb {

// kCorrupt (or kEinval for a different hash function) unless h is a header this library
// can use. hash must carry the header's seed.
Status ValidatePoolHeader(const format::Header& h, const HashConfig& hash, const std::string& name);

// Walks the capability list from `cap`: unknown capabilities limit what the handle may do
// (kIo: may not open; kRdonly: may not write; *flags |= kCantCheck).
Status ApplyPoolCapabilities(PmemStorage* s, uint64_t cap, bool writable, unsigned* flags,
                             const std::string& name);

}  // namespace ptdb

#endif  // PTDB_PMEM_PMEM_HEADER_H_
