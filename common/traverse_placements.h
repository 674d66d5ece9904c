// What a traverse in space order (engine.h) must know of the records written meanwhile.
//
// That walk visits the used records zone by zone in address order behind a cursor: every
// record below the cursor has been visited or was not there when the walk passed. The
// callback may store, and a store may put a record anywhere: a new key, or a key whose
// record outgrew its room and moved. Unwatched, a record moved from behind the cursor to
// ahead of it would be visited twice, and one moved the other way never. Deletes need no
// watching: a freed record keeps its place, and free records are not visited.
//
// Records of keys added during the walk are not visited (TDB2 promises nothing either
// way, and a callback that adds a record per record visited would otherwise never end).
#ifndef PTDB_COMMON_TRAVERSE_PLACEMENTS_H_
#define PTDB_COMMON_TRAVERSE_PLACEMENTS_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace ptdb {

//
// A walk registers itself with its thread, not with the database: only the walking thread
// writes meanwhile, but other threads may walk the same database at the same time (a
// kNoLock handle that nobody writes to).
class TraversePlacements {
 public:
  // The calling thread's walk of `space` (any pointer that names the database) from now
  // until destroyed, inside the walks it already runs (a callback may traverse too).
  explicit TraversePlacements(const void* space) : space_(space), outer_(Innermost()) {
    Innermost() = this;
  }
  ~TraversePlacements() { Innermost() = outer_; }
  TraversePlacements(const TraversePlacements&) = delete;
  TraversePlacements& operator=(const TraversePlacements&) = delete;

  // Tells every walk of `space` the calling thread is in that a record was placed (see
  // Placed). Nearly always none: one thread-local load.
  static void NotePlaced(const void* space, std::string_view key, uint64_t old_off,
                         uint64_t new_off) {
    for (TraversePlacements* p = Innermost(); p != nullptr; p = p->outer_) {
      if (p->space_ == space) p->Placed(key, old_off, new_off);
    }
  }

  // Everything below `cursor` has been visited, or is being visited now.
  void set_cursor(uint64_t cursor) { cursor_ = cursor; }

  // The record of `key` was written at new_off; old_off is where its record was until
  // then, or 0 for a key that had none (offset 0 is the header, never a record).
  void Placed(std::string_view key, uint64_t old_off, uint64_t new_off) {
    skip_.erase(new_off);  // whatever was placed there before is gone
    if (!owed_.empty()) {
      auto it = owed_.find(key);
      if (it != owed_.end()) {
        it->second.push_back(new_off);
        if (new_off >= cursor_) skip_.insert(new_off);
        return;
      }
    }
    const bool unvisited = old_off != 0 && old_off >= cursor_ && skip_.count(old_off) == 0;
    if (old_off != 0) skip_.erase(old_off);
    if (unvisited) {
      // Ahead of the cursor the walk still finds it; behind, it is owed.
      if (new_off < cursor_) owed_.emplace(std::string(key), std::vector<uint64_t>{new_off});
    } else if (new_off >= cursor_) {
      skip_.insert(new_off);
    }
  }

  // Whether the walk passes over the used record at `off`.
  bool Skip(uint64_t off) const { return !skip_.empty() && skip_.count(off) != 0; }

  // The keys the walk owes a visit once it has passed every zone, each with every place
  // its record was put since. Found anywhere else by then, a key's record is one the walk
  // visited: a move rolled back (a failed store) to where it was ahead of the cursor.
  const std::map<std::string, std::vector<uint64_t>, std::less<>>& owed() const { return owed_; }

 private:
  static TraversePlacements*& Innermost() {
    thread_local TraversePlacements* innermost = nullptr;
    return innermost;
  }

  const void* const space_;
  TraversePlacements* const outer_;
  uint64_t cursor_ = 0;
  std::unordered_set<uint64_t> skip_;
  std::map<std::string, std::vector<uint64_t>, std::less<>> owed_;
};

}  // namespace ptdb

#endif  // PTDB_COMMON_TRAVERSE_PLACEMENTS_H_
