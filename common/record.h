// Encoding and decoding of record headers (see format.h for the bit layout).
#ifndef PTDB_COMMON_RECORD_H_
#define PTDB_COMMON_RECORD_H_

#include <cstdint>

#include "common/format.h"

namespace ptdb {

// A decoded used-record header.
struct RecordInfo {
  uint16_t magic = 0;
  bool grown = false;
  uint64_t key_len = 0;
  uint64_t data_len = 0;
  uint64_t padding = 0;    // bytes after the data
  unsigned hash_bits = 0;  // low kHashBitsInRecord bits of the key's hash

  uint64_t TotalSize() const { return format::kUsedHeaderSize + key_len + data_len + padding; }
  // Room for key and data without moving the record.
  uint64_t Capacity() const { return key_len + data_len + padding; }
};

// Returns false if the lengths cannot be encoded (key >= 2^32, or key and data together
// too wide for one word, or padding > kMaxPadding).
bool EncodeUsedHeader(const RecordInfo& info, format::UsedHeader* out);
// True if a record with these lengths (and no padding) can be encoded.
bool CanEncode(uint64_t key_len, uint64_t data_len);
// Decodes any used header. Does not validate the magic; callers compare it.
RecordInfo DecodeUsedHeader(const format::UsedHeader& h);
// The magic of a word-0 value: a 16-bit used magic, or kFreeMagic << 8 for a free record.
inline uint16_t RecordMagic(uint64_t word0) { return uint16_t(word0 >> 48); }
inline bool IsFreeRecord(uint64_t word0) { return uint8_t(word0 >> 56) == format::kFreeMagic; }

// Free-record words.
inline uint64_t FreeWord0(uint64_t prev) {
  return (uint64_t(format::kFreeMagic) << 56) | (prev & format::kOffsetMask56);
}
inline uint64_t FreeWord1(unsigned bucket, uint64_t len) {
  return (uint64_t(bucket) << 56) | (len & format::kOffsetMask56);
}
inline uint64_t FreePrev(const format::FreeRecord& f) {
  return f.magic_and_prev & format::kOffsetMask56;
}
inline uint64_t FreeLen(const format::FreeRecord& f) {
  return f.bucket_and_len & format::kOffsetMask56;
}
inline unsigned FreeBucket(const format::FreeRecord& f) { return unsigned(f.bucket_and_len >> 56); }

// The free-list bucket for a record whose length after its header is `len` (>= 8):
// 8-byte steps up to 72, then powers of two.
unsigned SizeToBucket(uint64_t len);

// Rounds up to the record alignment.
inline constexpr uint64_t AlignRecord(uint64_t n) {
  return (n + format::kRecordAlign - 1) & ~(format::kRecordAlign - 1);
}

}  // namespace ptdb

#endif  // PTDB_COMMON_RECORD_H_
