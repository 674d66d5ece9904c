// The on-disk (and in-pool) format: every constant and structure, in one place.
//
// docs/format.md describes each byte; change neither without the other, and any
// change that an older reader would misread needs a new version or feature bit.
// Every stored value is a 64-bit word in the creator's byte order (little-endian
// hosts only for now: a byte-swapped version word is reported as unsupported).
// No bitfields, bools, enums or pointers: packed fields use the accessors below.
#ifndef PTDB_COMMON_FORMAT_H_
#define PTDB_COMMON_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace ptdb::format {

// ---- Header -------------------------------------------------------------------------

inline constexpr char kMagicFood[] = "TDB2 file (ptdb)\n";
// "ptdb" in ASCII, then the format revision.
inline constexpr uint64_t kVersion = 0x7074646200000001ULL;
// The value whose hash is stored in the header, so a different hash function is caught.
inline constexpr uint64_t kHashTestValue = 0xA1ABE11A01092008ULL;

inline constexpr unsigned kTopGroupBits = 7;   // 128 top-level hash groups (the lock unit)
inline constexpr unsigned kBucketBits = 3;     // 8 buckets in every group
inline constexpr unsigned kSubGroupBits = 3;   // a full sub-group has 8 groups
inline constexpr unsigned kExtraHashBits = 7;  // hash bits kept in each entry
inline constexpr unsigned kTopGroups = 1u << kTopGroupBits;
inline constexpr unsigned kGroupSlots = 1u << kBucketBits;
inline constexpr unsigned kTopSlots = kTopGroups * kGroupSlots;
inline constexpr unsigned kTopBits = kTopGroupBits + kBucketBits;
inline constexpr unsigned kSubBits = kBucketBits + kSubGroupBits;
inline constexpr unsigned kMaxSubGroups = 1u << kSubGroupBits;
inline constexpr unsigned kMaxSubSlots = kMaxSubGroups * kGroupSlots;
// Sub-levels below the top before the hash is used up; past them come chains.
inline constexpr unsigned kMaxSubLevels = (64 - kTopBits) / kSubBits;
static_assert(kTopBits + kMaxSubLevels * kSubBits == 64, "the levels use the hash exactly");

inline constexpr unsigned kChangeCountPairs = 16;

struct Header {
  char magic_food[64];
  uint64_t version;
  uint64_t hash_test;  // hash(kHashTestValue, hash_seed)
  uint64_t hash_seed;
  uint64_t first_zone;        // offset of the first free zone
  uint64_t recovery[2];       // transaction recovery areas (0: none)
  uint64_t features_used;     // features a writer has used; subset of features_offered
  uint64_t features_offered;  // features the creator understood
  uint64_t seqnum;
  uint64_t capabilities;  // offset of the first capability record (0: none)
  // Transactions (file backend; docs/transactions.md). 0 in a pool.
  uint64_t space_end;        // end of the last zone; recovery areas may follow it (0: file size)
  uint64_t tx_counter;       // number of the last committed transaction
  uint64_t tx_replayed;      // bundles numbered up to this are known applied
  uint64_t tx_applying;      // number of the commit being applied in place, 0 when none
  uint64_t tx_gate;          // nonzero while a write transaction keeps other writers out
  uint64_t zone_generation;  // bumped when zones are given back (wipe, repack)
  uint64_t ro_readers;       // nonzero while read-only transactions may be running
  // kFcntl files: hash group g's change count is pair g mod 16, {begun, ended}
  // (file/change_counts.h). Zero in kMutex files (their counts are in the MutexArea) and
  // pools.
  uint64_t change_counts[2 * kChangeCountPairs];
  // While tx_applying is nonzero: the hash groups whose bytes that commit changes, bit g
  // of word g / 64 for group g (all bits, or none, when any may change). Readers of
  // other groups go on reading meanwhile (docs/transactions.md, "Applying").
  uint64_t tx_apply_groups[kTopGroups / 64];
  uint64_t reserved[5];  // zero
  uint64_t top_hash[kTopSlots];
};

