// Opening and creating databases for the ptdb tool, on either backend: the options that
// describe a new database (--backend, --pool-size, --seed), the environment a pool on
// tmpfs wants, and telling a damaged database from a file that is no database at all.
#ifndef PTDB_TOOLS_DB_OPEN_H_
#define PTDB_TOOLS_DB_OPEN_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "ptdb/db.h"
#include "ptdb/options.h"
#include "ptdb/status.h"
#include "tools/cli.h"

namespace ptdb::cli {

// How a new database is made.
struct NewDbSpec {
  BackendKind backend = BackendKind::kFile;
  uint64_t pool_size = 0;  // kPmem only; 0: the library's default
  std::optional<uint64_t> seed;
};

// The help text of --backend, --pool-size and --seed, for the commands that take them.
extern const char kNewDbOptionsHelp[];

// Fills *spec from --backend, --pool-size and --seed (any of them absent is fine).
// False after printing a usage error, with its exit code in *exit_code.
bool ParseNewDbOptions(const Invocation& inv, NewDbSpec* spec, int* exit_code);
// True if any of the options that ParseNewDbOptions reads was given.
bool HasNewDbOptions(const Invocation& inv);

// Opens an existing database, whatever its backend, with open(2) flags O_RDONLY or
// O_RDWR.
Status OpenExistingDb(const std::string& path, int open_flags, std::unique_ptr<Db>* db);
// Creates a database as `spec` says: open_flags O_RDWR | O_CREAT, with O_EXCL, O_TRUNC or
// neither (then an existing database is opened instead, whatever its backend).
Status CreateDb(const std::string& path, int open_flags, const NewDbSpec& spec,
                std::unique_ptr<Db>* db);

// Whether an open database is a libpmemobj pool (it has no file descriptor).
bool IsPool(const Db& db);

// Whether `path` starts with libpmemobj's pool signature.
bool IsPoolFile(const std::string& path);

// Whether a failure to open `path` with `status` means a damaged ptdb database (check's
// exit status 3) rather than a file that is not one, or that cannot be read.
bool IsDamagedDatabase(const std::string& path, const Status& status);

}  // namespace ptdb::cli

#endif  // PTDB_TOOLS_DB_OPEN_H_
