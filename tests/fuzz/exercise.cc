#include "tests/fuzz/exercise.h"

#include <fcntl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "ptdb/db.h"

namespace ptdb::test {
namespace {

// The seed corpus has files made with a constant hash too, so that the bottom-level
// chains (which only a degenerate hash reaches) are within the fuzzer's reach.
uint64_t ConstantHash(const void*, size_t, uint64_t) { return 0; }

}  // namespace

void ExerciseDatabase(const std::string& path, int open_flags, unsigned flags) {
  const RescueFn ignore = [](std::string_view, std::string_view) { return Status::OK(); };
  // With kRescueUnreachable: the tree walk, then the records nothing leads to as well.
  (void)Db::RescueFile(path, ptdb::Options(), ignore, nullptr, kRescueUnreachable);
  ptdb::Options options;
  options.open_flags = open_flags;
  options.flags = flags;
  std::unique_ptr<ptdb::Db> db;
  if (ptdb::Db::Open(path, options, &db).code() == ptdb::Error::kEinval) {
    options.hash = ConstantHash;
    (void)ptdb::Db::Open(path, options, &db);
  }
  if (!db) return;

  (void)db->Check();
  RescueReport rescued;
  (void)db->Rescue(ignore, &rescued, kRescueUnreachable);
  std::string first_key;
  uint64_t visited = 0;
  (void)db->Traverse([&](std::string_view key, std::string_view) {
    if (visited == 0) first_key = key;
    return ++visited < 100000;
  });
  std::string key;
  ptdb::Status it = db->FirstKey(&key);
  for (int i = 0; it.ok() && i < 1000; i++) it = db->NextKey(&key);
  std::string value;
  (void)db->Fetch(first_key, &value);
  (void)db->Fetch("fuzz", &value);
  bool exists;
  (void)db->Exists("fuzz", &exists);
  std::string summary;
  (void)db->Summary(true, &summary);
  if ((open_flags & O_ACCMODE) == O_RDWR) {
    (void)db->Store("fuzz-key", "fuzz-value");
    (void)db->Append(first_key, "more");
    (void)db->Delete("fuzz-key");
    // A transaction's replaces are applied as a batch, whose walks read the tree ahead
    // of the stores (Engine::StoreBatch); cancelled, so the check below sees the file.
    if (db->TransactionStart().ok()) {
      (void)db->Store(first_key, "replaced");
      (void)db->Store("fuzz-batch", "value");
      (void)db->Fetch(first_key, &value);
      (void)db->TransactionCancel();
    }
    (void)db->Check();
  }
}

}  // namespace ptdb::test
