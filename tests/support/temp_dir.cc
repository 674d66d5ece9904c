#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace ptdb::test {

TempDir::TempDir() {
  std::string base;
  if (const char* env = std::getenv("PTDB_TEST_DIR")) {
    base = env;
  } else {
    struct stat st;
    base =
        stat("/dev/shm", &st) == 0 ? "/dev/shm" : std::filesystem::temp_directory_path().string();
  }
  std::string templ = base + "/ptdb-test-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp in " << base << " failed";
  }
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace ptdb::test
