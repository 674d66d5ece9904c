// A SpaceReader over bytes in memory, for checker and summary tests.
#ifndef PTDB_TESTS_SUPPORT_VECTOR_SPACE_H_
#define PTDB_TESTS_SUPPORT_VECTOR_SPACE_H_

#include <cstring>
#include <string>
#include <vector>

#include "common/format.h"
#include "common/space_reader.h"

namespace ptdb::test {

class VectorSpace final : public SpaceReader {
 public:
  // With copy, Read copies into the caller's buffer (as pread does) instead of handing out
  // a pointer (as a mapping does), so both paths of a reader get exercised.
  explicit VectorSpace(const std::vector<uint8_t>* bytes, bool copy = false)
      : bytes_(bytes), copy_(copy) {}

  Status Read(uint64_t off, size_t len, void* buf, const void** out) override {
    const uint64_t size = bytes_->size();
    if (off > size || len > size - off) {
      return Status(Error::kCorrupt, "read of " + std::to_string(len) + " bytes at " +
                                         std::to_string(off) + " past the end at " +
                                         std::to_string(size));
    }
    if (!copy_) {
      *out = bytes_->data() + off;
      return Status::OK();
    }
    if (len > 0) std::memcpy(buf, bytes_->data() + off, len);
    *out = buf;
    return Status::OK();
  }

  std::vector<Extent> Extents() const override {
    if (bytes_->size() <= format::kHeaderSize) return {};
    return {Extent{format::kHeaderSize, bytes_->size() - format::kHeaderSize}};
  }

 private:
  const std::vector<uint8_t>* bytes_;
  bool copy_;
};

}  // namespace ptdb::test

#endif  // PTDB_TESTS_SUPPORT_VECTOR_SPACE_H_
