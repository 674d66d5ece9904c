// Whole-database commands: create, info, check, summary, wipe, repack.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstring>

#include "common/format.h"
#include "tools/cli.h"
#include "tools/progress.h"

namespace ptdb::cli {
namespace {

// Decimal, or hex after "0x"; the whole string, no sign.
bool ParseSeed(const std::string& text, uint64_t* seed) {
  const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  const unsigned base = hex ? 16 : 10;
  const std::string digits = hex ? text.substr(2) : text;
  if (digits.empty()) return false;
  uint64_t v = 0;
  for (char c : digits) {
    unsigned d;
    if (c >= '0' && c <= '9') {
      d = unsigned(c - '0');
    } else if (hex && c >= 'a' && c <= 'f') {
      d = unsigned(c - 'a' + 10);
    } else if (hex && c >= 'A' && c <= 'F') {
      d = unsigned(c - 'A' + 10);
    } else {
      return false;
    }
    if (d >= base || v > (UINT64_MAX - d) / base) return false;
    v = v * base + d;
  }
  *seed = v;
  return true;
}

// A file with ptdb's magic and this version is a ptdb database, so a failure to open it
// as corrupt means it is damaged, not that it is something else.
bool HasPtdbHeaderStart(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  format::Header h;
  constexpr size_t kStart = offsetof(format::Header, version) + sizeof(h.version);
  const bool read_all = pread(fd, &h, kStart, 0) == ssize_t(kStart);
  close(fd);
  if (!read_all) return false;
  char magic[sizeof(h.magic_food)] = {};
  std::memcpy(magic, format::kMagicFood, sizeof(format::kMagicFood));
  return std::memcmp(h.magic_food, magic, sizeof(magic)) == 0 && h.version == format::kVersion;
}

// The number on the "<name>: <number>" line of Db::Summary's report.
bool SummaryCount(const std::string& report, const std::string& name, uint64_t* value) {
  const std::string prefix = name + ": ";
  for (size_t line = 0; line < report.size();) {
    if (report.compare(line, prefix.size(), prefix) == 0) {
      return sscanf(report.c_str() + line + prefix.size(), "%" SCNu64, value) == 1;
    }
    const size_t nl = report.find('\n', line);
    if (nl == std::string::npos) break;
    line = nl + 1;
  }
  return false;
}

int RunCreate(const Invocation& inv) {
  const std::string& path = inv.args[0];
  std::optional<uint64_t> seed;
  if (const std::string* text = inv.args.Value("--seed")) {
    uint64_t v;
    if (!ParseSeed(*text, &v)) {
      return UsageError(inv,
                        "--seed needs a number (decimal, or hex after 0x), not '" + *text + "'");
    }
    seed = v;
  }
  const bool force = inv.args.Has("--force");
  struct stat sb;
  if (stat(path.c_str(), &sb) == 0) {
    if (!force) return Fail(inv, kExitError, path + " already exists (--force replaces it)");
    if (!S_ISREG(sb.st_mode)) return Fail(inv, kExitError, path + " is not a regular file");
  }
  std::unique_ptr<Db> db;
  const Status st = OpenDb(path, O_RDWR | O_CREAT | (force ? O_TRUNC : O_EXCL), seed, &db);
  if (!st.ok()) return Fail(inv, st);
  return kExitOk;
}

int RunInfo(const Invocation& inv) {
  const std::string& path = inv.args[0];
  std::unique_ptr<Db> db;
  Status st = OpenDb(path, O_RDONLY, std::nullopt, &db);
  if (!st.ok()) return Fail(inv, st);
  format::Header h;
  struct stat sb;
  if (pread(db->Fd(), &h, sizeof(h), 0) != ssize_t(sizeof(h)) || fstat(db->Fd(), &sb) != 0) {
    return Fail(inv, kExitError, "cannot read " + path + ": " + strerror(errno));
  }
  std::string report;
  st = db->Summary(false, &report);
  if (!st.ok()) return Fail(inv, st);
  uint64_t records, zones, capabilities;
  if (!SummaryCount(report, "Number of records", &records) ||
      !SummaryCount(report, "Number of zones", &zones) ||
      !SummaryCount(report, "Number of capabilities", &capabilities)) {
    return Fail(inv, kExitError, "the library's summary lacks a count this tool expects");
  }
  printf("backend:           file\n");
  printf("size:              %" PRIu64 " bytes\n", uint64_t(sb.st_size));
  printf("records:           %" PRIu64 "\n", records);
  printf("version:           0x%" PRIx64 "\n", h.version);
  printf("hash seed:         0x%" PRIx64 "\n", h.hash_seed);
  printf("hash check value:  0x%" PRIx64 "\n", h.hash_test);
  printf("features used:     0x%" PRIx64 "\n", h.features_used);
  printf("features offered:  0x%" PRIx64 "\n", h.features_offered);
  printf("seqnum:            %" PRIu64 "\n", h.seqnum);
  printf("capabilities:      %" PRIu64 "\n", capabilities);
  printf("zones:             %" PRIu64 "\n", zones);
  st = FlushOutput(stdout, "standard output");
  return st.ok() ? kExitOk : Fail(inv, st);
}

int RunCheck(const Invocation& inv) {
  const std::string& path = inv.args[0];
  std::unique_ptr<Db> db;
  Status st = OpenDb(path, O_RDONLY, std::nullopt, &db);
  if (!st.ok()) {
    const bool damaged = st.IsCorrupt() && HasPtdbHeaderStart(path);
    return Fail(inv, damaged ? kExitCorrupt : kExitError, st.ToString());
  }
  if (db->GetFlags() & kCantCheck) {
    fprintf(stderr,
            "ptdb check: warning: %s has a capability this library cannot verify; "
            "not checked\n",
            path.c_str());
    return kExitOk;
  }
  uint64_t records = 0;
  {
    Progress progress("check", "records", 0);
    st = db->Check([&](std::string_view, std::string_view) {
      progress.Update(++records);
      return Status::OK();
    });
  }
  if (st.IsCorrupt()) return Fail(inv, kExitCorrupt, st.ToString());
  if (!st.ok()) return Fail(inv, st);
  printf("%s: ok, %" PRIu64 " records\n", path.c_str(), records);
  st = FlushOutput(stdout, "standard output");
  return st.ok() ? kExitOk : Fail(inv, st);
}

int RunSummary(const Invocation& inv) {
  std::unique_ptr<Db> db;
  Status st = OpenDb(inv.args[0], O_RDONLY, std::nullopt, &db);
  if (!st.ok()) return Fail(inv, st);
  std::string report;
  st = db->Summary(inv.args.Has("--histograms"), &report);
  if (st.ok()) st = WriteOut(stdout, report, "standard output");
  if (st.ok()) st = FlushOutput(stdout, "standard output");
  return st.ok() ? kExitOk : Fail(inv, st);
}

int RunWipe(const Invocation& inv) {
  if (!inv.args.Has("--yes")) {
    return UsageError(inv, "wipe deletes every record; give --yes to confirm");
  }
  std::unique_ptr<Db> db;
  Status st = OpenDb(inv.args[0], O_RDWR, std::nullopt, &db);
  if (st.ok()) st = db->WipeAll();
  return st.ok() ? kExitOk : Fail(inv, st);
}

// The file's size in bytes, for the before/after line; 0 if it has no descriptor.
uint64_t FileBytes(const std::string& path) {
  struct stat sb;
  return stat(path.c_str(), &sb) == 0 ? uint64_t(sb.st_size) : 0;
}

int RunRepack(const Invocation& inv) {
  const std::string& path = inv.args[0];
  std::unique_ptr<Db> db;
  Status st = OpenDb(path, O_RDWR, std::nullopt, &db);
  if (!st.ok()) return Fail(inv, st);
  const uint64_t before = FileBytes(path);
  st = db->Repack();
  uint64_t records = 0;
  if (st.ok()) st = db->Traverse([](std::string_view, std::string_view) { return true; }, &records);
  if (!st.ok()) return Fail(inv, st);
  // The file is cut when the last handle closes if another process had it open.
  db.reset();
  printf("%s: repacked, %" PRIu64 " records, %" PRIu64 " -> %" PRIu64 " bytes\n", path.c_str(),
         records, before, FileBytes(path));
  st = FlushOutput(stdout, "standard output");
  return st.ok() ? kExitOk : Fail(inv, st);
}

}  // namespace

void AddAdminCommands(std::vector<Command>* commands) {
  commands->push_back(
      {"create",
       "create FILE [--seed N] [--force]",
       "Create an empty database",
       "Creates FILE as an empty ptdb database (file backend).\n"
       "\n"
       "  --seed N   the hash seed (decimal, or hex after 0x); default: random\n"
       "  --force    replace FILE if it exists (its contents are lost); without it an\n"
       "             existing FILE is an error\n",
       {{"--seed", true}, {"--force", false}},
       1,
       1,
       RunCreate});
  commands->push_back(
      {"info",
       "info FILE",
       "Show header fields, size and record count",
       "Prints, one per line: the backend, the file size in bytes, the number of records,\n"
       "and the header's version, hash seed, hash check value, features used and offered,\n"
       "sequence number, number of capabilities and number of zones.\n",
       {},
       1,
       1,
       RunInfo});
  commands->push_back(
      {"check",
       "check FILE",
       "Verify the whole database",
       "Verifies every byte of FILE: header, zones, free lists, hash tree, every key\n"
       "rehashed. Never repairs. Prints \"FILE: ok, N records\" when the database is\n"
       "sound; exits 3 with the checker's description on stderr when it is corrupt, and\n"
       "1 when FILE cannot be read or is not a ptdb database. Shows progress on stderr\n"
       "when stderr is a terminal.\n",
       {},
       1,
       1,
       RunCheck});
  commands->push_back({"summary",
                       "summary FILE [--histograms]",
                       "Report how space is used",
                       "Prints the library's space report: records, key/data/padding sizes, free\n"
                       "space, zones, hash tree shape.\n"
                       "\n"
                       "  --histograms   add size histograms of keys, data and free records\n",
                       {{"--histograms", false}},
                       1,
                       1,
                       RunSummary});
  commands->push_back({"wipe",
                       "wipe FILE --yes",
                       "Delete every record",
                       "Deletes every record of FILE. Asks nothing, but refuses to run without\n"
                       "--yes.\n",
                       {{"--yes", false}},
                       1,
                       1,
                       RunWipe});
  commands->push_back({"repack",
                       "repack FILE",
                       "Rewrite every record compactly and shrink the file",
                       "Rewrites every record of FILE in one transaction (durable with one sync)\n"
                       "and gives back the space left over: the file is cut to what the records\n"
                       "need, now if no other process has it open, else when the last one closes\n"
                       "it. Holds every record in memory meanwhile. Prints the record count and\n"
                       "the file size before and after.\n",
                       {},
                       1,
                       1,
                       RunRepack});
}

}  // namespace ptdb::cli
