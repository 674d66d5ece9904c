// What one operation inside a user transaction changed, so that an operation that fails
// (kExists, kNoExist, kOom half way through) can be taken back alone while the user's
// transaction goes on.
//
// libpmemobj cannot undo part of a transaction: a nested flat transaction that fails just
// commits into the outer one, and an abort ends the outermost. So, inside a user
// transaction only, the storage keeps in DRAM the old bytes of each write and the zone
// objects it allocated. Putting them back needs no new undo-log entry: every byte
// restored lies in a block the transaction has already logged (Write logs before it
// writes) or in space that was free when it began (pmem_fresh_space.h), so a crash still
// rolls back to the state before the user's transaction, and a commit flushes the
// restored bytes with the rest.
#ifndef PTDB_PMEM_PMEM_OP_UNDO_H_
#define PTDB_PMEM_PMEM_OP_UNDO_H_

#include <libpmemobj.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace ptdb {

class OpUndo {
 public:
  void Clear() {
    bytes_.clear();
    writes_.clear();
    reused_.clear();
    zones_.clear();
  }
  // [p, p + len) was a free record's body when the operation took it (Storage::SpaceReused).
  // Taken back, the operation leaves it a free record's body again, whose bytes mean
  // nothing: writes inside it keep no old bytes. Those are mostly a new record's, in space
  // no one has touched for long, and reading them first made the CPU wait for lines that
  // the write alone streams out (10-record transactions in a pool: 1-3% faster).
  void AddReused(const uint8_t* p, size_t len) {
    reused_.push_back({const_cast<uint8_t*>(p), len});
  }
  // Before [p, p + len) is overwritten.
  void SaveWrite(const uint8_t* p, size_t len) {
    for (const SavedWrite& r : reused_) {
      if (p >= r.p && len <= r.len && size_t(p - r.p) <= r.len - len) return;
    }
    writes_.push_back({const_cast<uint8_t*>(p), len});
    bytes_.insert(bytes_.end(), p, p + len);
  }
  void AddZone(PMEMoid zone) { zones_.push_back(zone); }

  // Puts back every saved byte, the newest write first, so overlapping writes end with the
  // oldest bytes.
  void RestoreWrites() {
    size_t end = bytes_.size();
    for (auto it = writes_.rbegin(); it != writes_.rend(); ++it) {
      end -= it->len;
      std::memcpy(it->p, bytes_.data() + end, it->len);
    }
  }
  // The zone objects the operation allocated: the caller frees them (in the transaction).
  const std::vector<PMEMoid>& zones() const { return zones_; }

 private:
  struct SavedWrite {
    uint8_t* p;
    size_t len;
  };
  std::vector<uint8_t> bytes_;
  std::vector<SavedWrite> writes_;
  std::vector<SavedWrite> reused_;  // ranges, no bytes
  std::vector<PMEMoid> zones_;
};

}  // namespace ptdb

#endif  // PTDB_PMEM_PMEM_OP_UNDO_H_
