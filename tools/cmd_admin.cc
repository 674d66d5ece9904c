// Whole-database commands: create, info, check, summary, wipe, repack.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstring>

#include "common/format.h"
#include "common/hash.h"
#include "tools/cli.h"
#include "tools/db_open.h"
#include "tools/progress.h"

namespace ptdb::cli {
namespace {

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

// Where the database ends: in a file its size, in a pool the pool offset where its last
// zone ends (the summary's "Size of file/data"; libpmemobj's own metadata lies below).
constexpr char kSizeLine[] = "Size of file/data";

constexpr char kPmemHelp[] =
    "Pools on tmpfs (/dev/shm) are emulated pmem: there this tool sets\n"
    "PMEM_IS_PMEM_FORCE=1 unless it is set already, so libpmemobj persists with cache\n"
    "flushes rather than an msync per write (tmpfs is memory: neither outlives a reboot).\n"
    "Elsewhere it leaves the variable alone: on fs-dax pmem libpmemobj finds real pmem by\n"
    "itself, and on a disk file system msync is what makes a pool durable.\n";

int RunCreate(const Invocation& inv) {
  const std::string& path = inv.args[0];
  NewDbSpec spec;
  int code;
  if (!ParseNewDbOptions(inv, &spec, &code)) return code;
  const bool force = inv.args.Has("--force");
  struct stat sb;
  if (stat(path.c_str(), &sb) == 0) {
    if (!force) return Fail(inv, kExitError, path + " already exists (--force replaces it)");
    if (!S_ISREG(sb.st_mode)) return Fail(inv, kExitError, path + " is not a regular file");
  }
  std::unique_ptr<Db> db;
  const Status st = CreateDb(path, O_RDWR | O_CREAT | (force ? O_TRUNC : O_EXCL), spec, &db);
  if (!st.ok()) return Fail(inv, st);
  return kExitOk;
}

// The counts info prints, from the library's summary.
struct Counts {
  uint64_t end = 0;  // see kSizeLine
  uint64_t records = 0;
  uint64_t free_bytes = 0;
  uint64_t zones = 0;
  uint64_t capabilities = 0;
};

Status ReadCounts(Db* db, Counts* c) {
  std::string report;
  Status st = db->Summary(false, &report);
  if (!st.ok()) return st;
  if (!SummaryCount(report, kSizeLine, &c->end) ||
      !SummaryCount(report, "Number of records", &c->records) ||
      !SummaryCount(report, "Free bytes", &c->free_bytes) ||
      !SummaryCount(report, "Number of zones", &c->zones) ||
      !SummaryCount(report, "Number of capabilities", &c->capabilities)) {
    return Status(Error::kIo, "the library's summary lacks a count this tool expects");
  }
  return Status::OK();
}

void PrintFileInfo(const format::Header& h, uint64_t size, const Counts& c) {
  printf("backend:           file\n");
  printf("size:              %" PRIu64 " bytes\n", size);
  printf("records:           %" PRIu64 "\n", c.records);
  printf("free bytes:        %" PRIu64 "\n", c.free_bytes);
  printf("version:           0x%" PRIx64 "\n", h.version);
  printf("hash seed:         0x%" PRIx64 "\n", h.hash_seed);
  printf("hash check value:  0x%" PRIx64 "\n", h.hash_test);
  printf("features used:     0x%" PRIx64 "\n", h.features_used);
  printf("features offered:  0x%" PRIx64 "\n", h.features_offered);
  printf("seqnum:            %" PRIu64 "\n", h.seqnum);
  printf("capabilities:      %" PRIu64 "\n", c.capabilities);
  printf("zones:             %" PRIu64 "\n", c.zones);
}

// A pool's header lives inside libpmemobj's root object; what info shows of it comes
// from the API. The open validated the version and the hash
// check value, so those are the values this library writes.
struct PoolHeader {
  uint64_t seed, seqnum, features_used, features_offered;
};

void PrintPoolInfo(uint64_t pool_size, const PoolHeader& h, const Counts& c) {
  printf("backend:           pmem\n");
  printf("pool size:         %" PRIu64 " bytes\n", pool_size);
  printf("pool in use:       %" PRIu64 " bytes (up to the end of the last zone)\n", c.end);
  printf("records:           %" PRIu64 "\n", c.records);
  printf("free bytes:        %" PRIu64 "\n", c.free_bytes);
  printf("version:           0x%" PRIx64 "\n", format::kVersion);
  const uint64_t seed = h.seed;
  const uint64_t test =
      HashTestValue([seed](const void* p, size_t len) { return JenkinsHash64(p, len, seed); });
  printf("hash seed:         0x%" PRIx64 "\n", seed);
  printf("hash check value:  0x%" PRIx64 "\n", test);
  printf("features used:     0x%" PRIx64 "\n", h.features_used);
  printf("features offered:  0x%" PRIx64 "\n", h.features_offered);
  printf("seqnum:            %" PRIu64 "\n", h.seqnum);
  printf("capabilities:      %" PRIu64 "\n", c.capabilities);
  printf("zones:             %" PRIu64 "\n", c.zones);
}

int RunInfo(const Invocation& inv) {
  const std::string& path = inv.args[0];
  std::unique_ptr<Db> db;
  Status st = OpenExistingDb(path, O_RDONLY, &db);
  if (!st.ok()) return Fail(inv, st);
  Counts counts;
  st = ReadCounts(db.get(), &counts);
  if (!st.ok()) return Fail(inv, st);
  struct stat sb;
  if (IsPool(*db)) {
    PoolHeader h;
    h.seed = db->HashSeed();
    st = db->GetSeqnum(&h.seqnum);
    if (st.ok()) st = db->GetFeatures(&h.features_used, &h.features_offered);
    if (!st.ok()) return Fail(inv, st);
    if (stat(path.c_str(), &sb) != 0) {
      return Fail(inv, kExitError, "cannot stat " + path + ": " + strerror(errno));
    }
    PrintPoolInfo(uint64_t(sb.st_size), h, counts);
  } else {
    format::Header h;
    if (pread(db->Fd(), &h, sizeof(h), 0) != ssize_t(sizeof(h)) || fstat(db->Fd(), &sb) != 0) {
      return Fail(inv, kExitError, "cannot read " + path + ": " + strerror(errno));
    }
    PrintFileInfo(h, uint64_t(sb.st_size), counts);
  }
  st = FlushOutput(stdout, "standard output");
  return st.ok() ? kExitOk : Fail(inv, st);
}

int RunCheck(const Invocation& inv) {
  const std::string& path = inv.args[0];
  std::unique_ptr<Db> db;
  Status st = OpenExistingDb(path, O_RDONLY, &db);
  if (!st.ok()) {
    return Fail(inv, IsDamagedDatabase(path, st) ? kExitCorrupt : kExitError, st.ToString());
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
  if (st.IsCorrupt()) {
    Fail(inv, kExitCorrupt, st.ToString());
    fprintf(stderr, "ptdb check: 'ptdb rescue %s -o OUT' saves what it still holds\n",
            path.c_str());
    return kExitCorrupt;
  }
  if (!st.ok()) return Fail(inv, st);
  printf("%s: ok, %" PRIu64 " records\n", path.c_str(), records);
  st = FlushOutput(stdout, "standard output");
  return st.ok() ? kExitOk : Fail(inv, st);
}

int RunSummary(const Invocation& inv) {
  std::unique_ptr<Db> db;
  Status st = OpenExistingDb(inv.args[0], O_RDONLY, &db);
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
  Status st = OpenExistingDb(inv.args[0], O_RDWR, &db);
  if (st.ok()) st = db->WipeAll();
  return st.ok() ? kExitOk : Fail(inv, st);
}

// The file's size in bytes, for the before/after line.
uint64_t FileBytes(const std::string& path) {
  struct stat sb;
  return stat(path.c_str(), &sb) == 0 ? uint64_t(sb.st_size) : 0;
}

// A pool keeps its size; what repack gives back is the zones above the records, to the
// pool's free space.
Status PoolInUse(Db* db, uint64_t* bytes) {
  std::string report;
  Status st = db->Summary(false, &report);
  if (st.ok() && !SummaryCount(report, kSizeLine, bytes)) {
    st = Status(Error::kIo, "the library's summary lacks a count this tool expects");
  }
  return st;
}

int RunRepack(const Invocation& inv) {
  const std::string& path = inv.args[0];
  std::unique_ptr<Db> db;
  Status st = OpenExistingDb(path, O_RDWR, &db);
  if (!st.ok()) return Fail(inv, st);
  const bool pool = IsPool(*db);
  uint64_t before = FileBytes(path), after = 0;
  if (pool) st = PoolInUse(db.get(), &before);
  if (st.ok()) {
    Progress reading("repack: reading", "records", 0);
    std::unique_ptr<Progress> rewriting;
    st = db->Repack([&](uint64_t done, uint64_t total) {
      if (total == 0) return reading.Update(done);
      if (rewriting == nullptr) {
        reading.Clear();
        rewriting = std::make_unique<Progress>("repack: rewriting", "records", total);
      }
      rewriting->Update(done);
    });
  }
  uint64_t records = 0;
  if (st.ok()) st = db->Traverse([](std::string_view, std::string_view) { return true; }, &records);
  if (st.ok() && pool) st = PoolInUse(db.get(), &after);
  if (!st.ok()) return Fail(inv, st);
  // The file is cut when the last handle closes if another process had it open.
  db.reset();
  if (pool) {
    printf("%s: repacked, %" PRIu64 " records, pool in use %" PRIu64 " -> %" PRIu64
           " bytes (pool size %" PRIu64 ")\n",
           path.c_str(), records, before, after, FileBytes(path));
  } else {
    printf("%s: repacked, %" PRIu64 " records, %" PRIu64 " -> %" PRIu64 " bytes\n", path.c_str(),
           records, before, FileBytes(path));
  }
  st = FlushOutput(stdout, "standard output");
  return st.ok() ? kExitOk : Fail(inv, st);
}

}  // namespace

void AddAdminCommands(std::vector<Command>* commands) {
  commands->push_back(
      {"create",
       "create FILE [--backend file|pmem] [--pool-size SIZE] [--seed N] [--force]",
       "Create an empty database",
       std::string("Creates FILE as an empty ptdb database: a file, or a libpmemobj pool.\n"
                   "\n") +
           kNewDbOptionsHelp +
           "  --force           replace FILE if it exists (its contents are lost); without it\n"
           "                    an existing FILE is an error\n"
           "\n"
           "Every other command finds the backend of an existing FILE by itself.\n"
           "\n" +
           kPmemHelp,
       {{"--backend", true}, {"--pool-size", true}, {"--seed", true}, {"--force", false}},
       1,
       1,
       RunCreate});
  commands->push_back(
      {"info",
       "info FILE",
       "Show backend, header fields, sizes and record count",
       "Prints, one per line, for a file: the backend (file), the file size in bytes,\n"
       "the number of records and of free bytes, and the header's version, hash seed,\n"
       "hash check value, features used and offered, sequence number, number of\n"
       "capabilities and number of zones.\n"
       "\n"
       "For a pool: the backend (pmem), the pool size, how far into the pool the\n"
       "database reaches (the end of its last zone; libpmemobj's own metadata comes\n"
       "first), the numbers of records and free bytes, the version, hash seed, hash\n"
       "check value, features used and offered, sequence number, and the numbers of\n"
       "capabilities and zones.\n",
       {},
       1,
       1,
       RunInfo});
  commands->push_back(
      {"check",
       "check FILE",
       "Verify the whole database",
       "Verifies every byte of FILE (a file or a pool): header, zones, free lists, hash\n"
       "tree, every key rehashed; in a pool also that its objects are the zones. Never\n"
       "repairs. Prints \"FILE: ok, N records\" when the database is sound; exits 3 with\n"
       "the checker's description on stderr when it is corrupt (or a pool libpmemobj\n"
       "opened holds a damaged database), and 1 when FILE cannot be read or is not a\n"
       "ptdb database (a pool of another program is not). Shows progress on stderr\n"
       "when stderr is a terminal. ptdb rescue saves what a corrupt database still\n"
       "holds.\n",
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
  commands->push_back(
      {"repack",
       "repack FILE",
       "Rewrite every record compactly and give back the space",
       "Rewrites every record of FILE in one transaction (one sync for a file) and\n"
       "gives back the space left over. A file is cut to what the records need, now if\n"
       "no other process has it open, else when the last one closes it; prints the file\n"
       "size before and after. A pool keeps its size, and the zones the records no\n"
       "longer need go back to its free space; prints how far into the pool the\n"
       "database reached before and after. Holds every record in memory meanwhile.\n"
       "Shows progress on stderr when stderr is a terminal.\n",
       {},
       1,
       1,
       RunRepack});
}

}  // namespace ptdb::cli
