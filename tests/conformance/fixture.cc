#include "tests/conformance/fixture.h"

#include <fcntl.h>

#include <sstream>

namespace ptdb::test {

std::vector<Mode> AllModes() { return {Mode::kFileMmap, Mode::kFileNoMmap, Mode::kInternal}; }

std::string ParamName(const ::testing::TestParamInfo<Mode>& info) {
  std::ostringstream name;
  PrintTo(info.param, &name);
  return name.str();
}

void PrintTo(Mode mode, std::ostream* os) {
  switch (mode) {
    case Mode::kFileMmap:
      *os << "FileMmap";
      return;
    case Mode::kFileNoMmap:
      *os << "FileNoMmap";
      return;
    case Mode::kInternal:
      *os << "Internal";
      return;
  }
  *os << "Unknown";
}

unsigned DbModeTest::ModeFlags() const {
  switch (mode()) {
    case Mode::kFileMmap:
      return kDefault;
    case Mode::kFileNoMmap:
      return kNoMmap;
    case Mode::kInternal:
      return kInternal;
  }
  return kDefault;
}

Options DbModeTest::CreateOptions(unsigned flags) const {
  Options options;
  options.flags = ModeFlags() | flags;
  options.open_flags = O_RDWR | O_CREAT | O_TRUNC;
  return options;
}

Options DbModeTest::ReopenOptions(unsigned flags) const {
  Options options;
  options.flags = ModeFlags() | flags;
  options.open_flags = O_RDWR;
  return options;
}

std::string DbModeTest::NameFor(const std::string& base) const {
  return persistent() ? dir_.File(base) : "internal:" + base;
}

Status DbModeTest::OpenAt(const std::string& base, const Options& options,
                          std::unique_ptr<Db>* db) const {
  return Db::Open(NameFor(base), options, db);
}

}  // namespace ptdb::test
