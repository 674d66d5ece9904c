// A fresh directory per test, removed afterwards. Honours PTDB_TEST_DIR (default:
// /dev/shm when it exists, so tests do not wear the disk; else the system temp dir).
#ifndef PTDB_TESTS_SUPPORT_TEMP_DIR_H_
#define PTDB_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>

namespace ptdb::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace ptdb::test

#endif  // PTDB_TESTS_SUPPORT_TEMP_DIR_H_
