// A write transaction's private changes: the pages of the file it wrote, copied on first
// write, and the size it grew the file to. Nothing reaches the file until commit, so
// other processes go on reading the old data; the transaction reads through this.
//
// No copy of the original page is kept: while a transaction is open no one else may
// write the records (the writer gate, docs/transactions.md), so at commit the file still
// holds the originals, and the changed bytes are found by comparing with it. Only words
// the transaction wrote are compared: a page may also hold bytes others change under us
// (the lock mutexes after the header), and those must never be written back.
#ifndef PTDB_FILE_TX_OVERLAY_H_
#define PTDB_FILE_TX_OVERLAY_H_

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "common/errors.h"

namespace ptdb {

class TxOverlay {
 public:
  // Small pages: a 10-record transaction touches a few dozen scattered spots, and each
  // costs a page copy now and a page compare at commit.
  static constexpr uint64_t kPageSize = 1024;

  // Reads [off, off + len) of the file as it is now into buf (for pages first written).
  using BaseRead = std::function<Status(uint64_t off, size_t len, void* buf)>;
  // The file's mapping, covering at least the size it had when the transaction began, or
  // null (no mapping): then pages are compared with copies made by BaseRead.
  using BaseMap = std::function<const uint8_t*()>;

  TxOverlay(uint64_t size, BaseRead base, BaseMap map = nullptr)
      : base_size_(size),
        size_(size),
        base_(std::move(base)),
        map_(std::move(map)),
        lazy_fill_(map_ != nullptr && map_() != nullptr) {
    pages_.reserve(kChunkPages);  // a small transaction's pages without regrowing
    sorted_.reserve(kChunkPages);
  }

  // Starts over for another transaction on a file of `size` bytes: every page is
  // dropped, but the first chunk of page copies and the tables' first room are kept, so
  // a small transaction allocates nothing (five allocations were 2% of a 10-record one).
  void Reset(uint64_t size);

  // The file as the transaction sees it, and as it was when it began.
  uint64_t size() const { return size_; }
  uint64_t base_size() const { return base_size_; }
  void Grow(uint64_t new_size) { size_ = new_size; }
  // The file is `file_size` bytes now, more than when the transaction began: bytes past
  // the old end are the file's, not zeros. The transaction has touched none of them (it
  // writes there only after taking new space), but a page across the old end may hold
  // zeros for them, copied when it was filled: it is filled again when next read.
  void SeeFileSize(uint64_t file_size) {
    if (file_size <= base_size_) return;
    for (Page& p : pages_) {
      assert(p.number * kPageSize < base_size_);
      if ((p.number + 1) * kPageSize > base_size_) p.filled = false;
    }
    base_size_ = file_size;
    size_ = std::max(size_, file_size);
  }
  size_t dirty_pages() const { return pages_.size(); }

  // As Storage::Read for a range inside size(). `direct` reads the file itself (a
  // pointer into the mapping, or a copy): it serves ranges the transaction has not written.
  template <class Direct>
  Status Read(uint64_t off, size_t len, void* buf, const void** out, Direct&& direct) {
    const uint64_t first = off / kPageSize, last = (off + len - (len > 0)) / kPageSize;
    if (first == last) {
      if (Page* p = Find(first)) {
        PTDB_RETURN_IF_ERROR(Filled(p));
        *out = p->bytes + off % kPageSize;
        return Status::OK();
      }
      if (off + len <= base_size_) return direct(off, len, buf, out);
    } else if (off + len <= base_size_ && !AnyDirty(first, last)) {
      return direct(off, len, buf, out);
    }
    // Mixed: assemble the range in buf, page by page.
    uint8_t* dst = static_cast<uint8_t*>(buf);
    for (uint64_t pos = off; pos < off + len;) {
      const uint64_t page = pos / kPageSize, in_page = pos % kPageSize;
      const size_t n = size_t(std::min<uint64_t>(kPageSize - in_page, off + len - pos));
      if (Page* p = Find(page)) {
        PTDB_RETURN_IF_ERROR(Filled(p));
        std::memcpy(dst, p->bytes + in_page, n);
      } else {
        PTDB_RETURN_IF_ERROR(CopyBase(pos, n, dst));
      }
      dst += n;
      pos += n;
    }
    *out = buf;
    return Status::OK();
  }

