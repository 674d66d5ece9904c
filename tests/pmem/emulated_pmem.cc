// Linked into every pmem test binary: the pools live on tmpfs (/dev/shm), which is DRAM,
// so cache flushes are the persistence there is, and PMEM_IS_PMEM_FORCE=1 makes libpmem
// use them instead of an msync per flush. libpmem reads the variable when the first pool
// is mapped, so setting it before main is early enough. A value already set wins.
#include <stdlib.h>

namespace {

const bool kForced = setenv("PMEM_IS_PMEM_FORCE", "1", 0) == 0;

}  // namespace
