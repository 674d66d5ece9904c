// What the pmem stores of ptdb-bench share: their pools are emulated pmem.
#ifndef PTDB_BENCH_PMEM_ENV_H_
#define PTDB_BENCH_PMEM_ENV_H_

#include <string>

namespace ptdb {
namespace bench {

// Sets PMEM_IS_PMEM_FORCE=1 (unless the caller set it), so libpmem persists with cache
// flushes instead of an msync per flush: right for a pool on tmpfs (the default --dir,
// DRAM with nothing to write back). On a disk directory it makes commits no more durable
// than the peers' no-sync modes, which is what the other stores measure too; set
// PMEM_IS_PMEM_FORCE=0 to measure the msync path. Returns the Backend() column's name:
// "pmem-force" or "pmem-msync". Each store runs in its own child process, so the setting
// stays with it.
std::string UseEmulatedPmem();

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_PMEM_ENV_H_
