#include "file/recovery.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "common/errors.h"
#include "common/format.h"

namespace ptdb {
namespace {

constexpr uint64_t kChecksumFrom = offsetof(BundleHeader, len);

uint64_t Pad8(uint64_t n) { return (n + 7) & ~uint64_t(7); }

Status ReadHeaderWord(CommitIo* io, size_t field, uint64_t* v) {
  return io->Read(field, sizeof(*v), v);
}

Status WriteHeaderWord(CommitIo* io, size_t field, uint64_t v) {
  return io->Write(field, &v, sizeof(v));
}

}  // namespace

void BundleBytes::Reallocate(size_t capacity) {
  std::unique_ptr<char[]> bigger(new char[capacity]);
  if (size_ > 0) std::memcpy(bigger.get(), bytes_.get(), size_);
  bytes_ = std::move(bigger);
  capacity_ = capacity;
}

BundleWriter::BundleWriter(uint64_t counter, size_t expected_bytes, BundleBytes buf)
    : buf_(std::move(buf)) {
  buf_.resize(0);
  BundleHeader h{};
  h.magic = kBundleMagic;
  h.counter = counter;
  buf_.reserve(std::max(sizeof(h), expected_bytes));
  std::memcpy(Room(sizeof(h)), &h, sizeof(h));
}

void BundleWriter::Add(uint64_t off, const void* bytes, size_t len) {
  if (entries_ > 0 && off == last_end_) {
    // Continues the last run (one crossing an overlay page): extend it in place.
    uint64_t last_len;
    std::memcpy(&last_len, buf_.data() + last_entry_ + 8, sizeof(last_len));
    buf_.resize(buf_.size() - (Pad8(last_len) - last_len));
    last_len += len;
    std::memcpy(buf_.data() + last_entry_ + 8, &last_len, sizeof(last_len));
  } else {
    const uint64_t entry[2] = {off, len};
    last_entry_ = buf_.size();
    std::memcpy(Room(sizeof(entry)), entry, sizeof(entry));
    entries_++;
  }
  // The padding is zeroed: the checksum covers it. When the run takes a word or more, by
  // clearing its last word before the copy: one store, not a call to memset.
  const size_t padded = size_t(Pad8(buf_.size() + len) - buf_.size());
  char* p = Room(padded);
  if (padded >= 8) {
    std::memset(p + padded - 8, 0, 8);
  } else {
    std::memset(p + len, 0, padded - len);
  }
  std::memcpy(p, bytes, len);
  last_end_ = off + len;
}

BundleBytes BundleWriter::Finish(uint64_t new_size) {
  BundleHeader h;
  std::memcpy(&h, buf_.data(), sizeof(h));
  h.len = buf_.size();
  h.new_size = new_size;
  h.entries = entries_;
  std::memcpy(buf_.data(), &h, sizeof(h));
  h.checksum = XXH64(buf_.data() + kChecksumFrom, buf_.size() - kChecksumFrom, 0);
  std::memcpy(buf_.data(), &h, sizeof(h));
  return std::move(buf_);
}

Status ReadBundle(CommitIo* io, uint64_t off, Bundle* bundle, bool* valid) {
  *valid = false;
  const uint64_t size = io->Size();
  if (off == 0 || off % 8 != 0 || off > size || size - off < sizeof(BundleHeader)) {
    return Status::OK();
  }
  BundleHeader h;
  PTDB_RETURN_IF_ERROR(io->Read(off, sizeof(h), &h));
  if (h.magic != kBundleMagic || h.len < sizeof(h) || h.len > size - off || h.len % 8 != 0) {
    return Status::OK();
  }
  bundle->bytes.resize(h.len);
  PTDB_RETURN_IF_ERROR(io->Read(off, h.len, bundle->bytes.data()));
  if (XXH64(bundle->bytes.data() + kChecksumFrom, h.len - kChecksumFrom, 0) != h.checksum) {
    return Status::OK();
  }
  // A bundle that passed its checksum was written whole by us; still, never trust its
  // runs to stay inside what it claims.
  uint64_t pos = sizeof(h);
  for (uint64_t i = 0; i < h.entries; i++) {
    uint64_t entry[2];
    if (h.len - pos < sizeof(entry)) return Err(Error::kCorrupt, "recovery bundle is short");
    std::memcpy(entry, bundle->bytes.data() + pos, sizeof(entry));
    pos += sizeof(entry);
    if (entry[1] > h.len - pos || Pad8(entry[1]) > h.len - pos || entry[0] > h.new_size ||
        entry[1] > h.new_size - entry[0]) {
      return Err(Error::kCorrupt, "recovery bundle %llu has a run outside the file",
                 (unsigned long long)h.counter);
    }
    pos += Pad8(entry[1]);
  }
  if (pos != h.len) return Err(Error::kCorrupt, "recovery bundle has trailing bytes");
  bundle->counter = h.counter;
  bundle->new_size = h.new_size;
  *valid = true;
  return Status::OK();
}

namespace {

// The header's words (up to the top-level groups) are read by others holding locks of
// groups the commit does not change (tx_counter, space_end, seqnum): each changes as one
// whole word, never byte by byte.
Status WriteEntry(CommitIo* io, uint64_t off, const uint8_t* p, uint64_t len) {
  while (len > 0 && off < format::kTopHashOffset) {
    const uint64_t word = off & ~uint64_t(7);
    const uint64_t n = std::min(len, word + 8 - off);
    uint64_t v;
    PTDB_RETURN_IF_ERROR(io->Read(word, sizeof(v), &v));
    std::memcpy(reinterpret_cast<uint8_t*>(&v) + (off - word), p, n);
    PTDB_RETURN_IF_ERROR(io->Write(word, &v, sizeof(v)));
    off += n;
    p += n;
    len -= n;
  }
  return len > 0 ? io->Write(off, p, len) : Status::OK();
}

}  // namespace

Status ApplyBundle(CommitIo* io, const Bundle& bundle) {
  if (io->Size() < bundle.new_size) PTDB_RETURN_IF_ERROR(io->Extend(bundle.new_size));
  BundleHeader h;
  std::memcpy(&h, bundle.bytes.data(), sizeof(h));
  struct Run {
    uint64_t off, len;
    const uint8_t* bytes;
  };
  // A small commit's runs fit on the stack (a heap vector cost as much as applying two
  // runs); a bigger bundle's go to the heap.
  constexpr size_t kStackRuns = 64;
  Run stack_runs[kStackRuns];
  std::unique_ptr<Run[]> heap_runs;
  Run* runs = stack_runs;
  if (h.entries > kStackRuns) {
    heap_runs.reset(new Run[size_t(h.entries)]);
    runs = heap_runs.get();
  }
  uint64_t pos = sizeof(h);
  for (uint64_t i = 0; i < h.entries; i++) {
    uint64_t entry[2];
    std::memcpy(entry, bundle.bytes.data() + pos, sizeof(entry));
    pos += sizeof(entry);
    runs[i] = {entry[0], entry[1], reinterpret_cast<const uint8_t*>(bundle.bytes.data()) + pos};
    pos += Pad8(entry[1]);
  }
  // Highest address first. A zone the transaction added lies above everything that links
  // to it (the previous zone's next_zone, the header): written last, the links lead only
  // to whole zone records, for an opener that loads the zones without a lock that keeps
  // us out (FileBackend::Open).
  for (uint64_t i = h.entries; i-- > 0;) {
    PTDB_RETURN_IF_ERROR(WriteEntry(io, runs[i].off, runs[i].bytes, runs[i].len));
  }
  return Status::OK();
}

namespace {

// The valid bundles numbered after tx_replayed, oldest first. Transaction N names its
// bundle in slot N % 2, so a bundle found through the other slot is not one we wrote.
Status PendingBundles(CommitIo* io, std::vector<Bundle>* out, uint64_t* replayed) {
  uint64_t areas[2];
  PTDB_RETURN_IF_ERROR(io->Read(offsetof(format::Header, recovery), sizeof(areas), areas));
  PTDB_RETURN_IF_ERROR(ReadHeaderWord(io, offsetof(format::Header, tx_replayed), replayed));
  out->clear();
  for (uint64_t slot = 0; slot < 2; slot++) {
    Bundle b;
    bool valid;
    PTDB_RETURN_IF_ERROR(ReadBundle(io, areas[slot], &b, &valid));
    if (valid && b.counter % 2 == slot && b.counter > *replayed) out->push_back(std::move(b));
  }
  std::sort(out->begin(), out->end(),
            [](const Bundle& a, const Bundle& b) { return a.counter < b.counter; });
  return Status::OK();
}

}  // namespace

Status MarkApplying(CommitIo* io, const uint64_t (&groups)[format::kTopGroups / 64],
                    uint64_t counter) {
  for (size_t w = 0; w < format::kTopGroups / 64; w++) {
    PTDB_RETURN_IF_ERROR(
        WriteHeaderWord(io, offsetof(format::Header, tx_apply_groups) + 8 * w, groups[w]));
  }
  return WriteHeaderWord(io, offsetof(format::Header, tx_applying), counter);
}

Status NeedsRecovery(CommitIo* io, bool* needed) {
  uint64_t applying, replayed;
  PTDB_RETURN_IF_ERROR(ReadHeaderWord(io, offsetof(format::Header, tx_applying), &applying));
  std::vector<Bundle> pending;
  PTDB_RETURN_IF_ERROR(PendingBundles(io, &pending, &replayed));
  *needed = applying != 0 || !pending.empty();
  return Status::OK();
}

Status ForgetBundleAreas(CommitIo* io) {
  const uint64_t none[2] = {0, 0};
  return io->Write(offsetof(format::Header, recovery), none, sizeof(none));
}

Status RecoverFile(CommitIo* io, bool sync, int* replayed) {
  std::vector<Bundle> pending;
  uint64_t last;
  PTDB_RETURN_IF_ERROR(PendingBundles(io, &pending, &last));
  // Marked as a commit in progress until done: if we die replaying, the next process to
  // lock finds the file half-applied and replays again, and no one retires the bundles.
  // Replaying may write any group's bytes: no group bits, so readers holding any group
  // lock find it half-applied should we die.
  if (!pending.empty()) {
    const uint64_t any_group[format::kTopGroups / 64] = {};
    PTDB_RETURN_IF_ERROR(MarkApplying(io, any_group, pending.back().counter));
  }
  for (const Bundle& b : pending) {
    PTDB_RETURN_IF_ERROR(ApplyBundle(io, b));
    last = b.counter;
  }
  // The replayed bytes must be durable before the header says they need no replay.
  if (sync && !pending.empty()) PTDB_RETURN_IF_ERROR(io->Sync());
  PTDB_RETURN_IF_ERROR(WriteHeaderWord(io, offsetof(format::Header, tx_replayed), last));
  PTDB_RETURN_IF_ERROR(ForgetBundleAreas(io));
  PTDB_RETURN_IF_ERROR(WriteHeaderWord(io, offsetof(format::Header, tx_applying), 0));
  PTDB_RETURN_IF_ERROR(WriteHeaderWord(io, offsetof(format::Header, tx_gate), 0));
  *replayed = int(pending.size());
  return Status::OK();
}

}  // namespace ptdb
