#include "tools/cli.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tools/dump_format.h"
#include "tools/hex.h"

namespace ptdb::cli {

std::string CommandHelp(const Command& command) {
  std::string out = "Usage: ptdb ";
  out.append(command.synopsis).append("\n\n").append(command.summary).append(".\n\n");
  out.append(command.details);
  out.append(
      "\nExit status: 0 success, 1 error, 2 usage error, 3 corrupt database (check),\n"
      "4 key not found.\n");
  return out;
}

int Fail(const Invocation& inv, int code, const std::string& message) {
  fprintf(stderr, "ptdb %s: %s\n", inv.command.name, message.c_str());
  return code;
}

Status InTransaction(Db* db, const std::function<Status()>& change) {
  Status st = db->TransactionStart();
  if (!st.ok()) return st;
  st = change();
  if (!st.ok()) {
    (void)db->TransactionCancel();
    return st;
  }
  return db->TransactionCommit();
}

int Fail(const Invocation& inv, const Status& status) {
  return Fail(inv, kExitError, status.ToString());
}

int UsageError(const Invocation& inv, const std::string& message) {
  fprintf(stderr, "ptdb %s: %s\nUsage: ptdb %s\nRun 'ptdb %s --help' for details.\n",
          inv.command.name, message.c_str(), inv.command.synopsis, inv.command.name);
  return kExitUsage;
}

Status ReadAll(int fd, const std::string& name, std::string* out) {
  out->clear();
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n == 0) return Status::OK();
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status(Error::kIo, "cannot read " + name + ": " + strerror(errno));
    }
    out->append(buf, size_t(n));
  }
}

Status WriteOut(FILE* f, std::string_view bytes, const std::string& name) {
  if (fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    return Status(Error::kIo, "cannot write " + name + ": " + strerror(errno));
  }
  return Status::OK();
}

Status FlushOutput(FILE* f, const std::string& name) {
  if (fflush(f) != 0 || ferror(f)) {
    return Status(Error::kIo, "cannot write " + name + ": " + strerror(errno));
  }
  return Status::OK();
}

bool DecodeArg(const Invocation& inv, const std::string& arg, const char* what, std::string* out,
               int* exit_code) {
  if (!inv.args.Has("--hex")) {
    *out = arg;
    return true;
  }
  std::string error;
  if (ParseHex(arg, out, &error)) return true;
  *exit_code = UsageError(inv, std::string(what) + " is not valid hex: " + error);
  return false;
}

std::string QuoteKey(std::string_view key) {
  std::string out = "'";
  AppendEscaped(key, &out);
  out.push_back('\'');
  return out;
}

}  // namespace ptdb::cli
