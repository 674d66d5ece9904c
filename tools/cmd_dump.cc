// dump, rescue and restore: every record as text (tools/DUMP_FORMAT.md) and back.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

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

// Writes a dump in batches: the header, then each record, then the end line.
class DumpOut {
 public:
  DumpOut(FILE* out, const std::string& name) : out_(out), name_(name) {
    AppendDumpHeader(&batch_);
  }
  Status Add(std::string_view key, std::string_view value) {
    AppendDumpRecord(key, value, &batch_);
    records_++;
    if (batch_.size() < kWriteBatch) return Status::OK();
    Status st = WriteOut(out_, batch_, name_);
    batch_.clear();
    return st;
  }
  Status Finish() {
    AppendDumpEnd(records_, &batch_);
    if (Status st = WriteOut(out_, batch_, name_); !st.ok()) return st;
    return FlushOutput(out_, name_);
  }
  uint64_t records() const { return records_; }

 private:
  FILE* out_;
  const std::string& name_;
  std::string batch_;
  uint64_t records_ = 0;
};

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
  DumpOut dump(out, out_name);
  std::string value;
  for (const std::string& key : keys) {
    if (Status st = db->Fetch(key, &value); !st.ok()) return st;
    if (Status st = dump.Add(key, value); !st.ok()) return st;
    progress.Update(dump.records());
  }
  return dump.Finish();
}

// A dump is one state of the database, as a backup must be: the allrecord read lock keeps
// every writer (other processes' too) waiting until it is written.
Status WriteDump(Db* db, FILE* out, const std::string& out_name) {
  if (Status st = db->LockAllRead(); !st.ok()) return st;
  Status st = WriteDumpLocked(db, out, out_name);
  Status un = db->UnlockAllRead();
  return st.ok() ? un : st;
}

using WriteFn = std::function<Status(Db* db, FILE* out, const std::string& out_name)>;

// What dump and rescue share: opens FILE read-only and has write fill -o OUT (synced, and
// removed if writing fails) or standard output. With `unopened`, a database file too
// damaged to open reaches write as a null handle, after a note on stderr. False after
// reporting a failure, with its exit code in *code.
bool WriteFromDb(const Invocation& inv, const WriteFn& write, bool unopened, int* code) {
  const std::string& path = inv.args[0];
  const std::string* out_path = inv.args.Value("-o");
  if (out_path != nullptr && *out_path == "-") out_path = nullptr;
  if (out_path != nullptr && SameFile(path, *out_path)) {
    *code = Fail(inv, kExitError, "-o " + *out_path + " is the database itself");
    return false;
  }
  std::unique_ptr<Db> db;
  Status st = OpenExistingDb(path, O_RDONLY, &db);
  if (!st.ok() && unopened && IsDamagedDatabase(path, st) && !IsPoolFile(path)) {
    fprintf(stderr, "ptdb %s: %s cannot be opened (%s); reading the file directly\n",
            inv.command.name, path.c_str(), st.ToString().c_str());
    st = Status::OK();
  }
  if (st.ok() && out_path == nullptr) st = write(db.get(), stdout, "standard output");
  if (st.ok() && out_path != nullptr) {
    st = WriteOutputFile(*out_path, [&](FILE* out) { return write(db.get(), out, *out_path); });
  }
  if (!st.ok()) *code = Fail(inv, st);
  return st.ok();
}

int RunDump(const Invocation& inv) {
  int code = kExitOk;
  WriteFromDb(inv, WriteDump, false, &code);
  return code;
}

// What Rescue saves, through `db`, or from the file `path` directly when db is null (a
// file too damaged to open). Sorted by key as in a dump (so it can be compared with an
// earlier dump), which holds every record in memory; or, unsorted, each record written
// as it is found, holding none.
Status WriteRescue(Db* db, const std::string& path, unsigned flags, bool sorted, FILE* out,
                   const std::string& out_name, RescueReport* report) {
  const auto rescue = [&](const RescueFn& fn) {
    return db ? db->Rescue(fn, report, flags) : Db::RescueFile(path, Options(), fn, report, flags);
  };
  if (!sorted) {
    Progress progress("rescue", "records", 0);
    DumpOut dump(out, out_name);
    const Status st = rescue([&](std::string_view key, std::string_view data) {
      Status added = dump.Add(key, data);
      progress.Update(dump.records());
      return added;
    });
    return st.ok() ? dump.Finish() : st;
  }
  std::vector<std::pair<std::string, std::string>> records;
  {
    Progress progress("rescue: reading", "records", 0);
    const Status st = rescue([&](std::string_view key, std::string_view data) {
      records.emplace_back(key, data);
      progress.Update(records.size());
      return Status::OK();
    });
    if (!st.ok()) return st;
  }
  std::sort(records.begin(), records.end());
  Progress progress("rescue", "records", records.size());
  DumpOut dump(out, out_name);
  for (const auto& [key, data] : records) {
    if (Status st = dump.Add(key, data); !st.ok()) return st;
    progress.Update(dump.records());
  }
  return dump.Finish();
}