  // Read's common case, without a call: a range inside one page, which the transaction
  // either has not written (then `file`, the mapping if it holds the range, else null)
  // or has written and filled. Null when Read must assemble the range.
  const uint8_t* ReadInPlace(uint64_t off, size_t len, const uint8_t* file) const {
    if (off % kPageSize + len > kPageSize) return nullptr;
    if (const Page* p = Find(off / kPageSize))
      return p->filled ? p->bytes + off % kPageSize : nullptr;
    return file != nullptr && off + len <= base_size_ ? file + off : nullptr;
  }

  // Most writes (a word, a record) fall inside one page the transaction already holds,
  // in whole words or on a filled page: those need no page copy and no edge fill, and
  // are a copy and a few bits, inlined into the caller.
  Status Write(uint64_t off, const void* src, size_t len) {
    const uint64_t in_page = off % kPageSize;
    if (len > 0 && in_page + len <= kPageSize) {
      Page* p = Find(off / kPageSize);
      if (p != nullptr && (p->filled || CoversWholeWords(in_page, len))) {
        std::memcpy(p->bytes + in_page, src, len);
        p->MarkWritten(in_page, len);
        return Status::OK();
      }
    }
    return WriteAnyPages(off, static_cast<const uint8_t*>(src), len);
  }

  // Calls fn(off, bytes, len) for every stretch of written bytes that differs from the
  // file, trimmed to its first and last changed bytes, in address order. Pages past the
  // old end of the file compare with zeros (the file is extended with zeros). A template,
  // not a std::function: a commit calls fn once per run.
  template <class Fn>
  Status ForEachChange(Fn&& fn) {
    const uint8_t* const map = map_ ? map_() : nullptr;
    uint8_t copy[kPageSize];
    for (const Page* page : SortedPages()) {
      const Page& pg = *page;
      const uint8_t* now = pg.bytes;
      const uint64_t base = pg.number * kPageSize;
      const uint8_t* orig = copy;
      if (map != nullptr && base + kPageSize <= base_size_) {
        orig = map + base;
      } else {
        PTDB_RETURN_IF_ERROR(CopyBase(base, kPageSize, copy));
      }
      // Bytes past the transaction's end were never part of the file: nothing to write.
      const size_t limit = size_t(std::min<uint64_t>(kPageSize, size_ > base ? size_ - base : 0));
      const size_t limit_words = (limit + 7) / 8;
      auto differs = [&](size_t w) {
        uint64_t a, b;
        std::memcpy(&a, now + 8 * w, 8);
        std::memcpy(&b, orig + 8 * w, 8);
        return a != b;
      };
      // Each stretch of words the transaction wrote becomes one run, trimmed to its first
      // and last differing bytes. Equal words inside a stretch go along: comparing every
      // word to split them out was a fifth of building a 10-record commit's bundle, and
      // all but a few bytes of what a transaction writes differ anyway.
      for (size_t w = pg.NextWritten(0); w < limit_words;) {
        const size_t written_end = std::min(limit_words, pg.NextUnwritten(w + 1));
        size_t first = w;
        while (first < written_end && !differs(first)) first++;
        if (first < written_end) {
          size_t last = written_end - 1;
          while (!differs(last)) last--;
          size_t start = 8 * first;
          while (now[start] == orig[start]) start++;
          size_t end = std::min(8 * last + 8, limit);
          while (end > start && now[end - 1] == orig[end - 1]) end--;
          if (end > start) PTDB_RETURN_IF_ERROR(fn(base + start, now + start, end - start));
        }
        w = pg.NextWritten(written_end);
      }
    }
    return Status::OK();
  }

 private:
  static constexpr size_t kWords = kPageSize / 8;
  static_assert(kPageSize % 8 == 0);

  // A page's words the transaction did not write hold the file's bytes only once the
  // page is filled: on the first read of it, not on the first write. Most pages a
  // transaction writes (a record, a hash slot) it never reads again, and copying each
  // from the file was a tenth of a 10-record commit. Without a mapping, where every
  // copy is a pread, pages are filled at once instead.
  struct Page {
    uint64_t number;
    uint8_t* bytes;                      // kPageSize, in one of chunks_
    uint64_t written[kWords / 64] = {};  // one bit per 8-byte word
    bool filled = false;