inline constexpr uint64_t kHeaderSize = 512 + kTopSlots * 8;
static_assert(sizeof(Header) == kHeaderSize);
static_assert(offsetof(Header, version) == 64);
static_assert(offsetof(Header, hash_test) == 72);
static_assert(offsetof(Header, hash_seed) == 80);
static_assert(offsetof(Header, first_zone) == 88);
static_assert(offsetof(Header, recovery) == 96);
static_assert(offsetof(Header, features_used) == 112);
static_assert(offsetof(Header, features_offered) == 120);
static_assert(offsetof(Header, seqnum) == 128);
static_assert(offsetof(Header, capabilities) == 136);
static_assert(offsetof(Header, space_end) == 144);
static_assert(offsetof(Header, tx_counter) == 152);
static_assert(offsetof(Header, tx_replayed) == 160);
static_assert(offsetof(Header, tx_applying) == 168);
static_assert(offsetof(Header, tx_gate) == 176);
static_assert(offsetof(Header, zone_generation) == 184);
static_assert(offsetof(Header, ro_readers) == 192);
static_assert(offsetof(Header, change_counts) == 200);
static_assert(offsetof(Header, tx_apply_groups) == 456);
static_assert(offsetof(Header, reserved) == 472);
// Top-level groups start on a cache line: one group is one line.
static_assert(offsetof(Header, top_hash) == 512);
static_assert(std::is_trivially_copyable_v<Header> && std::is_standard_layout_v<Header>);

inline constexpr uint64_t kSeqnumOffset = offsetof(Header, seqnum);
inline constexpr uint64_t kTopHashOffset = offsetof(Header, top_hash);

// Feature bits (header features_used / features_offered).
// The file's processes lock with robust mutexes kept in the MutexArea that sits between
// the header and the first zone (file/mutex_area.h); without it, with fcntl byte ranges.
inline constexpr uint64_t kFeatureMutexLocks = 1;
// Every writer keeps each hash group's change count (in the MutexArea, or in the
// header's change_counts for kFcntl), so readers may read without the group's lock and
// check the count afterwards (docs/locking.md). A writer that does not know the bit, or
// cannot keep the counts, clears it on open, and readers then always lock.
inline constexpr uint64_t kFeatureChangeCounts = 2;
// Features this code understands.
inline constexpr uint64_t kFeaturesKnown = kFeatureMutexLocks | kFeatureChangeCounts;

// Capability type bits: what a reader that does not know the capability must do.
inline constexpr uint64_t kCapNoCheck = 1ULL << 63;  // check() cannot verify the file
inline constexpr uint64_t kCapNoWrite = 1ULL << 62;  // open read-only only
inline constexpr uint64_t kCapNoOpen = 1ULL << 61;   // do not open at all
inline constexpr uint64_t kCapTypeMask = ~(kCapNoCheck | kCapNoWrite | kCapNoOpen);

// ---- Records ------------------------------------------------------------------------
//
// Everything after the header is a sequence of records, each 8-byte aligned and at
// least kMinRecord bytes, so the space can be scanned linearly (the checker does).
// A record starts with a 16-byte used header, or is a free record.

inline constexpr uint16_t kUsedMagic = 0x1999;     // a key/data record
inline constexpr uint16_t kSubHashMagic = 0x1888;  // a hash sub-group (8..64 slots)
inline constexpr uint16_t kChainMagic = 0x1777;    // a bottom-level chain
inline constexpr uint16_t kZoneMagic = 0x1666;     // a free zone's header
inline constexpr uint16_t kCapMagic = 0x1555;      // a capability
inline constexpr uint8_t kFreeMagic = 0xFE;        // top byte of a free record's first word

inline constexpr uint64_t kRecordAlign = 8;
inline constexpr uint64_t kUsedHeaderSize = 16;
inline constexpr uint64_t kMinRecord = 24;
inline constexpr uint64_t kMinDataLen = kMinRecord - kUsedHeaderSize;

// Used header, word 0:
//   63..48 magic | 47..43 kbits | 42 grown | 41..11 extra padding | 10..0 low hash bits
// word 1: key length in the low 2*kbits bits, data length in the rest.
// "grown": the record outgrew its room once, so it gets extra room when it moves.
// Padding follows the data; its first byte is 0 (a future extension marks it non-zero).
struct UsedHeader {
  uint64_t magic_and_meta;
  uint64_t key_and_data_len;
};
static_assert(sizeof(UsedHeader) == kUsedHeaderSize);
static_assert(offsetof(UsedHeader, key_and_data_len) == 8);

inline constexpr unsigned kHashBitsInRecord = 11;
inline constexpr unsigned kPaddingBits = 31;
inline constexpr uint64_t kMaxPadding = (1ULL << kPaddingBits) - 1;

