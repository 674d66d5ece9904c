#include "file/file_locks.h"

#include <fcntl.h>

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

}  // namespace

FileLocks::FileLocks(ByteRangeLocks* bytes, ChangeCounts* counts)
    : bytes_(bytes),
      counts_(counts),
      groups_(new Local[format::kTopGroups]),
      free_(new Local[kFreeLocals]) {}

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

Status FileLocks::EnterLocal(Local* l, LockType type, bool wait,
                             const std::function<Status()>& first_in) {
  std::unique_lock<std::mutex> g(l->mu);
  auto busy = [&] { return l->writer || (type == LockType::kWrite && l->readers > 0); };
  if (busy()) {
    if (!wait) return Status::WouldBlock("held by another thread of this process");
    l->cv.wait(g, [&] { return !busy(); });
  }
  // The byte lock is taken with l->mu held: a thread that would join has to wait for it
  // anyway, and nobody in this process can be the one the kernel makes us wait for.
  if (l->readers == 0 && first_in) PTDB_RETURN_IF_ERROR(first_in());
  if (type == LockType::kWrite) {
    l->writer = true;
  } else {
    l->readers++;
  }
  return Status::OK();
}

Status FileLocks::LeaveLocal(Local* l, LockType type, const std::function<Status()>& last_out) {
  Status st;
  {
    std::lock_guard<std::mutex> g(l->mu);
    if (type == LockType::kWrite) {
      l->writer = false;
    } else {
      l->readers--;
    }
    if (!l->writer && l->readers == 0 && last_out) st = last_out();
  }
  l->cv.notify_all();
  return st;
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
  if (mutexes_ != nullptr) {
    PTDB_RETURN_IF_ERROR(mutexes_->Lock(SlotOf(id), wait));
  } else {
    const uint64_t byte = ByteOf(id);
    PTDB_RETURN_IF_ERROR(EnterLocal(LocalOf(id), type, wait, [&] {
      return bytes_ ? bytes_->Lock(FcntlType(type), byte, 1, wait) : Status::OK();
    }));
  }
  if (Changes(id, type)) counts_->BeginChange(id.index);
  return Status::OK();
}

Status FileLocks::Unlock(LockId id, LockType type) {
  if (Changes(id, type)) counts_->EndChange(id.index);
  if (mutexes_ != nullptr) return mutexes_->Unlock(SlotOf(id));
  const uint64_t byte = ByteOf(id);
  return LeaveLocal(LocalOf(id), type,
                    [&] { return bytes_ ? bytes_->Unlock(byte, 1) : Status::OK(); });
}

Status FileLocks::LockAllRecord(LockType type) {
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
    Status st = EnterLocal(&groups_[g], LockType::kWrite, true, nullptr);
    if (!st.ok()) {
      while (g-- > 0) (void)LeaveLocal(&groups_[g], LockType::kWrite, nullptr);
      return st;
    }
  }
  Status st =
      bytes_ ? bytes_->LockGradual(FcntlType(type), lock_bytes::kHashStart, 0) : Status::OK();
  if (!st.ok()) {
    for (unsigned g = 0; g < format::kTopGroups; g++) {
      (void)LeaveLocal(&groups_[g], LockType::kWrite, nullptr);
    }
    return st;
  }
  if (ChangesAll(type)) counts_->BeginChangeAll();
  return st;
}

Status FileLocks::Sweep(LockType type) {
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
  Status first;
  if (ChangesAll(type)) counts_->EndChangeAll();
  if (mutexes_ != nullptr) {
    for (unsigned g = format::kTopGroups; g-- > 0;) {
      Status st = mutexes_->Unlock(GroupSlot(g));
      if (first.ok()) first = st;
    }
    return first;
  }
  if (bytes_ != nullptr) first = bytes_->Unlock(lock_bytes::kHashStart, 0);
  for (unsigned g = 0; g < format::kTopGroups; g++) {
    (void)LeaveLocal(&groups_[g], LockType::kWrite, nullptr);
  }
  return first;
}

}  // namespace ptdb
