// Builds a small database byte by byte, laid out exactly as the engine lays it out (see
// common/format.h), so tests can make valid databases and then break them on purpose.
//
//   Layout l;
//   l.BeginZone(4096);
//   uint64_t rec = l.AddRecord("key", "data");  // written and linked into the hash tree
//   std::vector<uint8_t> db = l.Finish();       // the rest of the zone becomes free space
#ifndef PTDB_TESTS_SUPPORT_LAYOUT_H_
#define PTDB_TESTS_SUPPORT_LAYOUT_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/format.h"
#include "common/hash_bits.h"
#include "common/space_reader.h"
#include "ptdb/options.h"

namespace ptdb::test {

inline constexpr uint64_t kLayoutSeed = 0x5eedf00dcafe1234ULL;

// The hash bits each level of the tree uses (level 0 = top, 1..9 = sub-levels).
// The mask of the hash bits that pick the path down to (and including) `level`'s bucket and
// group bits.
uint64_t PathMask(unsigned level);

// The first `count` keys "<prefix><n>" (n = 0, 1, ...) whose hash has the bits of `want`
// under `mask`.
std::vector<std::string> FindKeys(const KeyHasher& hash, uint64_t want, uint64_t mask, size_t count,
                                  const std::string& prefix = "key");

uint64_t Get64(const std::vector<uint8_t>& bytes, uint64_t off);
void Put64(std::vector<uint8_t>* bytes, uint64_t off, uint64_t value);

class Layout {
 public:
  // The database hash is hash (JenkinsHash64 if null) with seed.
  explicit Layout(uint64_t seed = kLayoutSeed, HashFn hash = nullptr);

  const KeyHasher& hasher() const { return hasher_; }
  uint64_t Hash(std::string_view key) const { return hasher_(key.data(), key.size()); }

  // Starts a zone of `size` bytes at the end of the space, closing the previous one.
  uint64_t BeginZone(uint64_t size);
  // Fills the rest of the current zone with one free record (Finish does it too).
  void CloseZone();

  // Each Add writes a record at the current zone's cursor and returns its offset
  // (0 after an ADD_FAILURE if it does not fit).
  // `padding` is extra room after the data; alignment may add more.
  uint64_t AddRecord(std::string_view key, std::string_view data, uint64_t padding = 0);
  uint64_t AddUnlinkedRecord(std::string_view key, std::string_view data, uint64_t padding = 0);
  // A free record of `size` bytes in total, appended to its bucket's list.
  uint64_t AddFree(uint64_t size);
  uint64_t AddUnlinkedFree(uint64_t size);
  // An empty sub-group or chain, not yet in the tree (see LinkChild).
  uint64_t AddSubGroup(unsigned slots, uint64_t padding = 0);
  uint64_t AddChain();
  // A capability record, appended to the header's list.
  uint64_t AddCapability(uint64_t type);

  // Places an entry for the used record at `rec` by its key's hash, as the engine would:
  // down sub-hash entries, then linear probing in the group (first free slot of a chain).
  bool Link(uint64_t rec);
  // Puts a sub-hash entry pointing at `child` into the table at `level` on `hash`'s path.
  bool LinkChild(uint64_t hash, unsigned level, uint64_t child);

  // Closes the zone and returns the bytes (the builder can go on).
  std::vector<uint8_t> Finish();

  // For breaking things.
  std::vector<uint8_t>& bytes() { return bytes_; }
  uint64_t Get64(uint64_t off) const { return test::Get64(bytes_, off); }
  void Put64(uint64_t off, uint64_t value) { test::Put64(&bytes_, off, value); }
  // The offset of the first hash slot (top, sub-group or chain) whose entry points at
  // `target`, or 0.
  uint64_t SlotOf(uint64_t target) const;
  // The offset of a zone's list head for `bucket`.
  static uint64_t BucketHeadOffset(uint64_t zone, unsigned bucket);
  uint64_t zone() const { return zone_; }

 private:
  uint64_t Allocate(uint64_t size);
  uint64_t WriteUsed(uint16_t magic, std::string_view key, std::string_view data, uint64_t padding,
                     unsigned hash_bits);
  void WriteFree(uint64_t off, uint64_t size);
  void LinkFree(uint64_t off);
  // The slots of the table at `level` on hash's path, or 0 (with an ADD_FAILURE).
  uint64_t TableOnPath(uint64_t hash, unsigned level, unsigned* nslots) const;
  unsigned SlotsOf(uint64_t table) const;

  KeyHasher hasher_;
  std::vector<uint8_t> bytes_;
  uint64_t zone_ = 0;  // current zone, 0 before the first
  uint64_t cursor_ = 0;
  uint64_t last_cap_ = 0;
  std::vector<uint64_t> tables_;  // sub-groups and chains, for SlotOf
};

// top -> 64-slot sub-group (level 1) -> 8-slot sub-group (level 2), with records at each
// level.
struct SubGroupTree {
  std::vector<std::string> deep, mid, top;  // keys in the 8-slot, 64-slot and top tables
  std::map<std::string, uint64_t> recs;     // key -> record offset
  uint64_t sg1 = 0, sg2 = 0;
};

// Builds that tree in a new zone of l; each record's data is "data of <key>".
void BuildSubGroupTree(Layout* l, SubGroupTree* t);

}  // namespace ptdb::test

#endif  // PTDB_TESTS_SUPPORT_LAYOUT_H_
