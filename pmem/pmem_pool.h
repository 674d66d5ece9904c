// Getting a libpmemobj pool for a database name: creating, re-creating (O_TRUNC) or
// opening it, with libpmemobj's refusals turned into Status values.
#ifndef PTDB_PMEM_PMEM_POOL_H_
#define PTDB_PMEM_PMEM_POOL_H_

#include <libpmemobj.h>

#include <string>

#include "ptdb/options.h"
#include "ptdb/status.h"

namespace ptdb {

// Opens `name` as open(2) would with options.open_flags, creating a pool of
// options.pool_size bytes (0: pmem_layout::kDefaultPoolSize) where open(2) would create
// or truncate the file. *created tells whether the pool is new (and holds no database).
//
// Differences from a file: the pool is created at its full size and never grows; O_TRUNC
// needs O_CREAT and O_RDWR (it re-creates the pool); a pool some process has open is
// refused with kLock, for libpmemobj lets only one handle at a time open it.
Status OpenPool(const std::string& name, const Options& options, PMEMobjpool** pop, bool* created);

}  // namespace ptdb

#endif  // PTDB_PMEM_PMEM_POOL_H_
