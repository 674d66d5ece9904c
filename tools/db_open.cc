#include "tools/db_open.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "common/format.h"

namespace ptdb::cli {
namespace {

// libpmemobj's pool header starts with this signature and its NUL.
constexpr char kPoolSignature[] = "PMEMOBJ";

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

// Decimal bytes, optionally followed by K, M or G (powers of 1024, either case); not 0.
bool ParseSize(const std::string& text, uint64_t* size) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') digits++;
  if (digits == 0 || text.size() > digits + 1) return false;
  unsigned shift = 0;
  if (digits < text.size()) {
    switch (text[digits]) {
      case 'k':
      case 'K':
        shift = 10;
        break;
      case 'm':
      case 'M':
        shift = 20;
        break;
      case 'g':
      case 'G':
        shift = 30;
        break;
      default:
        return false;
    }
  }
  uint64_t v = 0;
  for (size_t i = 0; i < digits; i++) {
    const unsigned d = unsigned(text[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  if (v == 0 || v > (UINT64_MAX >> shift)) return false;
  *size = v << shift;
  return true;
}

bool OnTmpfs(const std::string& path) {
  struct statfs fs;
  if (statfs(path.c_str(), &fs) == 0) return fs.f_type == TMPFS_MAGIC;
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  return statfs(dir.c_str(), &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

// A pool on tmpfs is emulated pmem: DRAM, so msync makes it no more durable than cache
// flushes do, and libpmemobj persists with cache flushes only if PMEM_IS_PMEM_FORCE=1
// (else an msync per flush, about twice the time per write). Anywhere else the variable is
// left alone: on a disk file system forcing it would make commits not durable at all, and
// on fs-dax libpmem finds real pmem by itself. libpmem reads it when the first pool is
// mapped, which is after this; a value the user set wins. A file database ignores it.
void UseEmulatedPmemOnTmpfs(const std::string& path) {
  if (getenv("PMEM_IS_PMEM_FORCE") == nullptr && OnTmpfs(path)) {
    setenv("PMEM_IS_PMEM_FORCE", "1", 0);
  }
}

// The first bytes of `path`, as many as fit in `len`; how many were read, or -1.
ssize_t ReadStart(const std::string& path, void* buf, size_t len) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  const ssize_t n = pread(fd, buf, len, 0);
  close(fd);
  return n;
}

// A file with ptdb's magic and this version is a ptdb database.
bool HasPtdbHeaderStart(const std::string& path) {
  format::Header h;
  constexpr size_t kStart = offsetof(format::Header, version) + sizeof(h.version);
  if (ReadStart(path, &h, kStart) != ssize_t(kStart)) return false;
  char magic[sizeof(h.magic_food)] = {};
  std::memcpy(magic, format::kMagicFood, sizeof(format::kMagicFood));
  return std::memcmp(h.magic_food, magic, sizeof(magic)) == 0 && h.version == format::kVersion;
}

}  // namespace

bool IsPoolFile(const std::string& path) {
  char buf[sizeof(kPoolSignature)];
  return ReadStart(path, buf, sizeof(buf)) == ssize_t(sizeof(buf)) &&
         std::memcmp(buf, kPoolSignature, sizeof(buf)) == 0;
}

const char kNewDbOptionsHelp[] =
    "  --backend B       file (default): a database file, mmap'd; pmem: a libpmemobj\n"
    "                    pool, for fs-dax pmem or emulated pmem (a file in /dev/shm)\n"
    "  --pool-size SIZE  pmem only: the pool's size in bytes, with an optional K, M or G\n"
    "                    suffix (powers of 1024); default 64M, room for about 250k small\n"
    "                    records. A pool is created at its full size and never grows;\n"
    "                    libpmemobj's minimum is 8M\n"
    "  --seed N          the hash seed (decimal, or hex after 0x); default: random\n";

bool ParseNewDbOptions(const Invocation& inv, NewDbSpec* spec, int* exit_code) {
  *spec = NewDbSpec();
  if (const std::string* text = inv.args.Value("--backend")) {
    if (*text == "file") {
      spec->backend = BackendKind::kFile;
    } else if (*text == "pmem") {
      spec->backend = BackendKind::kPmem;
    } else {
      *exit_code = UsageError(inv, "--backend is file or pmem, not '" + *text + "'");
      return false;
    }
  }
  if (const std::string* text = inv.args.Value("--pool-size")) {
    if (spec->backend != BackendKind::kPmem) {
      *exit_code = UsageError(inv, "--pool-size needs --backend pmem (a file grows by itself)");
      return false;
    }
    if (!ParseSize(*text, &spec->pool_size)) {
      *exit_code = UsageError(
          inv, "--pool-size needs a size in bytes, optionally with K, M or G, not '" + *text + "'");
      return false;
    }
  }
  if (const std::string* text = inv.args.Value("--seed")) {
    uint64_t v;
    if (!ParseSeed(*text, &v)) {
      *exit_code =
          UsageError(inv, "--seed needs a number (decimal, or hex after 0x), not '" + *text + "'");
      return false;
    }
    spec->seed = v;
  }
  return true;
}

bool HasNewDbOptions(const Invocation& inv) {
  return inv.args.Has("--backend") || inv.args.Has("--pool-size") || inv.args.Has("--seed");
}

Status OpenExistingDb(const std::string& path, int open_flags, std::unique_ptr<Db>* db) {
  UseEmulatedPmemOnTmpfs(path);
  Options options;
  options.open_flags = open_flags;
  return Db::Open(path, options, db);
}

Status CreateDb(const std::string& path, int open_flags, const NewDbSpec& spec,
                std::unique_ptr<Db>* db) {
  UseEmulatedPmemOnTmpfs(path);
  Options options;
  options.open_flags = open_flags;
  options.backend = spec.backend;
  options.pool_size = spec.pool_size;
  options.seed = spec.seed;
  return Db::Open(path, options, db);
}

bool IsPool(const Db& db) { return db.Fd() < 0; }

bool IsDamagedDatabase(const std::string& path, const Status& status) {
  if (!status.IsCorrupt()) return false;
  if (HasPtdbHeaderStart(path)) return true;
  // libpmemobj refusing the pool (another layout, or no pool at all) is reported as
  // "not a ptdb pool" (docs/pmem.md); once it has opened a ptdb pool, whatever is wrong
  // is damage.
  return IsPoolFile(path) &&
         std::string(status.message()).find("not a ptdb pool") == std::string::npos;
}

}  // namespace ptdb::cli
