// The timed loops. Each mirrors one phase of tdb2's tools/speed.c, on the peer workload's
// records instead of 4-byte integers.
#include "bench/phases.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include "bench/phase_util.h"
#include "bench/workload.h"

namespace ptdb {
namespace bench {
namespace {

// speed.c's strides: deletes and churn visit the records in a scrambled but complete order.
constexpr uint64_t kDeleteStride = 100003;
constexpr uint64_t kChurnStride = 1000019;
// speed.c appends a 4-byte integer to every record.
constexpr size_t kAppendBytes = 4;
// find2t's threads: as many as the bench machine has cores (2 vCPUs), hence the name.
constexpr unsigned kReaderThreads = 2;

class PhaseRunner {
 public:
  PhaseRunner(Store* store, uint64_t n, std::string* first_failure)
      : store_(store),
        n_(n),
        workload_(store->config().key_size, store->config().value_size),
        fetch_order_(FetchOrder(n)),
        first_failure_(first_failure) {}

  // Times body, a phase of `ops` operations, then runs the untimed verify (if any).
  PhaseResult Time(const char* name, uint64_t ops, void (PhaseRunner::*body)(),
                   void (PhaseRunner::*verify)()) {
    phase_ = name;
    failures_ = 0;
    latency_log_.reset();
    const auto start = std::chrono::steady_clock::now();
    (this->*body)();
    const auto end = std::chrono::steady_clock::now();
    if (verify != nullptr) (this->*verify)();
    PhaseResult result;
    result.phase = name;
    result.ops = ops;
    result.ns = std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count();
    result.file_bytes = store_->FileBytes();
    result.peak_rss_bytes = PeakRssBytes();
    result.failures = failures_;
    // Sorted only now, outside the timed loop.
    if (latency_log_) result.latency = latency_log_->Summarize();
    latency_log_.reset();
    return result;
  }

  void Expect(Result got, Result want, uint64_t record) {
    if (got != want) {
      Failed(record, got == Result::kError
                         ? store_->error()
                         : std::string(ResultName(got)) + ", expected " + ResultName(want));
    }
  }

  void Failed(uint64_t record, const std::string& what) {
    Failed("record " + std::to_string(record) + ": " + what);
  }

  void Failed(const std::string& what) {
    ++failures_;
    if (first_failure_->empty()) *first_failure_ = phase_ + ": " + what;
  }

  void Add() {
    for (uint64_t i = 0; i < n_; ++i) {
      Expect(store_->Insert(workload_.Key(i), workload_.Value(i)), Result::kOk, i);
    }
  }

  void Find() {
    for (const uint64_t i : fetch_order_) {
      std::string_view value;
      const Result got = store_->Fetch(workload_.Key(i), &value);
      if (got == Result::kOk && value != workload_.Value(i)) {
        Failed(i, "wrong value");
      } else {
        Expect(got, Result::kOk, i);
      }
    }
  }

