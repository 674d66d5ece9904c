#include "bench/pmem_env.h"

#include <stdlib.h>

namespace ptdb {
namespace bench {

std::string UseEmulatedPmem() {
  setenv("PMEM_IS_PMEM_FORCE", "1", 0);
  const char* force = getenv("PMEM_IS_PMEM_FORCE");
  return force != nullptr && std::string(force) == "1" ? "pmem-force" : "pmem-msync";
}

}  // namespace bench
}  // namespace ptdb
