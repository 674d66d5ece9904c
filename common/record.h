// Encoding and decoding of record headers (see format.h for the bit layout).
#ifndef PTDB_COMMON_RECORD_H_
#define PTDB_COMMON_RECORD_H_

#include <cstdint>

#include "common/format.h"

namespace ptdb {

// A decoded used-record header.
// Where the used header's fields sit in word 0 (format.h has the picture).
namespace record_bits {
constexpr unsigned kKbitsShift = 43;
constexpr unsigned kGrownShift = 42;
constexpr unsigned kPaddingShift = 11;
constexpr uint64_t kHashMask = (1ULL << format::kHashBitsInRecord) - 1;
// Bits needed to hold v (0 for 0).
inline unsigned BitWidth(uint64_t v) { return v ? 64 - unsigned(__builtin_clzll(v)) : 0; }
}  // namespace record_bits

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
// too wide for one word, or padding > kMaxPadding). Inline: every store encodes one or
// two, and an allocation's placeholder (no key, no padding) folds to a few instructions.
inline bool EncodeUsedHeader(const RecordInfo& info, format::UsedHeader* out);
// True if a record with these lengths (and no padding) can be encoded.
inline bool CanEncode(uint64_t key_len, uint64_t data_len);
// Decodes any used header. Does not validate the magic; callers compare it.
// Inline: every lookup decodes at least one.
inline RecordInfo DecodeUsedHeader(const format::UsedHeader& h);
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
inline unsigned SizeToBucket(uint64_t len);

// Rounds up to the record alignment.
inline constexpr uint64_t AlignRecord(uint64_t n) {
  return (n + format::kRecordAlign - 1) & ~(format::kRecordAlign - 1);
}

inline RecordInfo DecodeUsedHeader(const format::UsedHeader& h) {
  using namespace record_bits;
  RecordInfo info;
  const uint64_t w0 = h.magic_and_meta;
  info.magic = uint16_t(w0 >> 48);
  const unsigned key_width = 2 * unsigned((w0 >> kKbitsShift) & 0x1F);
  info.grown = (w0 >> kGrownShift) & 1;
  info.padding = (w0 >> kPaddingShift) & format::kMaxPadding;
  info.hash_bits = unsigned(w0 & kHashMask);
  if (key_width >= 64) {
    info.key_len = h.key_and_data_len;  // corrupt: no room for data; checkers reject it
    info.data_len = 0;
  } else {
    info.key_len = h.key_and_data_len & ((1ULL << key_width) - 1);
    info.data_len = h.key_and_data_len >> key_width;
  }
  return info;
}

inline bool EncodeUsedHeader(const RecordInfo& info, format::UsedHeader* out) {
  using namespace record_bits;
  // Written even when the lengths do not fit, so no caller reads an unset header.
  *out = format::UsedHeader{};
  if (info.key_len >> 32 || info.padding > format::kMaxPadding) return false;
  // The key-length field is 2*kbits bits wide; kbits fits in 5 bits.
  const unsigned kbits = (BitWidth(info.key_len) + 1) / 2;
  const unsigned key_width = 2 * kbits;
  if (BitWidth(info.data_len) > 64 - key_width) return false;
  out->magic_and_meta = (uint64_t(info.magic) << 48) | (uint64_t(kbits) << kKbitsShift) |
                        (uint64_t(info.grown) << kGrownShift) | (info.padding << kPaddingShift) |
                        (info.hash_bits & kHashMask);
  out->key_and_data_len = info.key_len | (key_width < 64 ? info.data_len << key_width : 0);
  return true;
}

inline bool CanEncode(uint64_t key_len, uint64_t data_len) {
  RecordInfo info;
  info.key_len = key_len;
  info.data_len = data_len;
  format::UsedHeader unused;
  return EncodeUsedHeader(info, &unused) &&
         format::kUsedHeaderSize + key_len + data_len < format::kOffsetLimit &&
         data_len < format::kOffsetLimit;
}

inline unsigned SizeToBucket(uint64_t len) {
  if (len < format::kMinDataLen) return 0;
  if (len - format::kMinDataLen <= 64) return unsigned((len - format::kMinDataLen) / 8);
  const unsigned b = record_bits::BitWidth(len - format::kMinDataLen) - 1 + 3;
  return b < format::kFreeBuckets ? b : format::kFreeBuckets - 1;
}

}  // namespace ptdb

#endif  // PTDB_COMMON_RECORD_H_
