#include "common/locks.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <type_traits>

#include "common/errors.h"

namespace ptdb {
namespace {

// Bumped in every child after fork(): entries taken before it are the parent's locks.
std::atomic<uint64_t> g_fork_generation{0};
std::atomic<uint64_t> g_next_set_id{1};

void NoteFork() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

struct Held {
  uint64_t set;
  const void* owner;
  LockId id;
  LockType type;
  uint32_t count;
  bool riding;  // granted by the allrecord lock, no real lock behind it
  uint64_t fork_generation;
};

// The locks the calling thread holds, in every set, oldest first. Short: an operation
// holds two or three, a caller's chain locks add a few. Trivially destructible, so a
// thread reaches it without a thread_local guard (every lock and unlock does); past
// kInline entries it moves to the heap, and back once the thread holds nothing.
class HeldList {
 public:
  Held* begin() { return heap_ != nullptr ? heap_ : inline_; }
  Held* end() { return begin() + size_; }
  size_t size() const { return size_; }
  Held& operator[](size_t i) { return begin()[i]; }

  // Hash group, free zone and allrecord entries, of any set.
  uint32_t record_locks() const { return record_locks_; }

  void push_back(const Held& h) {
    if (size_ == capacity_) Grow();
    begin()[size_++] = h;
    record_locks_ += GuardsRecords(h);
  }

  void erase(Held* h) {
    record_locks_ -= GuardsRecords(*h);
    std::copy(h + 1, end(), h);
    size_--;
    ShrinkIfEmpty();
  }
  // Drops the newest n.
  void pop_back(size_t n) {
    for (const Held* h = end() - n; h != end(); h++) record_locks_ -= GuardsRecords(*h);
    size_ -= uint32_t(n);
    ShrinkIfEmpty();
  }

 private:
  // A commit applying in place holds the transaction lock and each group it changes.
  static constexpr uint32_t kInline = 16;

  static uint32_t GuardsRecords(const Held& h) {
    return h.id.kind == LockKind::kAllRecord || h.id.kind == LockKind::kHashGroup ||
           h.id.kind == LockKind::kFreeZone;
  }

  void ShrinkIfEmpty() {
    if (size_ == 0 && heap_ != nullptr) {
      std::free(heap_);
      heap_ = nullptr;
      capacity_ = kInline;
    }
  }

  void Grow() {
    const uint32_t capacity = capacity_ * 2;
    Held* heap = static_cast<Held*>(std::malloc(capacity * sizeof(Held)));
    if (heap == nullptr) std::abort();  // as std::vector would throw bad_alloc
    std::memcpy(static_cast<void*>(heap), begin(), size_ * sizeof(Held));
    std::free(heap_);
    heap_ = heap;
    capacity_ = capacity;
  }

  Held inline_[kInline]{};
  Held* heap_ = nullptr;
  uint32_t size_ = 0;
  uint32_t capacity_ = kInline;
  uint32_t record_locks_ = 0;
};
static_assert(std::is_trivially_destructible_v<HeldList> && std::is_trivially_copyable_v<Held>);

thread_local HeldList t_held;

const char* KindName(LockKind k) {
  switch (k) {
    case LockKind::kTransaction:
      return "transaction";
    case LockKind::kAllRecord:
      return "allrecord";
    case LockKind::kHashGroup:
      return "hash group";
    case LockKind::kFreeZone:
      return "free zone";
    case LockKind::kExpansion:
      return "expansion";
  }
  return "?";
}

// Newest first: locks are mostly released in the reverse order they were taken.
Held* Find(uint64_t set, LockId id) {
  for (Held* h = t_held.end(); h != t_held.begin();) {
    --h;
    if (h->set == set && h->id == id) return h;
  }
  return nullptr;
}

}  // namespace

LockSet::LockSet(LockPrimitive* primitive)
    : primitive_(primitive), id_(g_next_set_id.fetch_add(1, std::memory_order_relaxed)) {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(nullptr, nullptr, NoteFork); });
}

LockSet::~LockSet() = default;

