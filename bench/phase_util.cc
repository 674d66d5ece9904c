#include "bench/phase_util.h"

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ptdb {
namespace bench {
namespace {

constexpr uint64_t kPreloadBatch = 10000;

}  // namespace

void FailureLog::Expect(const Store& store, Result got, Result want, uint64_t record) {
  if (got == want) return;
  Failed("record " + std::to_string(record) + ": " +
         (got == Result::kError ? store.error()
                                : std::string(ResultName(got)) + ", expected " + ResultName(want)));
}

void FailureLog::ExpectOk(const Store& store, Result got, const char* what, uint64_t number) {
  if (got == Result::kOk) return;
  Failed(std::string(what) + " " + std::to_string(number) + ": " +
         (got == Result::kError ? store.error() : ResultName(got)));
}

void FailureLog::ExpectValue(const Store& store, Result got, std::string_view value,
                             std::string_view want, uint64_t record) {
  if (got == Result::kOk && value != want) {
    Failed("record " + std::to_string(record) + ": wrong value");
  } else {
    Expect(store, got, Result::kOk, record);
  }
}

void FailureLog::Failed(const std::string& what) {
  ++count_;
  if (first_failure_->empty()) *first_failure_ = phase_ + ": " + what;
}

PhaseResult SkippedPhase(const std::string& phase, const std::string& why) {
  PhaseResult result;
  result.phase = phase;
  result.skipped = why;
  return result;
}

void Preload(Store* store, Workload* workload, uint64_t first, uint64_t count, FailureLog* log) {
  const bool batched = store->Traits().transactions;
  for (uint64_t done = 0; done < count;) {
    const uint64_t batch = batched ? std::min(kPreloadBatch, count - done) : count - done;
    if (batched) log->ExpectOk(*store, store->TxBegin(), "preload transaction at", first + done);
    for (uint64_t i = first + done; i < first + done + batch; ++i) {
      log->Expect(*store, store->Insert(workload->Key(i), workload->Value(i)), Result::kOk, i);
    }
    done += batch;
    if (batched) log->ExpectOk(*store, store->TxCommit(), "preload commit before", first + done);
  }
}

bool MakeFreshDir(const std::string& parent, const std::string& prefix, std::string* dir,
                  std::string* error) {
  std::string path = parent + "/" + prefix + "XXXXXX";
  if (mkdtemp(path.data()) == nullptr) {
    *error = "mkdtemp " + path + ": " + std::strerror(errno);
    return false;
  }
  *dir = path;
  return true;
}

void RemoveFilesIn(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::error_code ignored;
    if (entry.is_regular_file(ignored)) std::filesystem::remove(entry.path(), ignored);
  }
}

void PhasePeakRss::Start() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
  clear_refs.flush();
  reset_ = static_cast<bool>(clear_refs);
}

uint64_t PhasePeakRss::Bytes() const {
  if (!reset_) return PeakRssBytes();
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      uint64_t kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  }
  return PeakRssBytes();
}

}  // namespace bench
}  // namespace ptdb
