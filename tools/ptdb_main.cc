// ptdb: the command-line tool. Finds the subcommand, parses its arguments, answers
// --help, and runs it; each command's work lives in cmd_*.cc.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tools/cli.h"

namespace ptdb::cli {
namespace {

std::vector<Command> AllCommands() {
  std::vector<Command> commands;
  AddAdminCommands(&commands);
  AddDataCommands(&commands);
  AddDumpCommands(&commands);
  return commands;
}

std::string GlobalHelp(const std::vector<Command>& commands) {
  std::string out =
      "Usage: ptdb COMMAND FILE [ARGS] [OPTIONS]\n"
      "       ptdb COMMAND --help\n"
      "\n"
      "Inspects and edits ptdb databases: files, and libpmemobj pools (pmem backend).\n"
      "The backend of an existing FILE is found from its first bytes; 'create' (or\n"
      "'restore' of a new FILE) chooses it with --backend.\n"
      "\n"
      "Commands:\n";
  // A synopsis too long for the column gets the summary on a line of its own.
  constexpr int kColumn = 34;
  for (const Command& c : commands) {
    char line[256];
    if (strlen(c.synopsis) <= size_t(kColumn)) {
      snprintf(line, sizeof(line), "  %-*s  %s\n", kColumn, c.synopsis, c.summary);
    } else {
      snprintf(line, sizeof(line), "  %s\n  %-*s  %s\n", c.synopsis, kColumn, "", c.summary);
    }
    out += line;
  }
  out +=
      "\n"
      "Keys and values on the command line are taken literally, byte for byte; with --hex\n"
      "(get, set, delete) they are hex digits. Put \"--\" before a KEY or VALUE that starts\n"
      "with \"-\". Options may come before or after the arguments.\n"
      "\n"
      "Exit status:\n"
      "  0  success\n"
      "  1  error: FILE cannot be opened or is not a ptdb database, a write failed,\n"
      "     a key exists (set --insert, restore), a dump is malformed, ...\n"
      "  2  usage error\n"
      "  3  check found the database corrupt\n"
      "  4  key not found (get, delete, set --modify)\n"
      "\n"
      "Pools: libpmemobj lets one process open a pool at a time (another gets exit 1,\n"
      "\"pool in use\"). On tmpfs (/dev/shm, emulated pmem) this tool sets\n"
      "PMEM_IS_PMEM_FORCE=1 unless it is set; see 'ptdb create --help'.\n";
  return out;
}

int Main(int argc, char** argv) {
  const std::vector<Command> commands = AllCommands();
  if (argc < 2) {
    fprintf(stderr, "ptdb: no command given\n%s", GlobalHelp(commands).c_str());
    return kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    fputs(GlobalHelp(commands).c_str(), stdout);
    return kExitOk;
  }
  const Command* command = nullptr;
  for (const Command& c : commands) {
    if (name == c.name) command = &c;
  }
  if (command == nullptr) {
    fprintf(stderr, "ptdb: unknown command '%s'\n%s", name.c_str(), GlobalHelp(commands).c_str());
    return kExitUsage;
  }
  Invocation inv{*command, {}};
  std::string error;
  if (!inv.args.Parse(std::vector<std::string>(argv + 2, argv + argc), command->options, &error)) {
    return UsageError(inv, error);
  }
  if (inv.args.Has("--help")) {
    fputs(CommandHelp(*command).c_str(), stdout);
    return kExitOk;
  }
  const size_t n = inv.args.positional().size();
  if (n < command->min_args) return UsageError(inv, "missing arguments");
  if (n > command->max_args) {
    return UsageError(inv, "unexpected argument '" + inv.args[command->max_args] + "'");
  }
  return command->run(inv);
}

}  // namespace
}  // namespace ptdb::cli

int main(int argc, char** argv) { return ptdb::cli::Main(argc, argv); }
