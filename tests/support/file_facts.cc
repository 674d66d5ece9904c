#include "tests/support/file_facts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>

#include "common/format.h"

namespace ptdb::test {

uint64_t FileSize(const std::string& path) {
  struct stat sb;
  return stat(path.c_str(), &sb) == 0 ? uint64_t(sb.st_size) : 0;
}

uint64_t FeaturesUsed(const std::string& path) {
  uint64_t features = ~uint64_t(0);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (pread(fd, &features, sizeof(features), offsetof(format::Header, features_used)) !=
        ssize_t(sizeof(features))) {
      features = ~uint64_t(0);
    }
    close(fd);
  }
  return features;
}

}  // namespace ptdb::test
