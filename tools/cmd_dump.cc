// dump and restore: every record as text (tools/DUMP_FORMAT.md) and back.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include "tools/cli.h"
#include "tools/db_open.h"
#include "tools/dump_format.h"
#include "tools/output_file.h"
#include "tools/progress.h"

namespace ptdb::cli {
namespace {

constexpr size_t kWriteBatch = 1 << 16;

using RecordFn = std::function<Status(const DumpReader& reader, const std::string& key,
                                      const std::string& data)>;

// Parses the whole dump, calling fn (if any) on each record; stops at the first error.
Status ForEachRecord(std::string_view input, const char* label, const RecordFn& fn) {
  Progress progress(label, "bytes", input.size());
  DumpReader reader(input);
  std::string key, data;
  for (;;) {
    bool done = false;
    if (Status st = reader.Next(&key, &data, &done); !st.ok() || done) return st;
    if (fn) {
      if (Status st = fn(reader, key, data); !st.ok()) return st;
    }
    progress.Update(reader.consumed());
  }
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

// Every record, sorted by key: equal contents give byte-identical dumps, whatever the
// seed or the order of the writes, so dumps can be compared and diffed. REQUIRES: nothing
// writes meanwhile (WriteDump's lock), or the dump may mix states.
Status WriteDumpLocked(Db* db, FILE* out, const std::string& out_name) {
  std::vector<std::string> keys;
  {
    Progress progress("dump: reading keys", "keys", 0);
    Status st = db->Traverse([&](std::string_view key, std::string_view) {
      keys.emplace_back(key);
      progress.Update(keys.size());
      return true;
    });
    if (!st.ok()) return st;
  }
  std::sort(keys.begin(), keys.end());
  Progress progress("dump", "records", keys.size());
  std::string batch;
  AppendDumpHeader(&batch);
  uint64_t records = 0;
  std::string value;
  for (const std::string& key : keys) {
    if (Status st = db->Fetch(key, &value); !st.ok()) return st;
    AppendDumpRecord(key, value, &batch);
    records++;
    if (batch.size() >= kWriteBatch) {
      if (Status st = WriteOut(out, batch, out_name); !st.ok()) return st;
      batch.clear();
    }
    progress.Update(records);
  }
  AppendDumpEnd(records, &batch);
  if (Status st = WriteOut(out, batch, out_name); !st.ok()) return st;
  return FlushOutput(out, out_name);
}

// A dump is one state of the database, as a backup must be: the allrecord read lock keeps
// every writer (other processes' too) waiting until it is written.
Status WriteDump(Db* db, FILE* out, const std::string& out_name) {
  if (Status st = db->LockAllRead(); !st.ok()) return st;
  Status st = WriteDumpLocked(db, out, out_name);
  Status un = db->UnlockAllRead();
  return st.ok() ? un : st;
}

int RunDump(const Invocation& inv) {
  const std::string& path = inv.args[0];
  const std::string* out_path = inv.args.Value("-o");
  if (out_path != nullptr && *out_path == "-") out_path = nullptr;
  if (out_path != nullptr && SameFile(path, *out_path)) {
    return Fail(inv, kExitError, "-o " + *out_path + " is the database itself");
  }
  std::unique_ptr<Db> db;
  Status st = OpenExistingDb(path, O_RDONLY, &db);
  if (!st.ok()) return Fail(inv, st);
  if (out_path == nullptr) {
    st = WriteDump(db.get(), stdout, "standard output");
    return st.ok() ? kExitOk : Fail(inv, st);
  }
  st = WriteOutputFile(*out_path, [&](FILE* out) { return WriteDump(db.get(), out, *out_path); });
  return st.ok() ? kExitOk : Fail(inv, st);
}

// kExists carries restore's own complete message; anything else is the library's.
int FailRestore(const Invocation& inv, const Status& st) {
  return st.code() == Error::kExists ? Fail(inv, kExitError, std::string(st.message()))
                                     : Fail(inv, st);
}

int RunRestore(const Invocation& inv) {
  const std::string& path = inv.args[0];
  const std::string* in_path = inv.args.Value("-i");
  if (in_path != nullptr && *in_path == "-") in_path = nullptr;
  const std::string in_name = in_path ? *in_path : "standard input";
  const bool replace = inv.args.Has("--replace");
  NewDbSpec spec;
  int code;
  if (!ParseNewDbOptions(inv, &spec, &code)) return code;
  // Options that describe a new database must not be ignored on an existing one.
  const bool must_create = HasNewDbOptions(inv);
  struct stat sb;
  if (must_create && stat(path.c_str(), &sb) == 0) {
    return Fail(inv, kExitError,
                path +
                    " exists: --backend, --pool-size and --seed only apply when restore "
                    "creates FILE");
  }

  std::string input;
  int fd = STDIN_FILENO;
  if (in_path != nullptr && (fd = open(in_path->c_str(), O_RDONLY | O_CLOEXEC)) < 0) {
    return Fail(inv, kExitError, "cannot open " + in_name + ": " + strerror(errno));
  }
  Status st = ReadAll(fd, in_name, &input);
  if (in_path != nullptr) close(fd);
  if (!st.ok()) return Fail(inv, st);

  // The whole dump is checked before the database is opened (or created): a damaged or
  // truncated dump changes nothing.
  st = ForEachRecord(input, "restore: reading", nullptr);
  if (!st.ok()) return Fail(inv, kExitError, in_name + ": " + std::string(st.message()));

  std::unique_ptr<Db> db;
  st = CreateDb(path, O_RDWR | O_CREAT | (must_create ? O_EXCL : 0), spec, &db);
  if (!st.ok()) return Fail(inv, st);
  if (!replace) {
    // Refused before anything is written, so a refusal leaves the database as it was.
    st = ForEachRecord(input, "restore: checking keys",
                       [&](const DumpReader& reader, const std::string& key, const std::string&) {
                         bool exists = false;
                         Status s = db->Exists(key, &exists);
                         if (!s.ok() || !exists) return s;
                         return Status(Error::kExists,
                                       in_name + ": line " + std::to_string(reader.record_line()) +
                                           ": key " + QuoteKey(key) + " is already in " + path +
                                           " (--replace overwrites)");
                       });
    if (!st.ok()) return FailRestore(inv, st);
  }
  // One transaction (InTransaction): a restore that fails half way (a key twice in the
  // dump, a full disk) or is killed changes nothing.
  st = InTransaction(db.get(), [&] {
    return ForEachRecord(
        input, "restore",
        [&](const DumpReader& reader, const std::string& key, const std::string& data) {
          Status s = db->Store(key, data, replace ? StoreMode::kReplace : StoreMode::kInsert);
          if (s.code() != Error::kExists) return s;
          // Only a dump listing a key twice gets here: the keys were checked above.
          return Status(Error::kExists, in_name + ": line " + std::to_string(reader.record_line()) +
                                            ": key " + QuoteKey(key) +
                                            " appears twice in the dump; nothing was restored");
        });
  });
  return st.ok() ? kExitOk : FailRestore(inv, st);
}

constexpr char kFormatHelp[] =
    "The dump format (tools/DUMP_FORMAT.md) is text, one field per line:\n"
    "\n"
    "  # ptdb dump v1\n"
    "  key=<length>:<escaped key>\n"
    "  data=<length>:<escaped value>\n"
    "  ...                         (a key= and a data= line per record)\n"
    "  # end <number of records>\n"
    "\n"
    "Lengths are the decimal byte counts of the raw key and value. Escaping: bytes\n"
    "0x20-0x7e stand for themselves, except '\\' which is \"\\\\\"; newline, tab and\n"
    "carriage return are \"\\n\", \"\\t\", \"\\r\"; every other byte is \"\\xHH\". Records are\n"
    "sorted by key (bytewise), so equal databases give identical dumps.\n";

}  // namespace

void AddDumpCommands(std::vector<Command>* commands) {
  commands->push_back(
      {"dump",
       "dump FILE [-o OUT]",
       "Write every record as text",
       std::string("Writes every record of FILE to OUT (default, or \"-\": standard\n"
                   "output). OUT is on the disk (synced, with its directory entry)\n"
                   "when dump exits 0; if the dump fails, OUT is removed. Shows\n"
                   "progress on stderr when stderr is a terminal. The dump is one\n"
                   "state of the database: it holds the read lock on every record\n"
                   "(lockall_read) while it runs, so writers in other processes wait\n"
                   "until it ends: on a database in use, dump with -o rather than\n"
                   "into a slow pipe.\n"
                   "\n"
                   "  -o OUT   write to OUT instead of standard output\n"
                   "\n") +
           kFormatHelp,
       {{"-o", true}},
       1,
       1,
       RunDump});
  commands->push_back(
      {"restore",
       "restore FILE [-i IN] [--replace] [--backend file|pmem] [--pool-size SIZE] [--seed N]",
       "Load records from a dump",
       std::string("Stores every record of the dump IN (default, or \"-\": standard input) in\n"
                   "FILE, creating FILE if it does not exist: a file, or with --backend pmem\n"
                   "a pool. --backend, --pool-size and --seed describe that new database;\n"
                   "with an existing FILE they are an error. The whole dump is checked first:\n"
                   "a malformed or truncated dump is reported with its line number and changes\n"
                   "nothing. A key that FILE already has is an error (exit 1, nothing written)\n"
                   "unless --replace is given. The records are stored in one transaction: a\n"
                   "restore that fails or is killed half way changes nothing, and one that\n"
                   "exits 0 is on the disk. Shows progress on stderr when stderr is a\n"
                   "terminal.\n"
                   "\n"
                   "  -i IN             read the dump from IN instead of standard input\n"
                   "  --replace         overwrite the values of keys FILE already has\n") +
           kNewDbOptionsHelp + "\n" + kFormatHelp,
       {{"-i", true},
        {"--replace", false},
        {"--backend", true},
        {"--pool-size", true},
        {"--seed", true}},
       1,
       1,
       RunRestore});
}

}  // namespace ptdb::cli
