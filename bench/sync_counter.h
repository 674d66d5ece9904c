// Counts the calls that ask the kernel to make data durable, made by anything linked into
// ptdb-bench: ptdb (static) and the peers' shared libraries alike. sync_counter.cc defines
// fsync, fdatasync, msync, sync_file_range and sync, which forward to libc; the executable
// exports them (ENABLE_EXPORTS), so the dynamic linker binds the peers' calls here too. A
// write to a descriptor opened with O_SYNC or O_DSYNC (LMDB's meta page) waits for the device
// as a sync does, so those are counted too, by watching open and close.
#ifndef PTDB_BENCH_SYNC_COUNTER_H_
#define PTDB_BENCH_SYNC_COUNTER_H_

#include <cstdint>
#include <string>

namespace ptdb {
namespace bench {

struct SyncCounts {
  uint64_t fsync = 0;
  uint64_t fdatasync = 0;
  uint64_t msync = 0;  // with MS_SYNC only: MS_ASYNC does nothing on Linux
  uint64_t sync_file_range = 0;
  uint64_t sync = 0;
  uint64_t dsync_writes = 0;  // write, pwrite, writev on an O_SYNC / O_DSYNC descriptor

  uint64_t Total() const {
    return fsync + fdatasync + msync + sync_file_range + sync + dsync_writes;
  }
  SyncCounts operator-(const SyncCounts& earlier) const;
  // "4 fdatasync + 4 msync", each count divided by `per` (e.g. commits); "none" if all are 0.
  std::string Describe(double per) const;
};

// The calls made so far by this process (counters are per process: a fork starts from the
// parent's figures, which only matters to whoever compares across the fork).
SyncCounts CurrentSyncCounts();

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_SYNC_COUNTER_H_
