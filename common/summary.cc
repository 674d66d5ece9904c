#include "common/summary.h"

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "common/format.h"
#include "common/space_scan.h"

namespace ptdb {
namespace {

void Appendf(std::string* out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void Appendf(std::string* out, const char* fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  const int n = std::vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (n > 0) out->append(line, std::min(size_t(n), sizeof(line) - 1));
}

// Count, min/avg/max and a power-of-two histogram of one kind of size.
class Tally {
 public:
  void Add(uint64_t v) {
    if (count_ == 0 || v < min_) min_ = v;
    if (v > max_) max_ = v;
    count_++;
    total_ += v;
    buckets_[BucketOf(v)]++;
  }
  uint64_t count() const { return count_; }
  uint64_t total() const { return total_; }

  void AppendMinAvgMax(std::string* out, const char* what) const {
    Appendf(out, "Smallest/average/largest %s: %" PRIu64 "/%.1f/%" PRIu64 "\n", what, min_,
            count_ ? double(total_) / double(count_) : 0.0, max_);
  }

  void AppendHistogram(std::string* out, const char* title) const {
    Appendf(out, "%s histogram:\n", title);
    unsigned first = kBuckets, last = 0;
    uint64_t most = 0;
    for (unsigned i = 0; i < kBuckets; i++) {
      if (buckets_[i] == 0) continue;
      if (first == kBuckets) first = i;
      last = i;
      most = std::max(most, buckets_[i]);
    }
    if (first == kBuckets) {
      out->append("  (none)\n");
      return;
    }
    for (unsigned i = first; i <= last; i++) {
      const uint64_t lo = i == 0 ? 0 : 1ULL << (i - 1);
      const uint64_t hi = i == 0 ? 0 : i == 64 ? UINT64_MAX : (1ULL << i) - 1;
      // Every non-empty bucket gets at least one star, so none looks empty.
      const uint64_t stars =
          buckets_[i] == 0 ? 0 : std::max<uint64_t>(1, buckets_[i] * kBarWidth / most);
      Appendf(out, "  %10" PRIu64 "-%-10" PRIu64 " %8" PRIu64 " %s\n", lo, hi, buckets_[i],
              std::string(stars, '*').c_str());
    }
  }

 private:
  static constexpr unsigned kBuckets = 65;
  static constexpr uint64_t kBarWidth = 50;
  // Bucket 0 holds 0; bucket i holds [2^(i-1), 2^i).
  static unsigned BucketOf(uint64_t v) { return v == 0 ? 0 : 64 - unsigned(__builtin_clzll(v)); }

  uint64_t count_ = 0, total_ = 0, min_ = 0, max_ = 0;
  uint64_t buckets_[kBuckets] = {};
};

// Follows sub-hash entries to find how deep the tree goes (the top level is depth 1, a
// sub-group at sub-level k is depth k + 1, a chain is one deeper than the last sub-level).
// Entries that do not point where they should are skipped: reporting them is check()'s job.
class DepthWalker {
 public:
  DepthWalker(SpaceReader& space, const ScannedSpace& scan)
      : space_(space), scan_(scan), visited_(scan.records.size(), 0) {}

  Status Walk(const uint64_t* slots, unsigned nslots, unsigned level) {
    max_depth_ = std::max(max_depth_, level + 1);
    for (unsigned i = 0; i < nslots; i++) {
      if (!format::EntryIsSubHash(slots[i])) continue;
      const ScannedRecord* r = scan_.Find(format::EntryOffset(slots[i]));
      if (r == nullptr || visited_[scan_.IndexOf(r)]) continue;
      visited_[scan_.IndexOf(r)] = 1;
      if (level == format::kMaxSubLevels) {
        if (r->kind == RecordKind::kChain) max_depth_ = std::max(max_depth_, level + 2);
        continue;
      }
      if (r->kind != RecordKind::kSubGroup) continue;
      std::vector<uint64_t> child(r->data_len / 8);
      const void* p = nullptr;
      Status s = space_.Read(r->off + format::kUsedHeaderSize, r->data_len, child.data(), &p);
      if (!s.ok()) return s;
      if (p != child.data()) std::memcpy(child.data(), p, r->data_len);
      if (s = Walk(child.data(), unsigned(child.size()), level + 1); !s.ok()) return s;
    }
    return Status::OK();
  }
  unsigned max_depth() const { return max_depth_; }

 private:
  SpaceReader& space_;
  const ScannedSpace& scan_;
  std::vector<uint8_t> visited_;
  unsigned max_depth_ = 0;
};

double Percent(uint64_t part, uint64_t whole) { return whole ? 100.0 * part / whole : 0.0; }

}  // namespace

Status SummarizeDatabase(SpaceReader& space, bool histograms, std::string* report) {
  format::Header header;
  if (Status s = ReadHeader(space, &header); !s.ok()) return s;
  ScannedSpace scan;
  if (Status s = ScanSpace(space, header.first_zone, &scan); !s.ok()) return s;

  Tally keys, data, padding, free;
  uint64_t sub_groups[4] = {};  // 8, 16, 32, 64 slots
  uint64_t chains = 0, caps = 0, hash_bytes = 0, cap_bytes = 0;
  for (const ScannedRecord& r : scan.records) {
    switch (r.kind) {
      case RecordKind::kUsed:
        keys.Add(r.key_len);
        data.Add(r.data_len);
        padding.Add(r.padding);
        break;
      case RecordKind::kSubGroup:
        sub_groups[__builtin_ctzll(r.data_len / 64)]++;
        hash_bytes += r.size;
        break;
      case RecordKind::kChain:
        chains++;
        hash_bytes += r.size;
        break;
      case RecordKind::kCapability:
        caps++;
        cap_bytes += r.size;
        break;
      case RecordKind::kFree:
        free.Add(r.size);
        break;
    }
  }
  unsigned top_used = 0;
  for (uint64_t e : header.top_hash) top_used += e != 0;
  DepthWalker depth(space, scan);
  if (Status s = depth.Walk(header.top_hash, format::kTopSlots, 0); !s.ok()) return s;

  const uint64_t top_bytes = sizeof(header.top_hash);
  const uint64_t header_bytes = format::kHeaderSize - top_bytes;
  const uint64_t zone_bytes = scan.zones.size() * format::kZoneRecordSize;
  const uint64_t rec_headers = keys.count() * format::kUsedHeaderSize;
  const uint64_t total = scan.end;

  std::string out;
  Appendf(&out, "Size of file/data: %" PRIu64 "/%" PRIu64 "\n", total, keys.total() + data.total());
  Appendf(&out, "Number of records: %" PRIu64 "\n", keys.count());
  keys.AppendMinAvgMax(&out, "keys");
  data.AppendMinAvgMax(&out, "data");
  padding.AppendMinAvgMax(&out, "padding");
  Appendf(&out, "Number of free records: %" PRIu64 "\n", free.count());
  Appendf(&out, "Free bytes: %" PRIu64 "\n", free.total());
  free.AppendMinAvgMax(&out, "free records");
  Appendf(&out, "Number of zones: %zu\n", scan.zones.size());
  Appendf(&out, "Number of capabilities: %" PRIu64 "\n", caps);
  Appendf(&out, "Toplevel hash used: %u of %u\n", top_used, format::kTopSlots);
  Appendf(&out,
          "Number of sub-groups: %" PRIu64 " (8 slots: %" PRIu64 ", 16 slots: %" PRIu64
          ", 32 slots: %" PRIu64 ", 64 slots: %" PRIu64 ")\n",
          sub_groups[0] + sub_groups[1] + sub_groups[2] + sub_groups[3], sub_groups[0],
          sub_groups[1], sub_groups[2], sub_groups[3]);
  Appendf(&out, "Number of chains: %" PRIu64 "\n", chains);
  Appendf(&out, "Maximum tree depth: %u\n", depth.max_depth());
  Appendf(&out,
          "Percentage keys/data/padding/free/rechdrs/hashes/zones/other: "
          "%.1f/%.1f/%.1f/%.1f/%.1f/%.1f/%.1f/%.1f\n",
          Percent(keys.total(), total), Percent(data.total(), total),
          Percent(padding.total(), total), Percent(free.total(), total),
          Percent(rec_headers, total), Percent(hash_bytes + top_bytes, total),
          Percent(zone_bytes, total), Percent(header_bytes + cap_bytes, total));
  if (histograms) {
    keys.AppendHistogram(&out, "Key size");
    data.AppendHistogram(&out, "Data size");
    free.AppendHistogram(&out, "Free record size");
  }
  *report = std::move(out);
  return Status::OK();
}

}  // namespace ptdb
