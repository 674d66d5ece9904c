// The elapsed time on ptdb-bench's progress lines (stderr), so that whoever watches a long
// run knows how far it is. Store runs are forked children: they inherit the start.
#ifndef PTDB_BENCH_PROGRESS_H_
#define PTDB_BENCH_PROGRESS_H_

#include <string>

namespace ptdb {
namespace bench {

// Marks the start of the invocation; call once, before the first store run.
void StartProgressClock();
// Time since StartProgressClock, as "[m:ss]" padded to a fixed width.
std::string ElapsedStamp();

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_PROGRESS_H_
