#include "common/record.h"

namespace ptdb {
namespace {

// Bits needed to hold v (0 for 0).
unsigned BitWidth(uint64_t v) { return v ? 64 - unsigned(__builtin_clzll(v)) : 0; }

constexpr unsigned kKbitsShift = 43;
constexpr unsigned kGrownShift = 42;
constexpr unsigned kPaddingShift = 11;
constexpr uint64_t kHashMask = (1ULL << format::kHashBitsInRecord) - 1;

}  // namespace

bool EncodeUsedHeader(const RecordInfo& info, format::UsedHeader* out) {
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

bool CanEncode(uint64_t key_len, uint64_t data_len) {
  RecordInfo info;
  info.key_len = key_len;
  info.data_len = data_len;
  format::UsedHeader unused;
  return EncodeUsedHeader(info, &unused) &&
         format::kUsedHeaderSize + key_len + data_len < format::kOffsetLimit &&
         data_len < format::kOffsetLimit;
}

RecordInfo DecodeUsedHeader(const format::UsedHeader& h) {
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

unsigned SizeToBucket(uint64_t len) {
  if (len < format::kMinDataLen) return 0;
  if (len - format::kMinDataLen <= 64) return unsigned((len - format::kMinDataLen) / 8);
  const unsigned b = BitWidth(len - format::kMinDataLen) - 1 + 3;
  return b < format::kFreeBuckets ? b : format::kFreeBuckets - 1;
}

}  // namespace ptdb
