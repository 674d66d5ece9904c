#include "common/record.h"

namespace ptdb {
using record_bits::BitWidth;
using record_bits::kGrownShift;
using record_bits::kHashMask;
using record_bits::kKbitsShift;
using record_bits::kPaddingShift;

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

}  // namespace ptdb