    void MarkWritten(uint64_t in_page, size_t len) {
      const size_t first = size_t(in_page / 8), last = size_t((in_page + len - 1) / 8);
      for (size_t w = first / 64; w <= last / 64; w++) {
        const unsigned lo = w == first / 64 ? first % 64 : 0;
        const unsigned hi = w == last / 64 ? last % 64 : 63;
        written[w] |= (~uint64_t(0) >> (63 - hi)) & (~uint64_t(0) << lo);
      }
    }
    bool Written(size_t word) const { return (written[word / 64] >> (word % 64)) & 1; }
    // The first written word at or after `word`, or kWords.
    size_t NextWritten(size_t word) const { return Next(word, 0); }
    // The first word not written at or after `word`, or kWords.
    size_t NextUnwritten(size_t word) const { return Next(word, ~uint64_t(0)); }

   private:
    // The first word at or after `word` whose bit, flipped by `flip`, is set.
    size_t Next(size_t word, uint64_t flip) const {
      if (word >= kWords) return kWords;
      for (size_t w = word / 64; w < kWords / 64; w++) {
        const uint64_t all = written[w] ^ flip;
        const uint64_t bits = word / 64 == w ? all >> (word % 64) << (word % 64) : all;
        if (bits != 0) return w * 64 + size_t(__builtin_ctzll(bits));
      }
      return kWords;
    }
  };
  // Page copies are carved from chunks of this many: one allocation per 64 KiB, not per page.
  static constexpr size_t kChunkPages = 64;

  // The page table: open addressing on the page number, each slot 1 + an index into
  // pages_ (0: empty), at most half full. Every read of the transaction asks it.
  size_t Slot(uint64_t page) const {
    return size_t((page * 0x9E3779B97F4A7C15ULL) >> 32) & slot_mask_;
  }
  // No test for an empty overlay first: its table is all empty slots.
  const Page* Find(uint64_t page) const {
    for (size_t i = Slot(page);; i = (i + 1) & slot_mask_) {
      const uint32_t t = table_[i];
      if (t == 0) return nullptr;
      if (pages_[t - 1].number == page) return &pages_[t - 1];
    }
  }
  Page* Find(uint64_t page) {
    return const_cast<Page*>(static_cast<const TxOverlay*>(this)->Find(page));
  }
  void Insert(size_t index);

  // The pages in address order, in sorted_ (kept between transactions, as pages_ is).
  const std::vector<const Page*>& SortedPages();
  bool AnyDirty(uint64_t first, uint64_t last) const {
    for (uint64_t p = first; p <= last; p++) {
      if (Find(p)) return true;
    }
    return false;
  }
  // Bytes of the file as it was, zeros past its old end.
  Status CopyBase(uint64_t off, size_t len, uint8_t* dst) const;
  // The file's bytes [off, off + len) in place, when mapped and inside the old end; else
  // null.
  const uint8_t* Mapped(uint64_t off, size_t len) const {
    if (!lazy_fill_ || off + len > base_size_) return nullptr;
    const uint8_t* map = map_();
    return map != nullptr ? map + off : nullptr;
  }
  Status PageFor(uint64_t page, Page** p);
  // Write's general case: new pages, ranges across pages, words written in part.
  Status WriteAnyPages(uint64_t off, const uint8_t* from, size_t len);
  Status Filled(Page* p) { return p->filled ? Status::OK() : Fill(p); }
  // Copies the file's bytes into every word not written.
  Status Fill(Page* p);
  // Before a write of [in_page, in_page + len): the file's bytes into the words it
  // covers only in part, so the rest of each word is the file's.
  Status FillEdges(Page* p, uint64_t in_page, size_t len);
  static bool CoversWholeWords(uint64_t in_page, size_t len) { return (in_page | len) % 8 == 0; }

  uint64_t base_size_;
  uint64_t size_;
  BaseRead base_;
  BaseMap map_;
  std::vector<Page> pages_;  // in the order first written
  std::vector<const Page*> sorted_;
  static constexpr size_t kFirstSlots = 64;
  std::vector<uint32_t> table_ = std::vector<uint32_t>(kFirstSlots);
  // table_.size() - 1, kept: every read and write of the transaction asks Find.
  size_t slot_mask_ = kFirstSlots - 1;
  std::vector<std::unique_ptr<uint8_t[]>> chunks_;
  // Whether pages wait for their first read to be filled: with a mapping to compare and
  // fill from. Decided per transaction: a mapping, once made, stays (it may move, so
  // map_ is asked each time it is used).
  bool lazy_fill_;
};

}  // namespace ptdb

#endif  // PTDB_FILE_TX_OVERLAY_H_