Status LockSet::Lock(const void* owner, LockId id, LockType type, bool wait) {
  const uint64_t gen = g_fork_generation.load(std::memory_order_relaxed);
  const Held* all = nullptr;
  const Held* above = nullptr;  // a held lock that ranks after id
  bool later_group = false;     // a hash group after id is held (id a hash group too)
  for (const Held& h : t_held) {
    if (h.set != id_) continue;
    if (h.fork_generation != gen) {
      return Err(Error::kLock,
                 "fork() detected after lock acquisition: this process "
                 "inherited locks it does not own");
    }
    if (h.id == id) {
      if (h.owner != owner) {
        return Err(Error::kLock,
                   "%s lock %u is held by another handle of this file in this "
                   "thread; waiting would deadlock",
                   KindName(id.kind), id.index);
      }
      if (type == LockType::kWrite && h.type == LockType::kRead) {
        return Err(Error::kLock, "write lock on %s %u requested while holding its read lock",
                   KindName(id.kind), id.index);
      }
      const_cast<Held&>(h).count++;
      return Status::OK();
    }
    if (h.id.kind == LockKind::kAllRecord) all = &h;
    if (h.id.kind > id.kind || (h.id.kind == id.kind && h.id.kind != LockKind::kHashGroup)) {
      above = &h;
    }
    if (h.id.kind == LockKind::kHashGroup && id.kind == LockKind::kHashGroup &&
        h.id.index > id.index) {
      later_group = true;
    }
  }
  if (all != nullptr && (id.kind == LockKind::kHashGroup || id.kind == LockKind::kFreeZone)) {
    if (all->owner != owner) {
      return Err(Error::kLock,
                 "the allrecord lock is held by another handle of this file in "
                 "this thread");
    }
    if (type == LockType::kWrite && all->type == LockType::kRead) {
      return Err(Error::kLock, "write lock on %s %u under the allrecord read lock",
                 KindName(id.kind), id.index);
    }
    t_held.push_back({id_, owner, id, type, 1, true, gen});
    return Status::OK();
  }
  if (above != nullptr) {
    return Err(Error::kLock, "lock order: %s lock %u requested while holding %s lock %u",
               KindName(id.kind), id.index, KindName(above->id.kind), above->id.index);
  }
  // A second hash group: waiting is safe only in ascending order; otherwise take it only
  // if it is free now.
  if (later_group) wait = false;
  Status st = id.kind == LockKind::kAllRecord ? primitive_->LockAllRecord(type)
                                              : primitive_->Lock(id, type, wait);
  if (!st.ok()) return st;
  t_held.push_back({id_, owner, id, type, 1, false, gen});
  return Status::OK();
}

Status LockSet::Unlock(const void* owner, LockId id, LockType type) {
  Held* h = Find(id_, id);
  if (h == nullptr || h->owner != owner) {
    return Err(Error::kLock, "unlock of %s lock %u, which this thread does not hold",
               KindName(id.kind), id.index);
  }
  // A read lock nested under the write lock (a fetch under a chainlock) is undone by a
  // read unlock; the real lock goes with the type it was taken as.
  if (type == LockType::kWrite && h->type == LockType::kRead) {
    return Err(Error::kLock, "write unlock of %s lock %u, held for reading", KindName(id.kind),
               id.index);
  }
  if (h->fork_generation != g_fork_generation.load(std::memory_order_relaxed)) {
    return Err(Error::kLock, "fork() detected after lock acquisition");
  }
  if (--h->count > 0) return Status::OK();
  const bool riding = h->riding;
  const LockType held = h->type;
  t_held.erase(h);
  if (riding) return Status::OK();
  if (id.kind == LockKind::kAllRecord) return primitive_->UnlockAllRecord(held);
  if (id.kind == LockKind::kFreeZone) {
    // An allocation or free inside one store or delete: the thread's only group, taken
    // for writing by the operation itself, is released next. Under a caller's chain lock
    // the group is nested (or another is held) and the zone goes now: the caller may
    // hold the group for a long time, and other processes allocate in this zone.
    const Held* group = nullptr;
    int groups = 0;
    for (const Held& g : t_held) {
      if (g.set == id_ && g.id.kind == LockKind::kHashGroup) {
        group = &g;
        groups++;
      }
    }
    if (groups == 1 && group->count == 1 && !group->riding && group->type == LockType::kWrite) {
      return primitive_->UnlockZoneBeforeGroup(id, held, group->id.index);
    }
  }
  return primitive_->Unlock(id, held);
}

Status LockPrimitive::LockGroups(const unsigned* groups, size_t n, LockType type) {
  for (size_t i = 0; i < n; i++) {
    Status st = Lock({LockKind::kHashGroup, groups[i]}, type, true);
    if (!st.ok()) {
      (void)UnlockGroups(groups, i, type);
      return st;
    }
  }
  return Status::OK();
}

Status LockPrimitive::UnlockGroups(const unsigned* groups, size_t n, LockType type) {
  Status first;
  for (size_t i = n; i-- > 0;) {
    Status st = Unlock({LockKind::kHashGroup, groups[i]}, type);
    if (first.ok()) first = st;
  }
  return first;
}

Status LockSet::LockGroups(const void* owner, const unsigned* groups, size_t n, LockType type) {
  const uint64_t gen = g_fork_generation.load(std::memory_order_relaxed);
  assert(std::is_sorted(groups, groups + n) &&
         std::adjacent_find(groups, groups + n) == groups + n);
  // Lock would find nothing to nest in, no order to break and no fork to refuse: only
  // locks that rank before a hash group are held, taken in this process. Then the
  // primitive takes them all in one call.
  const bool alone = std::none_of(t_held.begin(), t_held.end(), [&](const Held& h) {
    return h.set == id_ && (h.id.kind >= LockKind::kAllRecord || h.fork_generation != gen);
  });
  if (alone) {
    PTDB_RETURN_IF_ERROR(primitive_->LockGroups(groups, n, type));
    for (size_t i = 0; i < n; i++) {
      t_held.push_back({id_, owner, {LockKind::kHashGroup, groups[i]}, type, 1, false, gen});
    }
    return Status::OK();
  }
  for (size_t i = 0; i < n; i++) {
    Status st = Lock(owner, {LockKind::kHashGroup, groups[i]}, type);
    if (!st.ok()) {
      (void)UnlockGroups(owner, groups, i, type);
      return st;
    }
  }
  return Status::OK();
}

