#include "file/tx_overlay.h"

#include <algorithm>

namespace ptdb {

Status TxOverlay::CopyBase(uint64_t off, size_t len, uint8_t* dst) const {
  const uint64_t in_base = off < base_size_ ? std::min<uint64_t>(len, base_size_ - off) : 0;
  if (in_base > 0) PTDB_RETURN_IF_ERROR(base_(off, size_t(in_base), dst));
  std::memset(dst + in_base, 0, len - size_t(in_base));
  return Status::OK();
}

Status TxOverlay::PageFor(uint64_t page, uint8_t** p) {
  auto it = pages_.find(page);
  if (it == pages_.end()) {
    std::unique_ptr<uint8_t[]> copy(new uint8_t[kPageSize]);
    PTDB_RETURN_IF_ERROR(CopyBase(page * kPageSize, kPageSize, copy.get()));
    it = pages_.emplace(page, std::move(copy)).first;
  }
  *p = it->second.get();
  return Status::OK();
}

Status TxOverlay::ForEachChange(const std::function<Status(uint64_t, const uint8_t*, size_t)>& fn) {
  std::vector<uint64_t> order;
  order.reserve(pages_.size());
  for (const auto& [page, data] : pages_) order.push_back(page);
  std::sort(order.begin(), order.end());
  uint8_t orig[kPageSize];
  for (uint64_t page : order) {
    const uint8_t* now = pages_[page].get();
    const uint64_t base = page * kPageSize;
    PTDB_RETURN_IF_ERROR(CopyBase(base, kPageSize, orig));
    // Bytes past the transaction's end were never part of the file: nothing to write.
    const size_t limit = size_t(std::min<uint64_t>(kPageSize, size_ > base ? size_ - base : 0));
    // Word by word (pages and the limit are 8-aligned); a run ends after kJoinGap equal
    // bytes and is trimmed to its last differing byte.
    static_assert(kPageSize % 8 == 0 && kJoinGap % 8 == 0);
    auto word = [](const uint8_t* p, size_t i) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      return w;
    };
    size_t i = 0;
    while (i < limit) {
      if (word(now, i) == word(orig, i)) {
        i += 8;
        continue;
      }
      size_t start = i;
      while (now[start] == orig[start]) start++;
      size_t last = i;  // start of the last differing word
      size_t j = i + 8;
      for (; j < limit && j - last - 8 < kJoinGap; j += 8) {
        if (word(now, j) != word(orig, j)) last = j;
      }
      size_t end = std::min(last + 8, limit);
      while (end > start && now[end - 1] == orig[end - 1]) end--;
      if (end > start) PTDB_RETURN_IF_ERROR(fn(base + start, now + start, end - start));
      i = last + 8;
    }
  }
  return Status::OK();
}

}  // namespace ptdb
