#include "tests/support/file_facts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>

#include "common/format.h"

namespace ptdb::test {
namespace {

// A word of the header, or all ones if it cannot be read.
uint64_t HeaderWord(const std::string& path, size_t offset) {
  uint64_t word = ~uint64_t(0);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (pread(fd, &word, sizeof(word), off_t(offset)) != ssize_t(sizeof(word))) {
      word = ~uint64_t(0);
    }
    close(fd);
  }
  return word;
}

}  // namespace

uint64_t FileSize(const std::string& path) {
  struct stat sb;
  return stat(path.c_str(), &sb) == 0 ? uint64_t(sb.st_size) : 0;
}

uint64_t FeaturesUsed(const std::string& path) {
  return HeaderWord(path, offsetof(format::Header, features_used));
}

uint64_t TxCounter(const std::string& path) {
  return HeaderWord(path, offsetof(format::Header, tx_counter));
}

}  // namespace ptdb::test
