// Asks the CPU to start loading the cache line at p. Never faults, whatever p is.
#ifndef PTDB_COMMON_PREFETCH_H_
#define PTDB_COMMON_PREFETCH_H_

namespace ptdb {

inline void PrefetchLine(const void* p) {
#if defined(__x86_64__)
  // Not __builtin_prefetch: GCC 12 dropped it from the pmem engine's traverse loop
  // (the same template kept it for the file engine), and traverse ran at half speed.
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

}  // namespace ptdb

#endif  // PTDB_COMMON_PREFETCH_H_