// Free record: word 0 = kFreeMagic << 56 | prev offset; word 1 = bucket << 56 | length
// (bytes after the 16-byte header); word 2 = next offset (0 ends the list).
// The list head's prev is the tail, so appending is O(1).
struct FreeRecord {
  uint64_t magic_and_prev;
  uint64_t bucket_and_len;
  uint64_t next;
};
static_assert(sizeof(FreeRecord) == kMinRecord);
static_assert(offsetof(FreeRecord, bucket_and_len) == 8);
static_assert(offsetof(FreeRecord, next) == 16);

inline constexpr uint64_t kOffsetLimit = 1ULL << 56;  // every offset is below this
inline constexpr uint64_t kOffsetMask56 = kOffsetLimit - 1;

// ---- Hash entries -------------------------------------------------------------------
//
// A hash slot is one word: 0 (empty), or
//   63..57 extra hash bits | 56 sub-hash | 55..3 record offset | 2..0 home bucket.
// The extra bits are the 7 hash bits that follow the home-bucket bits. With sub-hash set
// the offset is that of a sub-group or chain record (its used header), not of a record.
//
// Hash bits are used from the top. Top level: 7 group bits, 3 bucket bits. Each sub-level
// then uses 3 bucket bits followed by 3 group bits. Because the group bits come after the
// bucket bits, they are in every entry's extra bits: a sub-group can double from 1 to 8
// groups without re-reading a key.
inline constexpr uint64_t kEntryBucketMask = 0x7;
inline constexpr uint64_t kEntryOffsetMask = 0x00FFFFFFFFFFFFF8ULL;
inline constexpr unsigned kEntrySubHashBit = 56;
inline constexpr unsigned kEntryExtraShift = 57;

constexpr uint64_t MakeEntry(uint64_t off, unsigned bucket, unsigned extra, bool subhash) {
  return (uint64_t(extra) << kEntryExtraShift) | (uint64_t(subhash) << kEntrySubHashBit) |
         (off & kEntryOffsetMask) | bucket;
}
constexpr uint64_t EntryOffset(uint64_t e) { return e & kEntryOffsetMask; }
constexpr unsigned EntryBucket(uint64_t e) { return unsigned(e & kEntryBucketMask); }
constexpr unsigned EntryExtra(uint64_t e) { return unsigned(e >> kEntryExtraShift); }
constexpr bool EntryIsSubHash(uint64_t e) { return (e >> kEntrySubHashBit) & 1; }
// The group a record entry with these extra bits belongs in, in a sub-group of `groups`
// groups: the group bits follow the bucket bits, so they are the top of the extra bits.
constexpr unsigned GroupOfExtra(unsigned extra, unsigned groups) {
  return (extra >> (kExtraHashBits - kSubGroupBits)) & (groups - 1);
}

// In a sub-hash entry the extra bits hold log2 of the child sub-group's group count
// (0 for a chain), so a lookup goes to the right group without reading the child's header.
constexpr unsigned SubGroupSizeCode(unsigned groups) {
  return groups <= 1 ? 0 : 1 + SubGroupSizeCode(groups / 2);
}

// A sub-group record: used header (kSubHashMagic, key length 0, hash bits 0) followed by
// 8, 16, 32 or 64 slots (1, 2, 4 or 8 groups of 8).
// A chain: used header (kChainMagic) followed by 8 slots and the next chain's offset.
inline constexpr uint64_t kChainSlots = 8;
inline constexpr uint64_t kChainDataLen = (kChainSlots + 1) * 8;

// ---- Free zones ---------------------------------------------------------------------
//
// Space is divided into zones, each a contiguous run of records that begins with a zone
// record: used header (kZoneMagic) + ZoneBody. Every zone keeps its own size-bucketed
// free lists, so allocators in different zones never contend. Zones form a list from
// header.first_zone in address order. A record never spans two zones.
inline constexpr unsigned kFreeBuckets = 56;

struct ZoneBody {
  uint64_t zone_size;              // bytes from the zone record's start to the zone's end
  uint64_t next_zone;              // 0: last
  uint64_t buckets[kFreeBuckets];  // head of each free list (0: empty)
};
static_assert(sizeof(ZoneBody) == 16 + kFreeBuckets * 8);
static_assert(offsetof(ZoneBody, buckets) == 16);
inline constexpr uint64_t kZoneRecordSize = kUsedHeaderSize + sizeof(ZoneBody);
static_assert(kZoneRecordSize % kRecordAlign == 0);

// A capability record: used header (kCapMagic) + {type, next}.
struct CapabilityBody {
  uint64_t type;
  uint64_t next;
};
static_assert(sizeof(CapabilityBody) == 16);

}  // namespace ptdb::format

#endif  // PTDB_COMMON_FORMAT_H_