Status LockSet::UnlockGroups(const void* owner, const unsigned* groups, size_t n, LockType type) {
  const uint64_t gen = g_fork_generation.load(std::memory_order_relaxed);
  // The newest n entries, if LockGroups took them alone: Unlock would find each at the
  // end, not nested, and hand it to the primitive.
  bool newest = n <= t_held.size();
  for (size_t i = 0; newest && i < n; i++) {
    const Held& h = t_held[t_held.size() - n + i];
    newest = h.set == id_ && h.owner == owner && h.id == LockId{LockKind::kHashGroup, groups[i]} &&
             h.type == type && h.count == 1 && !h.riding && h.fork_generation == gen;
  }
  if (newest) {
    Status st = primitive_->UnlockGroups(groups, n, type);
    t_held.pop_back(n);
    return st;
  }
  Status first;
  for (size_t i = n; i-- > 0;) {
    Status st = Unlock(owner, {LockKind::kHashGroup, groups[i]}, type);
    if (first.ok()) first = st;
  }
  return first;
}

Status LockSet::LockAll(const void* owner, LockType type) {
  const LockId all{LockKind::kAllRecord, 0};
  for (const Held& h : t_held) {
    if (h.set == id_ && h.id.kind == LockKind::kHashGroup) {
      return Err(Error::kLock,
                 "allrecord lock requested while holding hash group %u (a "
                 "chainlock?)",
                 h.id.index);
    }
  }
  if (Held* h = Find(id_, all); h != nullptr) {
    // Nesting a read under a write is fine; a write under a read is not.
    if (h->owner == owner && type == LockType::kRead && h->type == LockType::kWrite) {
      if (h->fork_generation != g_fork_generation.load(std::memory_order_relaxed)) {
        return Err(Error::kLock, "fork() detected after lock acquisition");
      }
      h->count++;
      return Status::OK();
    }
  }
  return Lock(owner, all, type);
}

Status LockSet::UnlockAll(const void* owner, LockType type) {
  const LockId all{LockKind::kAllRecord, 0};
  Held* h = Find(id_, all);
  if (h != nullptr && h->owner == owner && h->count > 1) {
    if (h->fork_generation != g_fork_generation.load(std::memory_order_relaxed)) {
      return Err(Error::kLock, "fork() detected after lock acquisition");
    }
    h->count--;  // a read nested under the write: any unlock type undoes one level
    return Status::OK();
  }
  return Unlock(owner, all, h != nullptr ? h->type : type);
}

Status LockSet::Sweep(LockType type) { return primitive_->Sweep(type); }

bool LockSet::Holds(const void* owner, LockId id) const {
  for (const Held& h : t_held) {
    if (h.set == id_ && h.owner == owner &&
        (h.id == id || (h.id.kind == LockKind::kAllRecord &&
                        (id.kind == LockKind::kHashGroup || id.kind == LockKind::kFreeZone)))) {
      return true;
    }
  }
  return false;
}

bool LockSet::ThreadHoldsRecordLocks() { return t_held.record_locks() != 0; }

bool LockSet::HoldsAny(const void* owner) const {
  // Every unlocked fetch asks, and mostly holds nothing: no search to set up then.
  if (t_held.size() == 0) return false;
  return std::any_of(t_held.begin(), t_held.end(),
                     [&](const Held& h) { return h.set == id_ && h.owner == owner; });
}

bool LockSet::HoldsRecordLocks(const void* owner) const {
  return std::any_of(t_held.begin(), t_held.end(), [&](const Held& h) {
    return h.set == id_ && h.owner == owner &&
           (h.id.kind == LockKind::kAllRecord || h.id.kind == LockKind::kHashGroup ||
            h.id.kind == LockKind::kFreeZone);
  });
}

void LockSet::ReleaseAll(const void* owner) {
  const uint64_t gen = g_fork_generation.load(std::memory_order_relaxed);
  // Newest first, the reverse of the order they were taken in.
  for (size_t i = t_held.size(); i-- > 0;) {
    Held h = t_held[i];
    if (h.set != id_ || h.owner != owner) continue;
    t_held.erase(t_held.begin() + i);
    // A child of fork() does not own what it inherited; it only forgets it.
    if (!h.riding && h.fork_generation == gen) {
      if (h.id.kind == LockKind::kAllRecord) {
        (void)primitive_->UnlockAllRecord(h.type);
      } else {
        (void)primitive_->Unlock(h.id, h.type);
      }
    }
  }
}

}  // namespace ptdb
