// The linear scan of a database's space: the zones and every record in them, parsed and
// checked for shape. The checker builds on it; the summary counts from it.
#ifndef PTDB_COMMON_SPACE_SCAN_H_
#define PTDB_COMMON_SPACE_SCAN_H_

#include <cstdint>
#include <vector>

#include "common/format.h"
#include "common/space_reader.h"
#include "ptdb/status.h"

namespace ptdb {

enum class RecordKind : uint8_t { kUsed, kSubGroup, kChain, kCapability, kFree };

// One record found by the scan. For a free record, data_len is its length field (bytes
// after the 16-byte header) and bucket its bucket field; key_len and padding are 0.
struct ScannedRecord {
  uint64_t off = 0;
  uint64_t size = 0;  // total bytes, header included
  uint64_t key_len = 0;
  uint64_t data_len = 0;
  uint64_t padding = 0;
  uint32_t zone = 0;  // index into ScannedSpace::zones
  unsigned hash_bits = 0;
  unsigned bucket = 0;
  RecordKind kind = RecordKind::kUsed;
};

struct ScannedZone {
  uint64_t off = 0;
  uint64_t size = 0;
  uint64_t buckets[format::kFreeBuckets] = {};
};

struct ScannedSpace {
  std::vector<ScannedZone> zones;      // in address order
  std::vector<ScannedRecord> records;  // every record after a zone record, in address order
  uint64_t end = 0;                    // end of the last extent

  // The record starting exactly at off, or null.
  const ScannedRecord* Find(uint64_t off) const;
  size_t IndexOf(const ScannedRecord* r) const { return size_t(r - records.data()); }
};

// Reads the header (kCorrupt if the space cannot hold one).
Status ReadHeader(SpaceReader& space, format::Header* header);

// Parses the record at off whose first two words h are not a free record's, with `left`
// bytes to the end of its zone: a well-formed header of a used, sub-group, chain or
// capability record that fits. Fills in rec's kind, size and lengths (not its zone).
Status ParseUsedRecord(SpaceReader& space, uint64_t off, uint64_t left, const format::UsedHeader& h,
                       ScannedRecord* rec);

// Walks the zones from first_zone, checks that they tile every extent exactly, and parses
// every record in them: each must be a well-formed used, sub-group, chain, capability or
// free record inside its zone. Does not look at free lists or the hash tree.
Status ScanSpace(SpaceReader& space, uint64_t first_zone, ScannedSpace* out);

}  // namespace ptdb

#endif  // PTDB_COMMON_SPACE_SCAN_H_
