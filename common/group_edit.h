// Changes to one 8-slot hash group made as single-slot writes, in an order that never
// leaves an entry out of the group (or out of the child table it moved to) between two
// of them.
//
// A plain (non-transactional) write is not crash-safe, but Rescue walks the hash tree
// (docs/design.md, "Rescue"): a process killed half way through a change to a group must
// leave every entry it held still reachable, perhaps twice (Rescue hands a key over once).
// A kill sees the writes in program order, so each `write(slot, entry)` is one 8-byte
// store; the caller keeps the compiler from reordering them (KillOrderFence).
//
// Slots use linear probing from the entry's home bucket; a lookup stops at an empty slot,
// and a sub-hash entry always sits at its home.
#ifndef PTDB_COMMON_GROUP_EDIT_H_
#define PTDB_COMMON_GROUP_EDIT_H_

#include <cassert>
#include <cstdint>

#include "common/errors.h"
#include "common/format.h"

namespace ptdb {

inline bool IsPlainEntry(uint64_t e) { return e != 0 && !format::EntryIsSubHash(e); }
// A plain entry whose home is `bucket`.
inline bool IsEntryOf(uint64_t e, unsigned bucket) {
  return IsPlainEntry(e) && format::EntryBucket(e) == bucket;
}

// Places entry e in the first empty slot from its home bucket; false if the group is full.
inline bool PlaceInGroup(uint64_t slots[8], uint64_t e) {
  const unsigned home = format::EntryBucket(e);
  for (unsigned i = 0; i < format::kGroupSlots; i++) {
    uint64_t& s = slots[(home + i) % format::kGroupSlots];
    if (s == 0) {
      s = e;
      return true;
    }
  }
  return false;
}

// Empties slot `gone` and closes the gap the probe sequences had through it (Knuth's
// algorithm R): scanning on from the hole, an entry whose probe passed the hole moves
// into it and leaves a new hole behind. Each move writes the entry's new slot before its
// old one is overwritten (by a later move, or emptied last), and the slots are written in
// circular order from `gone`, so every entry is in the group at every moment.
// `slots` becomes the result.
template <class WriteSlot>
Status RemoveFromGroup(uint64_t slots[8], unsigned gone, WriteSlot&& write) {
  unsigned hole = gone;
  for (unsigned step = 1; step < format::kGroupSlots; step++) {
    const unsigned j = (gone + step) % format::kGroupSlots;
    const uint64_t e = slots[j];
    if (e == 0) break;
    if (format::EntryIsSubHash(e)) continue;  // always at home
    // It stays if its home lies in (hole, j], circularly: its probe never met the hole.
    const unsigned from_hole = (format::EntryBucket(e) - hole - 1) % format::kGroupSlots;
    if (from_hole < (j - hole) % format::kGroupSlots) continue;
    PTDB_RETURN_IF_ERROR(write(hole, e));
    slots[hole] = e;
    hole = j;
  }
  slots[hole] = 0;
  return write(hole, 0);
}

// The home bucket a push-down moves into a child table: the one with the most entries,
// counting the key being added (home `new_bucket`), among the buckets whose own slot holds
// one of their entries; LinkChild can then write the link over that entry, which the child
// holds too. Only a full group in which every plain entry was pushed past its home has no
// such bucket: then simply the most crowded one.
inline unsigned ChooseVictim(const uint64_t slots[8], unsigned new_bucket) {
  unsigned count[8] = {};
  count[new_bucket]++;
  for (unsigned i = 0; i < format::kGroupSlots; i++) {
    if (IsPlainEntry(slots[i])) count[format::EntryBucket(slots[i])]++;
  }
  int best = IsEntryOf(slots[new_bucket], new_bucket) ? int(new_bucket) : -1;
  for (unsigned b = 0; b < format::kGroupSlots; b++) {
    if (IsEntryOf(slots[b], b) && (best < 0 || count[b] > count[best])) best = int(b);
  }
  if (best >= 0) return unsigned(best);
  unsigned victim = new_bucket;
  for (unsigned b = 0; b < format::kGroupSlots; b++) {
    if (count[b] > count[victim]) victim = b;
  }
  return victim;
}

// Puts `link` (a sub-hash entry for a child table that already holds every entry of home
// bucket `victim`) in slot `victim` and takes those entries out of the group. The link
// overwrites one of them, which the child then holds; the rest are removed one by one.
// Where slot `victim` holds another bucket's entry (ChooseVictim's last resort, a full
// group), that entry first takes the slot of one of victim's entries: a kill between
// those two stores loses that one entry, the only window left. `slots` becomes the result.
template <class WriteSlot>
Status LinkChild(uint64_t slots[8], unsigned victim, uint64_t link, WriteSlot&& write) {
  assert(format::EntryIsSubHash(link) && format::EntryBucket(link) == victim);
  auto next_victim_entry = [&] {
    unsigned i = 0;
    while (i < format::kGroupSlots && !IsEntryOf(slots[i], victim)) i++;
    return i;
  };
  unsigned at = next_victim_entry();
  if (at == format::kGroupSlots) {
    return Status(Error::kCorrupt, "a hash group to push down holds no entry to move");
  }
  if (!IsEntryOf(slots[victim], victim)) {
    for (unsigned i = 0; i < format::kGroupSlots; i++) {
      if (slots[i] == 0) return Status(Error::kCorrupt, "a hash group to push down is not full");
    }
    // In a full group the probe from the displaced entry's home, wrapping round, still
    // finds it in its new slot.
    PTDB_RETURN_IF_ERROR(write(at, slots[victim]));
    slots[at] = slots[victim];
  }
  PTDB_RETURN_IF_ERROR(write(victim, link));
  slots[victim] = link;
  while ((at = next_victim_entry()) < format::kGroupSlots) {
    PTDB_RETURN_IF_ERROR(RemoveFromGroup(slots, at, write));
  }
  return Status::OK();
}

}  // namespace ptdb

#endif  // PTDB_COMMON_GROUP_EDIT_H_
