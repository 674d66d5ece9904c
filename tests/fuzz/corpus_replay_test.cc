// Replays every file of the fuzz corpus (the seeds, and inputs that once found a bug)
// through the fuzz target's sequence in every build, sanitizers included.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "ptdb/options.h"
#include "tests/fuzz/exercise.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

std::vector<std::string> CorpusFiles() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(PTDB_FUZZ_CORPUS_DIR)) {
    if (entry.is_regular_file()) files.push_back(entry.path().string());
  }
  return files;
}

TEST(CorpusReplayTest, EveryInputIsHandled) {
  const std::vector<std::string> files = CorpusFiles();
  ASSERT_FALSE(files.empty()) << "no corpus in " << PTDB_FUZZ_CORPUS_DIR;
  TempDir dir;
  struct Way {
    int open_flags;
    unsigned flags;
  };
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    for (const Way& way : {Way{O_RDWR, kDefault}, Way{O_RDWR, kNoMmap}, Way{O_RDONLY, kDefault},
                           Way{O_RDWR, kNoLock}}) {
      const std::string copy = dir.File("db");
      std::filesystem::copy_file(file, copy, std::filesystem::copy_options::overwrite_existing);
      ExerciseDatabase(copy, way.open_flags, way.flags);
    }
  }
}

}  // namespace
}  // namespace ptdb::test