int RunRescue(const Invocation& inv) {
  const std::string& path = inv.args[0];
  const unsigned flags = inv.args.Has("--unreachable") ? unsigned(kRescueUnreachable) : 0;
  const bool sorted = !inv.args.Has("--unsorted");
  RescueReport report;
  int code;
  if (!WriteFromDb(
          inv,
          [&](Db* db, FILE* out, const std::string& out_name) {
            return WriteRescue(db, path, flags, sorted, out, out_name, &report);
          },
          true, &code)) {
    return code;
  }
  std::string said = path + ": saved " + std::to_string(report.records) + " records";
  if (report.lost_entries > 0) {
    said += "; " + std::to_string(report.lost_entries) +
            " hash entries led to damage, and what they held is lost";
  }
  if (report.duplicates > 0) {
    said += "; " + std::to_string(report.duplicates) + " entries repeated a key, left out";
  }
  if (!report.space_scanned) {
    said += "; the space could not be parsed, so records no entry leads to were not counted";
  } else if (report.unreachable_saved > 0 || (flags && report.unreachable > 0)) {
    said += "; of " + std::to_string(report.unreachable) + " records no entry leads to, " +
            std::to_string(report.unreachable_saved) + " saved (a key found nowhere else)";
  } else if (report.unreachable > 0) {
    said += "; " + std::to_string(report.unreachable) +
            " records no entry leads to were left out (unfinished writes; --unreachable saves"
            " those whose key is nowhere else)";
  }
  fprintf(stderr, "ptdb rescue: %s\n", said.c_str());
  if (!report.first_problem.empty()) {
    fprintf(stderr, "ptdb rescue: first damage: %s\n", report.first_problem.c_str());
  }
  return report.lost_entries > 0 ? kExitCorrupt : kExitOk;
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
      {"rescue",
       "rescue FILE [-o OUT] [--unreachable] [--unsorted]",
       "Save what a damaged database still holds",
       std::string("For a database that check calls corrupt, as one a process was killed in\n"
                   "the middle of a plain (non-transactional) write can be. Writes, as a dump,\n"
                   "every record that FILE's hash tree still leads to soundly (a well-formed\n"
                   "record inside the file whose key hashes to where it was found; data has no\n"
                   "checksum), each key once, passing over whatever is damaged. FILE is opened\n"
                   "read-only and never changed: restore the dump into a new database\n"
                   "(ptdb restore NEW -i OUT). A database file too damaged to open (a zone\n"
                   "record overwritten, say) is read directly instead, without locks: nothing\n"
                   "may be writing to it. Records that no hash entry leads to are left\n"
                   "out (after a kill they are a store that never returned or a record a\n"
                   "delete had unlinked) unless --unreachable is given: then those whose key\n"
                   "is nowhere else and in no other such record are saved too, which is what\n"
                   "a damaged table led to. A report on stderr says what was saved and what was\n"
                   "passed over. Exits 0 when every hash entry led to a sound record, 3 when\n"
                   "some led to damage (what they held is lost; the dump is still written),\n"
                   "1 when nothing could be saved. The records are sorted by key in memory\n"
                   "before they are written, all of them at once: for a database larger than\n"
                   "memory use --unsorted. OUT is synced when rescue exits 0 or 3, and removed\n"
                   "if writing it fails.\n"
                   "\n"
                   "  -o OUT          write to OUT instead of standard output\n"
                   "  --unreachable   also save the records no hash entry leads to, as above\n"
                   "  --unsorted      write each record as it is found, holding none in memory\n"
                   "                  (restore takes records in any order)\n"),
       {{"-o", true}, {"--unreachable", false}, {"--unsorted", false}},
       1,
       1,
       RunRescue});
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
