// The replaces a write transaction's owner has made and its handle has not applied yet
// (DbImpl::Store). Applied together, their lookups' DRAM misses overlap
// (Engine::StoreBatch): in a 10-record transaction they were most of its time.
//
// Keys and values are copied into one buffer, which a handle keeps from one transaction
// to the next, so holding a store back allocates nothing after the first.
#ifndef PTDB_FRONTEND_DEFERRED_STORES_H_
#define PTDB_FRONTEND_DEFERRED_STORES_H_

#include <cassert>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "common/backend.h"

namespace ptdb {

class DeferredStores {
 public:
  // A batch overlaps this many lookups; a bigger record gains nothing by waiting (its
  // copies cost more than the miss saved).
  static constexpr size_t kMaxStores = 16;
  static constexpr size_t kMaxRecordBytes = 1024;

  static bool Fits(std::string_view key, std::string_view data) {
    return key.size() <= kMaxRecordBytes && data.size() <= kMaxRecordBytes - key.size();
  }

  // Copies the store in. REQUIRES: Fits(key, data) and !full().
  void Add(std::string_view key, std::string_view data) {
    assert(Fits(key, data) && !full());
    if (bytes_ == nullptr) {
      bytes_.reset(new char[kMaxStores * kMaxRecordBytes]);
      stores_.reserve(kMaxStores);
    }
    char* const at = bytes_.get() + used_;
    std::memcpy(at, key.data(), key.size());
    std::memcpy(at + key.size(), data.data(), data.size());
    used_ += key.size() + data.size();
    stores_.push_back(
        {std::string_view(at, key.size()), std::string_view(at + key.size(), data.size())});
  }
  bool empty() const { return stores_.empty(); }
  bool full() const { return stores_.size() >= kMaxStores; }
  size_t size() const { return stores_.size(); }
  // In the order they were made.
  const DeferredStore* stores() const { return stores_.data(); }

  void Clear() {
    stores_.clear();
    used_ = 0;
  }

 private:
  // Room for a full batch of the biggest records, so the views never move.
  std::unique_ptr<char[]> bytes_;
  size_t used_ = 0;
  std::vector<DeferredStore> stores_;
};

}  // namespace ptdb

#endif  // PTDB_FRONTEND_DEFERRED_STORES_H_
