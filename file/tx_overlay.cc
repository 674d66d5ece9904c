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
    size_t i = 0;
    while (i < limit) {
      if (now[i] == orig[i]) {
        i++;
        continue;
      }
      size_t end = i + 1, same = 0;
      for (size_t j = i + 1; j < limit && same < kJoinGap; j++) {
        if (now[j] == orig[j]) {
          same++;
        } else {
          same = 0;
          end = j + 1;
        }
      }
      PTDB_RETURN_IF_ERROR(fn(base + i, now + i, end - i));
      i = end;
    }
  }
  return Status::OK();
}

}  // namespace ptdb
