// Recovery bundles: what a commit writes, syncs once, then applies in place; and what
// recovery replays after a crash (docs/transactions.md).
//
// A bundle is a redo log of one transaction: its number, the file size after it, and
// every changed byte run with its new bytes, under an XXH64 checksum. Two areas past the
// end of the zones (header.recovery[0] and [1]) take turns: transaction N writes the area
// N % 2, so the bundle of N - 1, whose in-place application N's sync makes durable, stays
// intact until then. Replaying a bundle is idempotent.
#ifndef PTDB_FILE_RECOVERY_H_
#define PTDB_FILE_RECOVERY_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "common/format.h"
#include "file/commit_io.h"
#include "ptdb/status.h"

namespace ptdb {

struct BundleHeader {
  uint64_t magic;     // kBundleMagic
  uint64_t checksum;  // XXH64 of the bytes after this field, up to len
  uint64_t len;       // bytes of the whole bundle, header included
  uint64_t counter;   // the transaction's number
  uint64_t new_size;  // the file's size the transaction needs (at least)
  uint64_t entries;   // byte runs that follow: {u64 off, u64 len, bytes padded to 8}
};
static_assert(sizeof(BundleHeader) == 48);

inline constexpr uint64_t kBundleMagic = 0x3176637262647470ULL;  // "ptdbrcv1"

// A bundle's bytes. Not a std::string: growing one zero-fills what a commit then
// overwrites, and appending a run's entry, bytes and padding piece by piece cost three
// times the copies themselves.
class BundleBytes {
 public:
  BundleBytes() = default;
  // A moved-from one is empty, with no buffer (its room went with the bytes).
  BundleBytes(BundleBytes&& other) noexcept { *this = std::move(other); }
  BundleBytes& operator=(BundleBytes&& other) noexcept {
    bytes_ = std::move(other.bytes_);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    return *this;
  }

  const char* data() const { return bytes_.get(); }
  char* data() { return bytes_.get(); }
  size_t size() const { return size_; }
  // Keeps the first min(n, size()) bytes; bytes past them hold nothing defined until
  // written.
  void resize(size_t n) {
    if (n > capacity_) Reallocate(std::max(n, 2 * capacity_));
    size_ = n;
  }
  void reserve(size_t n) {
    if (n > capacity_) Reallocate(n);
  }
  // Empties it, keeping the buffer for reuse if it is at most `keep` bytes.
  void Release(size_t keep) {
    size_ = 0;
    if (capacity_ > keep) {
      bytes_.reset();
      capacity_ = 0;
    }
  }

 private:
  void Reallocate(size_t capacity);

  std::unique_ptr<char[]> bytes_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

class BundleWriter {
 public:
  // `expected_bytes`: room to reserve, so the bundle is not copied as it grows. `buf`: a
  // spent bundle whose buffer is reused (its bytes are not).
  explicit BundleWriter(uint64_t counter, size_t expected_bytes = 0, BundleBytes buf = {});
  // Adds a run of new bytes; a run that starts where the last one ended joins it.
  void Add(uint64_t off, const void* bytes, size_t len);
  // Seals the bundle (length, checksum) for a file of new_size bytes and hands it over;
  // the writer is spent.
  BundleBytes Finish(uint64_t new_size);
  size_t entries() const { return entries_; }

 private:
  // len more bytes at the end of the bundle.
  char* Room(size_t len) {
    const size_t at = buf_.size();
    buf_.resize(at + len);
    return buf_.data() + at;
  }

  BundleBytes buf_;
  size_t entries_ = 0;
  size_t last_entry_ = 0;  // where the last run's {off, len} starts in buf_
  uint64_t last_end_ = 0;
};

struct Bundle {
  uint64_t counter = 0;
  uint64_t new_size = 0;
  BundleBytes bytes;  // the whole bundle
};

// Reads the bundle at `off`. *valid is false (and OK returned) when there is none, or it
// is torn or damaged: the checksum decides.
Status ReadBundle(CommitIo* io, uint64_t off, Bundle* bundle, bool* valid);
// Writes every run of a valid bundle (and extends the file to its size).
Status ApplyBundle(CommitIo* io, const Bundle& bundle);

// Marks commit `counter` as being applied in place: first header.tx_apply_groups (the
// hash groups whose bytes it changes; all zero: any group), then header.tx_applying.
// In that order: whoever sees "applying" reads this commit's groups (docs/transactions.md).
Status MarkApplying(CommitIo* io, const uint64_t (&groups)[format::kTopGroups / 64],
                    uint64_t counter);

// Clears the header's recovery slots: every bundle they name is known applied, and
// their areas may hold records from now on, whose bytes must never be taken for a
// bundle. REQUIRES: as RecoverFile, and no bundle pending.
Status ForgetBundleAreas(CommitIo* io);

// Brings the file to its last committed state: replays, in order, every valid bundle
// numbered after header.tx_replayed, syncs, then records them replayed, forgets their
// areas and clears tx_applying and tx_gate. *replayed counts the bundles. REQUIRES: no one else
// writes (the transaction and allrecord locks, or a lone opener).
Status RecoverFile(CommitIo* io, bool sync, int* replayed);

// Whether the file may hold commits not yet known to be applied: a commit died while
// applying (tx_applying), or bundles past tx_replayed exist.
Status NeedsRecovery(CommitIo* io, bool* needed);

}  // namespace ptdb

#endif  // PTDB_FILE_RECOVERY_H_
