// A command's output file (a dump) is on the disk when the command says it is done: the
// file and the directory that names it are synced; a failed fill leaves no file behind.
#include "tools/output_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/fsync_watch.h"
#include "tests/support/temp_dir.h"

namespace ptdb::cli {
namespace {

using test::DirectoryOf;
using test::FsyncWatch;
using test::SyncsOf;

std::string Contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool Exists(const std::string& path) {
  struct stat sb;
  return stat(path.c_str(), &sb) == 0;
}

TEST(OutputFileTest, AWrittenFileAndItsDirectoryAreSynced) {
  test::TempDir dir;
  const std::string path = dir.File("dump");
  FsyncWatch watch(path);
  const Status st = WriteOutputFile(path, [](FILE* out) {
    fputs("# ptdb dump v1\n# end 0\n", out);
    return Status::OK();
  });
  const std::vector<test::FsyncCall> calls = watch.Stop();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Contents(path), "# ptdb dump v1\n# end 0\n");
  EXPECT_EQ(SyncsOf(calls, path), 1);
  EXPECT_EQ(SyncsOf(calls, DirectoryOf(path)), 1);
}

TEST(OutputFileTest, AFailedFillLeavesNoFile) {
  test::TempDir dir;
  const std::string path = dir.File("dump");
  const Status st = WriteOutputFile(path, [](FILE* out) {
    fputs("# ptdb dump v1\n", out);
    return Status(Error::kIo, "the database went away");
  });
  EXPECT_EQ(st.code(), Error::kIo);
  EXPECT_EQ(st.message(), "the database went away");
  EXPECT_FALSE(Exists(path));
}

TEST(OutputFileTest, AFileThatCannotBeCreatedIsAnIoError) {
  test::TempDir dir;
  const std::string path = dir.File("no-such-dir/dump");
  const Status st = WriteOutputFile(path, [](FILE*) { return Status::OK(); });
  EXPECT_EQ(st.code(), Error::kIo);
  EXPECT_NE(st.ToString().find("cannot create " + path), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace ptdb::cli