  // find's fetches, split between kReaderThreads threads that share the store's handle
  // (Store::NewReader): thread t fetches every kReaderThreads-th record of the same order,
  // from the t-th on, and checks each value.
  void FindThreads() {
    std::vector<uint64_t> failed(kReaderThreads, 0);
    std::vector<std::string> first(kReaderThreads);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < kReaderThreads; ++t) {
      threads.emplace_back([&, t] {
        const auto fail = [&](uint64_t record, const std::string& what) {
          if (failed[t]++ == 0) first[t] = "record " + std::to_string(record) + ": " + what;
        };
        const std::unique_ptr<Reader> reader = store_->NewReader();
        if (reader == nullptr) {
          fail(fetch_order_[t], "the store gave no reader");
          return;
        }
        Workload workload(store_->config().key_size, store_->config().value_size);
        std::string value;
        for (size_t j = t; j < fetch_order_.size(); j += kReaderThreads) {
          const uint64_t i = fetch_order_[j];
          const Result got = reader->Fetch(workload.Key(i), &value);
          if (got == Result::kError) {
            fail(i, reader->error());
          } else if (got != Result::kOk) {
            fail(i, std::string(ResultName(got)) + ", expected " + ResultName(Result::kOk));
          } else if (value != workload.Value(i)) {
            fail(i, "wrong value");
          }
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    for (unsigned t = 0; t < kReaderThreads; ++t) {
      if (failed[t] == 0) continue;
      Failed(first[t]);
      failures_ += failed[t] - 1;
    }
  }

  void Miss() {
    for (const uint64_t j : fetch_order_) {
      const uint64_t i = n_ + j;
      std::string_view value;
      Expect(store_->Fetch(workload_.Key(i), &value), Result::kNoExist, i);
    }
  }

  void Traverse() {
    tally_ = TraverseTally();
    tally_.key_size = store_->config().key_size;
    tally_.value_size = store_->config().value_size;
    const Result got = store_->Traverse(&tally_);
    if (got != Result::kOk) Failed(got == Result::kError ? store_->error() : ResultName(got));
  }

  // Every record visited once: the right count, and the checksum of records 0..n-1.
  void VerifyTraverse() {
    TraverseTally expected;
    expected.key_size = tally_.key_size;
    expected.value_size = tally_.value_size;
    for (uint64_t i = 0; i < n_; ++i) expected.Visit(workload_.Key(i), workload_.Value(i));
    if (tally_.count != n_) {
      Failed("visited " + std::to_string(tally_.count) + " records of " + std::to_string(n_));
    } else if (tally_.wrong_size != 0) {
      Failed(std::to_string(tally_.wrong_size) + " records of the wrong size");
    } else if (tally_.checksum != expected.checksum) {
      Failed("records visited are not the records stored (checksum)");
    }
  }

  void Delete() {
    for (uint64_t j = 0; j < n_; ++j) {
      const uint64_t i = (j + kDeleteStride) % n_;
      Expect(store_->Delete(workload_.Key(i)), Result::kOk, i);
    }
  }

  void Readd() {
    for (uint64_t j = 0; j < n_; ++j) {
      const uint64_t i = (j + kDeleteStride) % n_;
      Expect(store_->Insert(workload_.Key(i), workload_.Value(i)), Result::kOk, i);
    }
  }

  void Append() {
    for (uint64_t i = 0; i < n_; ++i) {
      char tail[kAppendBytes];
      const uint32_t word = static_cast<uint32_t>(i);
      std::memcpy(tail, &word, kAppendBytes);
      Expect(store_->Append(workload_.Key(i), std::string_view(tail, kAppendBytes)), Result::kOk,
             i);
    }
  }

  // Replaces every record by a new one: the delete frees space the insert can reuse.
  // Each pair is timed on its own: churn is where stores stall (coalescing free space,
  // growing the file, compactions).
  void Churn() {
    latency_log_ = std::make_unique<LatencyLog>(n_);
    latency_log_->Start(LatencyLog::Clock::now());
    for (uint64_t j = 0; j < n_; ++j) {
      const uint64_t i = (j + kChurnStride) % n_;
      Expect(store_->Delete(workload_.Key(i)), Result::kOk, i);
      Expect(store_->Insert(workload_.Key(i + n_), workload_.Value(i + n_)), Result::kOk, i + n_);
      latency_log_->Lap(LatencyLog::Clock::now());
    }
  }

 private:
  Store* const store_;
  const uint64_t n_;
  Workload workload_;
  const std::vector<uint32_t> fetch_order_;
  std::string* const first_failure_;
  std::string phase_;
  uint64_t failures_ = 0;
  // The phase's operations one by one, if it times them (Time summarizes it).
  std::unique_ptr<LatencyLog> latency_log_;
  TraverseTally tally_;
};

struct Phase {
  const char* name;
  void (PhaseRunner::*body)();
  void (PhaseRunner::*verify)();  // nullptr: body checks every operation itself
  bool threads = false;           // several threads share the handle (Traits().shared_reads)
};

constexpr Phase kPhases[] = {
    {"add", &PhaseRunner::Add, nullptr},
    {"find", &PhaseRunner::Find, nullptr},
    {"find2t", &PhaseRunner::FindThreads, nullptr, true},
    {"miss", &PhaseRunner::Miss, nullptr},
    {"traverse", &PhaseRunner::Traverse, &PhaseRunner::VerifyTraverse},
    {"delete", &PhaseRunner::Delete, nullptr},
    {"re-add", &PhaseRunner::Readd, nullptr},
    {"append", &PhaseRunner::Append, nullptr},
    {"churn", &PhaseRunner::Churn, nullptr},
};

}  // namespace

uint64_t PeakRssBytes() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;
}

const std::vector<std::string>& PhaseNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> list;
    for (const Phase& phase : kPhases) list.push_back(phase.name);
    return list;
  }();
  return names;
}

void RunPhases(Store* store, uint64_t n, const std::vector<std::string>& selected,
               const std::function<void(const PhaseResult&)>& on_phase,
               std::string* first_failure) {
  PhaseRunner runner(store, n, first_failure);
  for (const Phase& phase : kPhases) {
    if (std::find(selected.begin(), selected.end(), phase.name) == selected.end()) continue;
    if (phase.threads && !store->Traits().shared_reads) {
      on_phase(SkippedPhase(phase.name, "unsupported (its handle is not shared by threads)"));
      continue;
    }
    on_phase(runner.Time(phase.name, n, phase.body, phase.verify));
  }
}

}  // namespace bench
}  // namespace ptdb
