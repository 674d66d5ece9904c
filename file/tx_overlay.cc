#include "file/tx_overlay.h"

#include <algorithm>

namespace ptdb {

Status TxOverlay::CopyBase(uint64_t off, size_t len, uint8_t* dst) const {
  const size_t in_base = off < base_size_ ? size_t(std::min<uint64_t>(len, base_size_ - off)) : 0;
  if (const uint8_t* m = in_base > 0 ? Mapped(off, in_base) : nullptr) {
    std::memcpy(dst, m, in_base);
  } else if (in_base > 0) {
    PTDB_RETURN_IF_ERROR(base_(off, in_base, dst));
  }
  if (len > in_base) std::memset(dst + in_base, 0, len - in_base);
  return Status::OK();
}

void TxOverlay::Reset(uint64_t size) {
  base_size_ = size_ = size;
  lazy_fill_ = map_ != nullptr && map_() != nullptr;
  if (chunks_.size() > 1) chunks_.resize(1);
  if (pages_.capacity() > kChunkPages) {
    std::vector<Page>().swap(pages_);
    pages_.reserve(kChunkPages);
    std::vector<const Page*>().swap(sorted_);
    sorted_.reserve(kChunkPages);
  }
  pages_.clear();
  if (table_.size() > kFirstSlots) {
    std::vector<uint32_t>(kFirstSlots).swap(table_);
    slot_mask_ = kFirstSlots - 1;
  } else {
    std::fill(table_.begin(), table_.end(), 0);
  }
}

void TxOverlay::Insert(size_t index) {
  size_t i = Slot(pages_[index].number);
  while (table_[i] != 0) i = (i + 1) & slot_mask_;
  table_[i] = uint32_t(index + 1);
}

Status TxOverlay::PageFor(uint64_t page, Page** p) {
  if (Page* found = Find(page)) {
    *p = found;
    return Status::OK();
  }
  const size_t index = pages_.size();
  // A chunk kept by Reset serves again.
  if (index / kChunkPages == chunks_.size()) {
    chunks_.emplace_back(new uint8_t[kChunkPages * kPageSize]);
  }
  Page fresh;
  fresh.number = page;
  fresh.bytes = chunks_[index / kChunkPages].get() + (index % kChunkPages) * kPageSize;
  if (!lazy_fill_) {
    PTDB_RETURN_IF_ERROR(CopyBase(page * kPageSize, kPageSize, fresh.bytes));
    fresh.filled = true;
  }
  pages_.push_back(fresh);
  if (2 * pages_.size() > table_.size()) {
    table_.assign(table_.size() * 2, 0);
    slot_mask_ = table_.size() - 1;
    for (size_t i = 0; i < pages_.size(); i++) Insert(i);
  } else {
    Insert(index);
  }
  *p = &pages_.back();
  return Status::OK();
}

Status TxOverlay::WriteAnyPages(uint64_t off, const uint8_t* from, size_t len) {
  for (uint64_t pos = off; pos < off + len;) {
    const uint64_t page = pos / kPageSize, in_page = pos % kPageSize;
    const size_t n = size_t(std::min<uint64_t>(kPageSize - in_page, off + len - pos));
    Page* p;
    PTDB_RETURN_IF_ERROR(PageFor(page, &p));
    if (!p->filled && !CoversWholeWords(in_page, n)) PTDB_RETURN_IF_ERROR(FillEdges(p, in_page, n));
    std::memcpy(p->bytes + in_page, from, n);
    p->MarkWritten(in_page, n);
    from += n;
    pos += n;
  }
  return Status::OK();
}

Status TxOverlay::Fill(Page* p) {
  const uint64_t base = p->number * kPageSize;
  if (const uint8_t* m = Mapped(base, kPageSize)) {
    for (size_t w = p->NextUnwritten(0); w < kWords;) {
      const size_t end = p->NextWritten(w);
      std::memcpy(p->bytes + 8 * w, m + 8 * w, 8 * (end - w));
      w = p->NextUnwritten(end);
    }
    p->filled = true;
    return Status::OK();
  }
  for (size_t w = p->NextUnwritten(0); w < kWords;) {
    const size_t end = p->NextWritten(w);
    PTDB_RETURN_IF_ERROR(CopyBase(base + 8 * w, 8 * (end - w), p->bytes + 8 * w));
    w = p->NextUnwritten(end);
  }
  p->filled = true;
  return Status::OK();
}

Status TxOverlay::FillEdges(Page* p, uint64_t in_page, size_t len) {
  const size_t first = in_page / 8, last = (in_page + len - 1) / 8;
  const bool fill_first = in_page % 8 != 0 && !p->Written(first);
  const bool fill_last =
      (in_page + len) % 8 != 0 && !p->Written(last) && (last != first || in_page % 8 == 0);
  if (!fill_first && !fill_last) return Status::OK();
  // A page inside the mapped file (nearly every one) has its edge words copied from the
  // mapping, asked for once; CopyBase's general case cost twice the copies.
  const uint64_t base = p->number * kPageSize;
  const uint8_t* const m = Mapped(base, kPageSize);
  auto fill = [&](size_t w) {
    if (m == nullptr) return CopyBase(base + 8 * w, 8, p->bytes + 8 * w);
    std::memcpy(p->bytes + 8 * w, m + 8 * w, 8);
    return Status::OK();
  };
  if (fill_first) PTDB_RETURN_IF_ERROR(fill(first));
  if (fill_last) PTDB_RETURN_IF_ERROR(fill(last));
  return Status::OK();
}

const std::vector<const TxOverlay::Page*>& TxOverlay::SortedPages() {
  sorted_.clear();
  for (const Page& pg : pages_) sorted_.push_back(&pg);
  std::sort(sorted_.begin(), sorted_.end(),
            [](const Page* a, const Page* b) { return a->number < b->number; });
  return sorted_;
}

}  // namespace ptdb
