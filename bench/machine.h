// Where and when a benchmark ran, for the table's header and the JSON lines.
#ifndef PTDB_BENCH_MACHINE_H_
#define PTDB_BENCH_MACHINE_H_

#include <string>

namespace ptdb {
namespace bench {

// Now, as "2025-01-31T12:34:56Z".
std::string DateUtc();
// CPU model, CPU count, kernel release and machine, e.g.
// "AMD EPYC 7B13 x2, Linux 6.1.0-18-amd64 x86_64".
std::string MachineDescription();
// "tmpfs", "ext4", ... for the file system holding dir.
std::string FileSystemType(const std::string& dir);

}  // namespace bench
}  // namespace ptdb

#endif  // PTDB_BENCH_MACHINE_H_
