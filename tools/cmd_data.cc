// Record commands: get, set, delete, keys.
#include <fcntl.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/db_open.h"
#include "tools/dump_format.h"
#include "tools/hex.h"

namespace ptdb::cli {
namespace {

constexpr char kStdout[] = "standard output";

int RunGet(const Invocation& inv) {
  int code;
  std::string key;
  if (!DecodeArg(inv, inv.args[1], "KEY", &key, &code)) return code;
  std::unique_ptr<Db> db;
  Status st = OpenExistingDb(inv.args[0], O_RDONLY, &db);
  if (!st.ok()) return Fail(inv, st);
  std::string value;
  st = db->Fetch(key, &value);
  if (st.IsNoExist()) return Fail(inv, kExitNotFound, "no such key: " + QuoteKey(key));
  if (!st.ok()) return Fail(inv, st);
  st = WriteOut(stdout, inv.args.Has("--hex") ? ToHex(value) + "\n" : value, kStdout);
  if (st.ok()) st = FlushOutput(stdout, kStdout);
  return st.ok() ? kExitOk : Fail(inv, st);
}

int RunSet(const Invocation& inv) {
  if (inv.args.Has("--insert") && inv.args.Has("--modify")) {
    return UsageError(inv, "--insert and --modify exclude each other");
  }
  int code;
  std::string key, value;
  if (!DecodeArg(inv, inv.args[1], "KEY", &key, &code)) return code;
  if (inv.args[2] == "-") {
    std::string input;
    if (Status st = ReadAll(STDIN_FILENO, "standard input", &input); !st.ok()) {
      return Fail(inv, st);
    }
    if (!DecodeArg(inv, input, "the value on standard input", &value, &code)) return code;
  } else if (!DecodeArg(inv, inv.args[2], "VALUE", &value, &code)) {
    return code;
  }
  const StoreMode mode = inv.args.Has("--insert")   ? StoreMode::kInsert
                         : inv.args.Has("--modify") ? StoreMode::kModify
                                                    : StoreMode::kReplace;
  std::unique_ptr<Db> db;
  Status st = OpenExistingDb(inv.args[0], O_RDWR, &db);
  if (st.ok()) st = InTransaction(db.get(), [&] { return db->Store(key, value, mode); });
  if (st.code() == Error::kExists) return Fail(inv, kExitError, "key exists: " + QuoteKey(key));
  if (st.IsNoExist()) return Fail(inv, kExitNotFound, "no such key: " + QuoteKey(key));
  return st.ok() ? kExitOk : Fail(inv, st);
}

int RunDelete(const Invocation& inv) {
  int code;
  std::string key;
  if (!DecodeArg(inv, inv.args[1], "KEY", &key, &code)) return code;
  std::unique_ptr<Db> db;
  Status st = OpenExistingDb(inv.args[0], O_RDWR, &db);
  if (st.ok()) st = InTransaction(db.get(), [&] { return db->Delete(key); });
  if (st.IsNoExist()) return Fail(inv, kExitNotFound, "no such key: " + QuoteKey(key));
  return st.ok() ? kExitOk : Fail(inv, st);
}

int RunKeys(const Invocation& inv) {
  std::unique_ptr<Db> db;
  Status st = OpenExistingDb(inv.args[0], O_RDONLY, &db);
  if (!st.ok()) return Fail(inv, st);
  // Written in batches: one write per key would dominate the walk.
  constexpr size_t kBatch = 1 << 16;
  std::string batch;
  Status out;
  st = db->Traverse([&](std::string_view key, std::string_view) {
    AppendEscaped(key, &batch);
    batch.push_back('\n');
    if (batch.size() >= kBatch) {
      out = WriteOut(stdout, batch, kStdout);
      batch.clear();
    }
    return out.ok();
  });
  if (out.ok()) out = WriteOut(stdout, batch, kStdout);
  if (out.ok()) out = FlushOutput(stdout, kStdout);
  if (!out.ok()) return Fail(inv, out);
  return st.ok() ? kExitOk : Fail(inv, st);
}

}  // namespace

void AddDataCommands(std::vector<Command>* commands) {
  commands->push_back({"get",
                       "get FILE KEY [--hex]",
                       "Print the value of a key",
                       "Writes the value of KEY to standard output as is, with nothing added.\n"
                       "Exits 4 with \"no such key\" on stderr when KEY is absent.\n"
                       "\n"
                       "  --hex   KEY is hex digits; the value is printed as hex and a newline\n",
                       {{"--hex", false}},
                       2,
                       2,
                       RunGet});
  commands->push_back(
      {"set",
       "set FILE KEY VALUE [--insert | --modify] [--hex]",
       "Store a value",
       "Stores VALUE under KEY, replacing any value it had. VALUE \"-\" reads the value\n"
       "from standard input, all of it, bytes as they come. The store is a transaction:\n"
       "on the disk (synced) when set exits 0.\n"
       "\n"
       "  --insert   fail (exit 1) if KEY exists\n"
       "  --modify   fail (exit 4) if KEY is absent\n"
       "  --hex      KEY and VALUE (or standard input) are hex digits; whitespace in them\n"
       "             is ignored\n",
       {{"--insert", false}, {"--modify", false}, {"--hex", false}},
       3,
       3,
       RunSet});
  commands->push_back({"delete",
                       "delete FILE KEY [--hex]",
                       "Delete a key",
                       "Deletes KEY and its value, in a transaction: on the disk (synced)\n"
                       "when delete exits 0. Exits 4 when KEY is absent.\n"
                       "\n"
                       "  --hex   KEY is hex digits\n",
                       {{"--hex", false}},
                       2,
                       2,
                       RunDelete});
  commands->push_back(
      {"keys",
       "keys FILE",
       "List the keys",
       "Prints every key, one per line, in the database's traversal order,\n"
       "escaped as in a dump: bytes 0x20-0x7e as themselves except '\\' (\"\\\\\"),\n"
       "newline, tab and carriage return as \"\\n\", \"\\t\", \"\\r\", any other\n"
       "byte as \"\\xHH\".\n",
       {},
       1,
       1,
       RunKeys});
}

}  // namespace ptdb::cli
