#include "file/file_rescue.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/engine.h"
#include "common/errors.h"
#include "common/format.h"
#include "common/hash.h"
#include "common/rescue.h"
#include "common/space_reader.h"

namespace ptdb {
namespace {

// The file's bytes as one read-only mapping; the space is one extent from the first zone
// (or the end of the header, if the header's word for it is damaged) to the end of the
// space the header gives (or of the file).
class MappedSpace final : public SpaceReader {
 public:
  MappedSpace(const uint8_t* base, uint64_t size) : base_(base), size_(size) {}

  void SetExtent(const format::Header& h) {
    uint64_t end = h.space_end;
    if (end <= format::kHeaderSize || end > size_) end = size_;
    uint64_t begin = h.first_zone;
    if (begin < format::kHeaderSize || begin >= end) begin = format::kHeaderSize;
    if (begin < end) extent_ = Extent{begin, end - begin};
  }

  Status Read(uint64_t off, size_t len, void*, const void** out) override {
    if (off > size_ || len > size_ - off) {
      return Err(Error::kCorrupt, "read of %zu bytes at %llu past the end of the file at %llu", len,
                 (unsigned long long)off, (unsigned long long)size_);
    }
    *out = base_ + off;
    return Status::OK();
  }

  std::vector<Extent> Extents() const override {
    if (extent_.len == 0) return {};
    return {extent_};
  }

 private:
  const uint8_t* base_;
  uint64_t size_;
  Extent extent_{0, 0};
};

}  // namespace

Status RescueDatabaseFile(const std::string& name, const Options& options, const RescueFn& fn,
                          RescueReport* report, unsigned flags) {
  const int fd = open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Err(Error::kIo, "cannot open %s: %s", name.c_str(), strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    const int err = errno;
    close(fd);
    return Err(Error::kIo, "cannot stat %s: %s", name.c_str(), strerror(err));
  }
  const uint64_t size = uint64_t(sb.st_size);
  if (size < sizeof(format::Header)) {
    close(fd);
    return Err(Error::kCorrupt, "%s: %llu bytes, too short for a header", name.c_str(),
               (unsigned long long)size);
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  const int map_err = errno;
  close(fd);
  if (map == MAP_FAILED) {
    return Err(Error::kIo, "cannot map %s: %s", name.c_str(), strerror(map_err));
  }
  MappedSpace space(static_cast<const uint8_t*>(map), size);
  format::Header header;
  std::memcpy(&header, map, sizeof(header));
  space.SetExtent(header);
  HashConfig hash;
  hash.fn = options.hash;
  hash.seed = header.hash_seed;
  Status st;
  if (!IsPtdbHeader(header)) {
    st = Err(Error::kCorrupt, "%s: not a ptdb database (its header is not one)", name.c_str());
  } else if (header.hash_test != HashTestValue(hash)) {
    st = Err(Error::kEinval,
             "%s uses a different hash function (or its header's hash check value is damaged)",
             name.c_str());
  } else {
    st = RescueDatabase(
        space, [&hash](const void* key, size_t len) { return hash(key, len); }, fn, report, flags);
  }
  munmap(map, size);
  return st;
}

}  // namespace ptdb
