// Which writes of the current (outermost) pmemobj transaction need no undo snapshot.
//
// Bytes that lay inside a free record's body when the transaction began hold nothing
// anyone reads: an abort or a crash puts back the free lists and the hash tree as they
// were, and those never lead into a free record's body. So a record written into such
// space needs no undo-log call (~250 ns each, docs/pmem.md). Not so for space the
// transaction itself freed (a deleted record, a doubled sub-group, records coalesced
// into one): its bytes held a live record, or a free record's header, at the start, and
// must come back on abort. The engine reports both events (common/storage.h); this
// class remembers what was freed and which fresh ranges were written.
//
// libpmemobj flushes only the ranges in its undo log at commit, so the fresh ranges are
// flushed here before the commit (Flush).
#ifndef PTDB_PMEM_PMEM_FRESH_SPACE_H_
#define PTDB_PMEM_PMEM_FRESH_SPACE_H_

#include <libpmemobj.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <vector>

namespace ptdb {

class FreshSpace {
 public:
  // A new outermost transaction.
  void Clear() {
    freed_.clear();
    written_.clear();
  }

  // [off, off + len) became free space in this transaction.
  void Freed(uint64_t off, uint64_t len) {
    uint64_t lo = off, hi = off + len;
    // Coalescing reports what it merges away in address order, a range per run (up to
    // thousands at once): past the last range, the hint makes each insert O(1).
    if (freed_.empty() || std::prev(freed_.end())->second < lo) {
      freed_.emplace_hint(freed_.end(), lo, hi);
      return;
    }
    // Merge with every freed range that overlaps or touches, so ranges stay disjoint.
    auto it = freed_.upper_bound(lo);
    if (it != freed_.begin() && std::prev(it)->second >= lo) --it;
    while (it != freed_.end() && it->first <= hi) {
      lo = std::min(lo, it->first);
      hi = std::max(hi, it->second);
      it = freed_.erase(it);
    }
    freed_.emplace(lo, hi);
  }

  // Whether [off, off + len) was free space when the transaction began, given that it
  // lies in a free record's body now: true unless the transaction freed any of it.
  bool FreeAtStart(uint64_t off, uint64_t len) const {
    auto it = freed_.lower_bound(off + len);
    return it == freed_.begin() || std::prev(it)->second <= off;
  }

  // The range at p will be written without a snapshot: flush it before the commit.
  void Written(uint8_t* p, size_t len) {
    if (!written_.empty()) {
      // Records allocated one after another: each cut from a free record's end lies just
      // below the one before.
      Range& last = written_.back();
      if (last.p + last.len == p || p + len == last.p) {
        last.p = std::min(last.p, p);
        last.len += len;
        return;
      }
    }
    written_.push_back({p, len});
  }

  // Makes every fresh range written durable: after this, the commit may make them
  // reachable.
  void Flush(PMEMobjpool* pop) const {
    if (written_.empty()) return;
    for (const Range& r : written_) pmemobj_flush(pop, r.p, r.len);
    pmemobj_drain(pop);
  }

 private:
  struct Range {
    uint8_t* p;
    size_t len;
  };
  std::map<uint64_t, uint64_t> freed_;  // start -> end, disjoint
  std::vector<Range> written_;
};

}  // namespace ptdb

#endif  // PTDB_PMEM_PMEM_FRESH_SPACE_H_
