// The aligned blocks of pool memory the current transaction has added to libpmemobj's
// undo log, so that a later write into them needs no call into libpmemobj (a call costs
// ~250 ns however small the range: docs/pmem.md). A small open-addressing table keyed by
// block number: a user transaction logs dozens to thousands of blocks, and a linear list
// of ranges cost more to search than the calls it saved.
//
// Each entry keeps which bytes of its block were logged: a block cut at the start or end
// of the header or of a zone object is logged only in part (the rest is libpmemobj's, or
// another object's that a later write may change), and only writes inside that part are
// covered.
#ifndef PTDB_PMEM_PMEM_LOGGED_BLOCKS_H_
#define PTDB_PMEM_PMEM_LOGGED_BLOCKS_H_

#include <algorithm>
#include <cstdint>
#include <vector>

namespace ptdb {

class LoggedBlocks {
 public:
  static constexpr unsigned kShift = 6;
  static constexpr uintptr_t kBlock = uintptr_t{1} << kShift;

  LoggedBlocks() : slots_(kMinSlots) {}

  // Forgets every block (a new transaction). O(blocks added).
  void Clear() {
    for (uint32_t i : used_) slots_[i] = Entry();
    used_.clear();
    fresh_lo_ = fresh_hi_ = 0;
  }

  // Whether every byte of [p, p + len) is logged. REQUIRES: len > 0.
  bool Covers(const void* p, size_t len) const {
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    const uintptr_t end = a + len;
    if (a >= fresh_lo_ && end <= fresh_hi_) return true;
    for (uintptr_t b = a >> kShift, last = (end - 1) >> kShift; b <= last; b++) {
      const Entry* e = Find(b);
      if (e == nullptr) return false;
      const uintptr_t base = b << kShift;
      if (std::max(a, base) < base + e->lo || std::min(end, base + kBlock) > base + e->hi) {
        return false;
      }
    }
    return true;
  }

  // Records that [lo, hi), space that was free when the transaction began, needs no
  // snapshot (pmem_fresh_space.h). The records an insert-heavy transaction writes are cut
  // one after another from a free record's end, so they make one run, kept as a single
  // interval: marking each record's blocks in the table made reporting the reuse ~270
  // instructions a pool insert (~50 now). A range apart from the run goes into the table.
  void AddFresh(const void* lo, const void* hi) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(lo);
    const uintptr_t end = reinterpret_cast<uintptr_t>(hi);
    if (a >= end) return;
    if (fresh_lo_ == fresh_hi_) {
      fresh_lo_ = a;
      fresh_hi_ = end;
    } else if (end >= fresh_lo_ && a <= fresh_hi_) {
      fresh_lo_ = std::min(fresh_lo_, a);
      fresh_hi_ = std::max(fresh_hi_, end);
    } else {
      AddRange(lo, hi);
    }
  }

  // Records that [lo, hi) was logged. Past kMaxBlocks nothing more is kept: the
  // transaction is large, and libpmemobj skips ranges it logged already on its own.
  void AddRange(const void* lo, const void* hi) {
    const uintptr_t a = reinterpret_cast<uintptr_t>(lo);
    const uintptr_t end = reinterpret_cast<uintptr_t>(hi);
    if (a >= end) return;
    for (uintptr_t b = a >> kShift, last = (end - 1) >> kShift; b <= last; b++) {
      if (used_.size() >= kMaxBlocks) return;
      const uintptr_t base = b << kShift;
      Add(b, uint16_t(std::max(a, base) - base), uint16_t(std::min(end, base + kBlock) - base));
    }
  }

 private:
  // Block numbers of pool addresses are never 0, the empty slot's.
  struct Entry {
    uintptr_t block = 0;
    uint16_t lo = 0;  // the logged bytes: [lo, hi) from the block's start
    uint16_t hi = 0;
  };
  static constexpr size_t kMinSlots = 256;
  static constexpr size_t kMaxBlocks = 1 << 14;

  size_t Slot(uintptr_t block) const {
    return size_t((block * 0x9E3779B97F4A7C15ULL) >> 32) & (slots_.size() - 1);
  }
  const Entry* Find(uintptr_t block) const {
    for (size_t i = Slot(block);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].block == block) return &slots_[i];
      if (slots_[i].block == 0) return nullptr;
    }
  }
  void Add(uintptr_t block, uint16_t lo, uint16_t hi) {
    if (2 * (used_.size() + 1) > slots_.size()) Grow();
    size_t i = Slot(block);
    for (; slots_[i].block != 0; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].block != block) continue;
      Entry& e = slots_[i];
      // Two parts that touch make one; otherwise the first one stays (still correct).
      if (lo <= e.hi && hi >= e.lo) {
        e.lo = std::min(e.lo, lo);
        e.hi = std::max(e.hi, hi);
      }
      return;
    }
    slots_[i] = {block, lo, hi};
    used_.push_back(uint32_t(i));
  }
  // Doubles the table and re-inserts every entry.
  void Grow() {
    std::vector<Entry> entries;
    entries.reserve(used_.size());
    for (uint32_t i : used_) entries.push_back(slots_[i]);
    slots_.assign(slots_.size() * 2, Entry());
    used_.clear();
    for (const Entry& e : entries) Add(e.block, e.lo, e.hi);
  }

  std::vector<Entry> slots_;
  std::vector<uint32_t> used_;             // the slots in use, to clear them
  uintptr_t fresh_lo_ = 0, fresh_hi_ = 0;  // the run of fresh bytes: [lo, hi)
};

}  // namespace ptdb

#endif  // PTDB_PMEM_PMEM_LOGGED_BLOCKS_H_
