// A read-only view of a database's bytes, for the checker and the summary.
//
// These walk every byte once, so a virtual call per read costs nothing that matters,
// and it keeps them ordinary compiled code that any backend can feed.
#ifndef PTDB_COMMON_SPACE_READER_H_
#define PTDB_COMMON_SPACE_READER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "common/storage.h"
#include "ptdb/status.h"

namespace ptdb {

// The database's key hash with its seed applied.
using KeyHasher = std::function<uint64_t(const void* key, size_t len)>;

class SpaceReader {
 public:
  virtual ~SpaceReader() = default;
  // As Storage::Read (common/storage.h): kCorrupt if the range is outside the space.
  virtual Status Read(uint64_t off, size_t len, void* buf, const void** out) = 0;
  // As Storage::Extents.
  virtual std::vector<Extent> Extents() const = 0;
};

// Adapts a backend's Storage class to SpaceReader.
template <class Storage>
class StorageReader final : public SpaceReader {
 public:
  explicit StorageReader(Storage* storage) : storage_(storage) {}
  Status Read(uint64_t off, size_t len, void* buf, const void** out) override {
    return storage_->Read(off, len, buf, out);
  }
  std::vector<Extent> Extents() const override { return storage_->Extents(); }

 private:
  Storage* storage_;
};

}  // namespace ptdb

#endif  // PTDB_COMMON_SPACE_READER_H_
