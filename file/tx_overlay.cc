#include "file/tx_overlay.h"

#include <algorithm>

namespace ptdb {

Status TxOverlay::CopyBase(uint64_t off, size_t len, uint8_t* dst) const {
  const uint64_t in_base = off < base_size_ ? std::min<uint64_t>(len, base_size_ - off) : 0;
  if (in_base > 0) PTDB_RETURN_IF_ERROR(base_(off, size_t(in_base), dst));
  std::memset(dst + in_base, 0, len - size_t(in_base));
  return Status::OK();
}

void TxOverlay::Insert(size_t index) {
  size_t i = Slot(pages_[index].number);
  while (table_[i] != 0) i = (i + 1) & (table_.size() - 1);
  table_[i] = uint32_t(index + 1);
}

Status TxOverlay::PageFor(uint64_t page, Page** p) {
  if (Page* found = Find(page)) {
    *p = found;
    return Status::OK();
  }
  const size_t index = pages_.size();
  if (index % kChunkPages == 0) chunks_.emplace_back(new uint8_t[kChunkPages * kPageSize]);
  Page fresh;
  fresh.number = page;
  fresh.bytes = chunks_.back().get() + (index % kChunkPages) * kPageSize;
  PTDB_RETURN_IF_ERROR(CopyBase(page * kPageSize, kPageSize, fresh.bytes));
  pages_.push_back(fresh);
  if (2 * pages_.size() > table_.size()) {
    table_.assign(table_.size() * 2, 0);
    for (size_t i = 0; i < pages_.size(); i++) Insert(i);
  } else {
    Insert(index);
  }
  *p = &pages_.back();
  return Status::OK();
}

Status TxOverlay::ForEachChange(const std::function<Status(uint64_t, const uint8_t*, size_t)>& fn) {
  std::vector<const Page*> order;
  order.reserve(pages_.size());
  for (const Page& pg : pages_) order.push_back(&pg);
  std::sort(order.begin(), order.end(),
            [](const Page* a, const Page* b) { return a->number < b->number; });
  uint8_t orig[kPageSize];
  static_assert(kPageSize % 8 == 0 && kJoinGap % 8 == 0);
  for (const Page* page : order) {
    const Page& pg = *page;
    const uint8_t* now = pg.bytes;
    const uint64_t base = pg.number * kPageSize;
    PTDB_RETURN_IF_ERROR(CopyBase(base, kPageSize, orig));
    // Bytes past the transaction's end were never part of the file: nothing to write.
    const size_t limit = size_t(std::min<uint64_t>(kPageSize, size_ > base ? size_ - base : 0));
    auto changed = [&](size_t i) {
      return pg.Written(i / 8) && std::memcmp(now + i, orig + i, 8) != 0;
    };
    // Word by word; a run ends at a word the transaction did not write or after
    // kJoinGap unchanged bytes, and is trimmed to its first and last differing bytes.
    size_t i = 0;
    while (i < limit) {
      if (!changed(i)) {
        i += 8;
        continue;
      }
      size_t start = i;
      while (now[start] == orig[start]) start++;
      size_t last = i;  // start of the last differing word
      for (size_t j = i + 8; j < limit && pg.Written(j / 8) && j - last - 8 < kJoinGap; j += 8) {
        if (changed(j)) last = j;
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
