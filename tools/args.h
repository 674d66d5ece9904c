// Parsing one subcommand's arguments: options may come anywhere, "--" ends them, and a
// lone "-" is an argument (stdin).
#ifndef PTDB_TOOLS_ARGS_H_
#define PTDB_TOOLS_ARGS_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ptdb::cli {

struct OptionSpec {
  const char* name;  // "--seed" or "-o"
  bool takes_value;  // "--seed N" or "--seed=N"; "-o OUT"
};

class Args {
 public:
  // False with *error set on unknown, repeated or incomplete options.
  // "--help" is always accepted.
  bool Parse(const std::vector<std::string>& argv, const std::vector<OptionSpec>& specs,
             std::string* error);

  bool Has(std::string_view name) const { return options_.count(name) != 0; }
  // The value of an option that takes one, or nullptr if it was not given.
  const std::string* Value(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  const std::string& operator[](size_t i) const { return positional_[i]; }

 private:
  std::map<std::string, std::string, std::less<>> options_;
  std::vector<std::string> positional_;
};

}  // namespace ptdb::cli

#endif  // PTDB_TOOLS_ARGS_H_
