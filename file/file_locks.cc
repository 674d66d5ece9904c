#include "file/file_locks.h"

#include <fcntl.h>

#include <algorithm>
#include <iterator>

#include "common/errors.h"
#include "common/fence.h"

namespace ptdb {
namespace {

constexpr unsigned kTransactionSlot = 0;
constexpr unsigned kExpansionSlot = 1;
constexpr unsigned kFirstFreeSlot = FileLocks::GroupSlot(format::kTopGroups);
constexpr unsigned kFreeSlots = MutexArea::kSlots - kFirstFreeSlot;
static_assert(kFreeSlots >= 64, "the mutex area should leave room for free-zone locks");

int FcntlType(LockType t) { return t == LockType::kRead ? F_RDLCK : F_WRLCK; }

// The zone whose byte this thread kept locked for its group's unlock
// (UnlockZoneBeforeGroup); its address marks the kept byte's Local as this thread's.
struct KeptZone {
  FileLocks* locks = nullptr;
  uint32_t zone = 0;
  unsigned group = 0;
};
thread_local KeptZone t_kept;

}  // namespace

FileLocks::FileLocks(ByteRangeLocks* bytes, ChangeCounts* counts)
    : bytes_(bytes),
      counts_(counts),
      groups_(new Local[format::kTopGroups]),
      free_(new Local[kFreeLocals]),
      merge_(bytes != nullptr && !bytes->has_hooks()) {}

FileLocks::FileLocks(MutexArea* mutexes, ChangeCounts* counts)
    : mutexes_(mutexes), counts_(counts) {}

FileLocks::~FileLocks() = default;

unsigned FileLocks::SlotOf(LockId id) {
  switch (id.kind) {
    case LockKind::kTransaction:
      return kTransactionSlot;
    case LockKind::kExpansion:
      return kExpansionSlot;
    case LockKind::kHashGroup:
      return GroupSlot(id.index);
    case LockKind::kFreeZone:
      // Zones share slots beyond the first few; harmless, as a thread holds one at a time.
      return kFirstFreeSlot + id.index % kFreeSlots;
    case LockKind::kAllRecord:
      break;
  }
  return MutexArea::kSlots;  // rejected by MutexArea
}

uint64_t FileLocks::ByteOf(LockId id) const {
  switch (id.kind) {
    case LockKind::kTransaction:
      return lock_bytes::kTransaction;
    case LockKind::kExpansion:
      return lock_bytes::kExpansion;
    case LockKind::kHashGroup:
      return lock_bytes::GroupByte(id.index);
    case LockKind::kFreeZone:
      return lock_bytes::kFreeStart + id.index;
    case LockKind::kAllRecord:
      break;
  }
  return lock_bytes::kHashStart;
}

FileLocks::Local* FileLocks::LocalOf(LockId id) {
  switch (id.kind) {
    case LockKind::kTransaction:
      return &transaction_;
    case LockKind::kExpansion:
      return &expansion_;
    case LockKind::kHashGroup:
      return &groups_[id.index % format::kTopGroups];
    case LockKind::kFreeZone:
      return &free_[id.index % kFreeLocals];
    case LockKind::kAllRecord:
      break;
  }
  return nullptr;
}

// A write lock on a hash group announces a change to the records it guards (the change
// count readers without the lock check); a read lock does not.
bool FileLocks::Changes(LockId id, LockType type) const {
  return counts_ != nullptr && id.kind == LockKind::kHashGroup && type == LockType::kWrite;
}

bool FileLocks::ChangesAll(LockType type) const {
  return counts_ != nullptr && type == LockType::kWrite;
}

Status FileLocks::Lock(LockId id, LockType type, bool wait) {
  // A kept zone byte goes before anything that may wait; only taking that zone again
  // needs no wait (the byte is this process's already).
  if (t_kept.locks != nullptr &&
      !(t_kept.locks == this && id.kind == LockKind::kFreeZone && id.index == t_kept.zone)) {
    PTDB_RETURN_IF_ERROR(ReleaseKeptZone());
  }
  if (mutexes_ != nullptr) {
    PTDB_RETURN_IF_ERROR(mutexes_->Lock(SlotOf(id), wait));
  } else {
    PTDB_RETURN_IF_ERROR(EnterLocal(id, type, wait, true));
  }
  if (Changes(id, type)) counts_->BeginChange(id.index);
  return Status::OK();
}

Status FileLocks::Unlock(LockId id, LockType type) {
  if (Changes(id, type)) counts_->EndChange(id.index);
  if (t_kept.locks == this && id.kind == LockKind::kHashGroup && id.index == t_kept.group &&
      type == LockType::kWrite) {
    const uint32_t zone = t_kept.zone;
    t_kept = {};
    Local* g = LocalOf(id);
    Local* z = &free_[zone % kFreeLocals];
    Status st;
    {
      std::lock_guard<std::mutex> gl(g->mu);
      g->writer = false;
      // The group's Local stays locked until its byte is gone, as in LeaveLocal; the
      // zone's, so that no thread takes over a byte this call is about to release.
      std::lock_guard<std::mutex> zl(z->mu);
      if (z->kept_by == &t_kept && z->kept_zone == zone) {
        z->kept_by = nullptr;
        st = UnlockGroupAndZone(id.index, zone);
      } else {
        st = UnlockByte(ByteOf(id));  // another thread took the zone over
      }
    }
    g->cv.notify_all();
    return st;
  }
  PTDB_RETURN_IF_ERROR(ReleaseKeptFirst());
  if (mutexes_ != nullptr) return mutexes_->Unlock(SlotOf(id));
  return LeaveLocal(id, type, true);
}

Status FileLocks::UnlockZoneBeforeGroup(LockId zone, LockType type, unsigned group) {
  if (!merge_ || t_kept.locks != nullptr || zone.kind != LockKind::kFreeZone) {
    return Unlock(zone, type);
  }
  Local* l = LocalOf(zone);
  {
    std::lock_guard<std::mutex> g(l->mu);
    if (type == LockType::kWrite) {
      l->writer = false;
    } else {
      l->readers--;
    }
    if (!l->writer && l->readers == 0) {
      l->kept_by = &t_kept;
      l->kept_zone = zone.index;
      t_kept = {this, zone.index, group};
    }
  }
  l->cv.notify_all();
  return Status::OK();
}

Status FileLocks::EnterLocal(LockId id, LockType type, bool wait, bool byte) {
  Local* l = LocalOf(id);
  std::unique_lock<std::mutex> g(l->mu);
  auto busy = [&] { return l->writer || (type == LockType::kWrite && l->readers > 0); };
  if (busy()) {
    if (!wait) return Status::WouldBlock("held by another thread of this process");
    l->cv.wait(g, [&] { return !busy(); });
  }
  if (l->readers == 0) {
    // First in. The byte lock is taken with l->mu held: a thread that would join has to
    // wait for it anyway, and nobody in this process can be the one the kernel makes us
    // wait for.
    bool have_byte = false;
    if (l->kept_by != nullptr) {
      if (id.kind == LockKind::kFreeZone && l->kept_zone == id.index) {
        l->kept_by = nullptr;  // taken over: still locked for writing, as zones are
        have_byte = true;
      } else {
        PTDB_RETURN_IF_ERROR(ReleaseKeptByte(l));
      }
    }
    if (byte && !have_byte && bytes_ != nullptr) {
      PTDB_RETURN_IF_ERROR(LockByte(ByteOf(id), type, wait));
    }
  }
  // This thread's own kept zone, entered again (or taken over by another thread first).
  if (t_kept.locks == this && id.kind == LockKind::kFreeZone && id.index == t_kept.zone) {
    t_kept = {};
  }
  if (type == LockType::kWrite) {
    l->writer = true;
  } else {
    l->readers++;
  }
  return Status::OK();
}

Status FileLocks::LeaveLocal(LockId id, LockType type, bool byte) {
  Local* l = LocalOf(id);
  Status st;
  {
    std::lock_guard<std::mutex> g(l->mu);
    if (type == LockType::kWrite) {
      l->writer = false;
    } else {
      l->readers--;
    }
    if (byte && !l->writer && l->readers == 0 && bytes_ != nullptr) st = UnlockByte(ByteOf(id));
  }
  l->cv.notify_all();
  return st;
}

Status FileLocks::ReleaseKeptZone() {
  FileLocks* f = t_kept.locks;
  const uint32_t zone = t_kept.zone;
  t_kept = {};
  Local* l = &f->free_[zone % kFreeLocals];
  std::lock_guard<std::mutex> g(l->mu);
  if (l->kept_by != &t_kept || l->kept_zone != zone) return Status::OK();
  return f->ReleaseKeptByte(l);
}

Status FileLocks::ReleaseKeptFirst() {
  return t_kept.locks != nullptr ? ReleaseKeptZone() : Status::OK();
}

void FileLocks::SetAllHeld(bool held) {
  std::lock_guard<std::mutex> g(held_mu_);
  all_held_ = held;
}

Status FileLocks::ReleaseKeptByte(Local* zone_local) {
  zone_local->kept_by = nullptr;
  return UnlockByte(lock_bytes::kFreeStart + zone_local->kept_zone);
}

void FileLocks::NoteByte(uint64_t byte, bool held) {
  std::lock_guard<std::mutex> g(held_mu_);
  NoteByteLocked(byte, held);
}

void FileLocks::NoteByteLocked(uint64_t byte, bool held) {
  if (byte < lock_bytes::kFreeStart) {
    const unsigned group =
        unsigned((byte - lock_bytes::kHashStart) >> (30 - format::kTopGroupBits));
    const uint64_t bit = uint64_t(1) << (group % 64);
    groups_held_[group / 64] =
        held ? groups_held_[group / 64] | bit : groups_held_[group / 64] & ~bit;
    return;
  }
  const uint32_t zone = uint32_t(byte - lock_bytes::kFreeStart);
  if (held) {
    zones_held_.push_back(zone);
  } else if (auto it = std::find(zones_held_.begin(), zones_held_.end(), zone);
             it != zones_held_.end()) {
    *it = zones_held_.back();
    zones_held_.pop_back();
  }
}

Status FileLocks::LockByte(uint64_t byte, LockType type, bool wait) {
  const bool noted = merge_ && byte >= lock_bytes::kHashStart;
  if (noted) NoteByte(byte, true);
  Status st = bytes_->Lock(FcntlType(type), byte, 1, wait);
  if (!st.ok() && noted) NoteByte(byte, false);
  return st;
}

Status FileLocks::UnlockByte(uint64_t byte) {
  Status st = bytes_->Unlock(byte, 1);
  if (merge_ && byte >= lock_bytes::kHashStart) NoteByte(byte, false);
  return st;
}

Status FileLocks::UnlockGroupAndZone(unsigned g, uint32_t z) {
  const uint64_t group_byte = lock_bytes::GroupByte(g);
  const uint64_t zone_byte = lock_bytes::kFreeStart + z;
  std::lock_guard<std::mutex> h(held_mu_);
  // Between the two bytes lie the groups after g and the zones before z: one F_UNLCK may
  // cover them only if this process holds none of them (nor is about to: bytes are noted
  // before they are locked, and none can be noted while we hold held_mu_).
  bool alone = !all_held_;
  for (unsigned w = g / 64; alone && w < std::size(groups_held_); w++) {
    uint64_t later = groups_held_[w];
    if (w == g / 64) later &= ~uint64_t(0) << (g % 64) << 1;  // not g nor those before
    alone = later == 0;
  }
  for (uint32_t other : zones_held_) alone = alone && other >= z;
  Status st;
  if (alone) {
    st = bytes_->Unlock(group_byte, zone_byte + 1 - group_byte);
  } else {
    st = bytes_->Unlock(group_byte, 1);
    Status zs = bytes_->Unlock(zone_byte, 1);
    if (st.ok()) st = zs;
  }
  NoteByteLocked(group_byte, false);
  NoteByteLocked(zone_byte, false);
  return st;
}

Status FileLocks::LockAllRecord(LockType type) {
  PTDB_RETURN_IF_ERROR(ReleaseKeptFirst());
  // Every group in ascending order, as any single-group locker would take them: this is
  // gradual by construction, and mutexes have no range to take at once.
  if (mutexes_ != nullptr) {
    for (unsigned g = 0; g < format::kTopGroups; g++) {
      Status st = mutexes_->Lock(GroupSlot(g), true);
      if (!st.ok()) {
        while (g-- > 0) (void)mutexes_->Unlock(GroupSlot(g));
        return st;
      }
    }
    // Nothing is written before this returns: the counts can all turn at once.
    if (ChangesAll(type)) counts_->BeginChangeAll();
    return Status::OK();
  }
  // Other threads of this process are kept out of every group (as with mutexes, the
  // allrecord lock is exclusive within a process); other processes by one byte range,
  // from the first group to infinity, which also covers every free-zone byte.
  for (unsigned g = 0; g < format::kTopGroups; g++) {
    Status st = EnterLocal({LockKind::kHashGroup, g}, LockType::kWrite, true, false);
    if (!st.ok()) {
      while (g-- > 0) (void)LeaveLocal({LockKind::kHashGroup, g}, LockType::kWrite, false);
      return st;
    }
  }
  if (merge_) SetAllHeld(true);
  Status st =
      bytes_ ? bytes_->LockGradual(FcntlType(type), lock_bytes::kHashStart, 0) : Status::OK();
  if (!st.ok()) {
    if (merge_) SetAllHeld(false);
    for (unsigned g = 0; g < format::kTopGroups; g++) {
      (void)LeaveLocal({LockKind::kHashGroup, g}, LockType::kWrite, false);
    }
    return st;
  }
  if (ChangesAll(type)) counts_->BeginChangeAll();
  return st;
}

Status FileLocks::Sweep(LockType type) {
  PTDB_RETURN_IF_ERROR(ReleaseKeptFirst());
  if (mutexes_ == nullptr) return LockPrimitive::Sweep(type);
  // The caller's flag store must be visible before we look at the mutexes.
  FullFence();
  const unsigned end = GroupSlot(format::kTopGroups);
  for (unsigned slot = mutexes_->NextMaybeHeld(GroupSlot(0), end); slot < end;
       slot = mutexes_->NextMaybeHeld(slot + 1, end)) {
    PTDB_RETURN_IF_ERROR(mutexes_->Lock(slot, true));
    PTDB_RETURN_IF_ERROR(mutexes_->Unlock(slot));
  }
  return Status::OK();
}

Status FileLocks::LockGroups(const unsigned* groups, size_t n, LockType type) {
  if (mutexes_ == nullptr) return LockPrimitive::LockGroups(groups, n, type);
  PTDB_RETURN_IF_ERROR(ReleaseKeptFirst());
  const bool changes = counts_ != nullptr && type == LockType::kWrite;
  for (size_t i = 0; i < n; i++) {
    Status st = mutexes_->Lock(GroupSlot(groups[i]), true);
    if (!st.ok()) {
      (void)UnlockGroups(groups, i, type);
      return st;
    }
    if (changes) counts_->BeginChange(groups[i]);
  }
  return Status::OK();
}

Status FileLocks::UnlockGroups(const unsigned* groups, size_t n, LockType type) {
  if (mutexes_ == nullptr) return LockPrimitive::UnlockGroups(groups, n, type);
  PTDB_RETURN_IF_ERROR(ReleaseKeptFirst());
  const bool changes = counts_ != nullptr && type == LockType::kWrite;
  Status first;
  for (size_t i = n; i-- > 0;) {
    if (changes) counts_->EndChange(groups[i]);
    Status st = mutexes_->Unlock(GroupSlot(groups[i]));
    if (first.ok()) first = st;
  }
  return first;
}

Status FileLocks::UnlockAllRecord(LockType type) {
  Status first = ReleaseKeptFirst();
  if (ChangesAll(type)) counts_->EndChangeAll();
  if (mutexes_ != nullptr) {
    for (unsigned g = format::kTopGroups; g-- > 0;) {
      Status st = mutexes_->Unlock(GroupSlot(g));
      if (first.ok()) first = st;
    }
    return first;
  }
  if (bytes_ != nullptr) {
    Status st = bytes_->Unlock(lock_bytes::kHashStart, 0);
    if (first.ok()) first = st;
  }
  if (merge_) SetAllHeld(false);
  for (unsigned g = 0; g < format::kTopGroups; g++) {
    (void)LeaveLocal({LockKind::kHashGroup, g}, LockType::kWrite, false);
  }
  return first;
}

}  // namespace ptdb
