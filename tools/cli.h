// What the ptdb tool's commands share: the command table entry, exit codes, messages
// and whole-stream I/O (opening databases: db_open.h).
#ifndef PTDB_TOOLS_CLI_H_
#define PTDB_TOOLS_CLI_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ptdb/db.h"
#include "ptdb/status.h"
#include "tools/args.h"

namespace ptdb::cli {

// Documented in "ptdb --help"; scripts depend on them.
enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,
  kExitUsage = 2,
  kExitCorrupt = 3,
  kExitNotFound = 4,
};

struct Invocation;

struct Command {
  const char* name;
  const char* synopsis;  // what follows "ptdb " in the usage line
  const char* summary;   // one line in "ptdb --help"
  std::string details;   // the body of "ptdb <name> --help"
  std::vector<OptionSpec> options;
  size_t min_args;
  size_t max_args;
  int (*run)(const Invocation& inv);
};

struct Invocation {
  const Command& command;
  Args args;
};

// Each group of commands lives in its own file.
void AddAdminCommands(std::vector<Command>* commands);
void AddDataCommands(std::vector<Command>* commands);
void AddDumpCommands(std::vector<Command>* commands);

// The text of "ptdb <name> --help".
std::string CommandHelp(const Command& command);

// Prints "ptdb <command>: <message>" on stderr and returns `code`.
int Fail(const Invocation& inv, int code, const std::string& message);
// Fail with kExitError and the status' text.
int Fail(const Invocation& inv, const Status& status);
// Fail with kExitUsage, followed by the command's usage line.
int UsageError(const Invocation& inv, const std::string& message);

// Reads `fd` to its end. `name` is for messages.
Status ReadAll(int fd, const std::string& name, std::string* out);
// Writes all of `bytes`; check FlushOutput at the end, which catches delayed errors.
Status WriteOut(FILE* f, std::string_view bytes, const std::string& name);
Status FlushOutput(FILE* f, const std::string& name);

// Runs `change` as one transaction of `db`: every change the tool makes is one, so a
// command killed half way changes nothing, and one that succeeds is on the disk (the
// commit's sync), as a user of an admin tool expects. A failed change is cancelled.
Status InTransaction(Db* db, const std::function<Status()>& change);

// A KEY or VALUE argument: taken literally, or decoded from hex with --hex.
// False (after printing a usage error) if the hex is malformed.
bool DecodeArg(const Invocation& inv, const std::string& arg, const char* what, std::string* out,
               int* exit_code);

// A key for a message: escaped as in a dump and quoted.
std::string QuoteKey(std::string_view key);

}  // namespace ptdb::cli

#endif  // PTDB_TOOLS_CLI_H_
