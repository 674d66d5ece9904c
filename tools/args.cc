#include "tools/args.h"

namespace ptdb::cli {
namespace {

const OptionSpec kHelp = {"--help", false};

const OptionSpec* FindSpec(const std::vector<OptionSpec>& specs, std::string_view name) {
  if (name == kHelp.name) return &kHelp;
  for (const OptionSpec& spec : specs) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

}  // namespace

bool Args::Parse(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs,
                 std::string* error) {
  options_.clear();
  positional_.clear();
  bool options_ended = false;
  for (size_t i = 0; i < argv.size(); i++) {
    const std::string& arg = argv[i];
    if (options_ended || arg.size() < 2 || arg[0] != '-') {
      positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    // Only long options take "=value"; a short option's value is the next argument.
    const size_t eq = arg.rfind("--", 0) == 0 ? arg.find('=') : std::string::npos;
    const std::string name = arg.substr(0, eq);
    const OptionSpec* spec = FindSpec(specs, name);
    if (spec == nullptr) {
      *error = "unknown option " + name;
      return false;
    }
    if (options_.count(name) != 0) {
      *error = "option " + name + " given twice";
      return false;
    }
    std::string value;
    if (eq != std::string::npos) {
      if (!spec->takes_value) {
        *error = "option " + name + " takes no value";
        return false;
      }
      value = arg.substr(eq + 1);
    } else if (spec->takes_value) {
      if (i + 1 == argv.size()) {
        *error = "option " + name + " needs a value";
        return false;
      }
      value = argv[++i];
    }
    options_.emplace(name, std::move(value));
  }
  return true;
}

const std::string* Args::Value(std::string_view name) const {
  const auto it = options_.find(name);
  return it == options_.end() ? nullptr : &it->second;
}

}  // namespace ptdb::cli
