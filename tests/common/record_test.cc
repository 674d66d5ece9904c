// The used-record header codec, free-record words and free-list bucket sizes, against
// the bit layout documented in common/format.h.
#include "common/record.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "common/format.h"

namespace ptdb {
namespace {

using format::UsedHeader;

// Lengths worth trying below 2^bits: every 2^k - 1 and 2^k, plus a few small ones.
std::vector<uint64_t> InterestingLengths(unsigned bits) {
  std::vector<uint64_t> out = {0, 1, 2, 3, 7, 8, 24};
  for (unsigned k = 1; k < bits; k++) {
    out.push_back((1ULL << k) - 1);
    out.push_back(1ULL << k);
  }
  out.push_back(bits >= 64 ? ~0ULL : (1ULL << bits) - 1);
  return out;
}

unsigned BitWidth(uint64_t v) { return v ? 64 - unsigned(__builtin_clzll(v)) : 0; }

// The widest data length a key of this length leaves room for, per format.h.
uint64_t MaxDataFor(uint64_t key_len) {
  const unsigned key_width = 2 * ((BitWidth(key_len) + 1) / 2);
  return key_width == 0 ? ~0ULL : (1ULL << (64 - key_width)) - 1;
}

RecordInfo Info(uint64_t key_len, uint64_t data_len) {
  RecordInfo info;
  info.magic = format::kUsedMagic;
  info.key_len = key_len;
  info.data_len = data_len;
  info.padding = 5;
  info.hash_bits = 0x2A5;
  return info;
}

void ExpectRoundTrip(const RecordInfo& in) {
  UsedHeader h;
  ASSERT_TRUE(EncodeUsedHeader(in, &h)) << "key " << in.key_len << " data " << in.data_len;
  const RecordInfo out = DecodeUsedHeader(h);
  EXPECT_EQ(out.magic, in.magic);
  EXPECT_EQ(out.grown, in.grown);
  EXPECT_EQ(out.key_len, in.key_len);
  EXPECT_EQ(out.data_len, in.data_len) << "key " << in.key_len;
  EXPECT_EQ(out.padding, in.padding);
  EXPECT_EQ(out.hash_bits, in.hash_bits & ((1u << format::kHashBitsInRecord) - 1));

  // The documented layout: 63..48 magic | 47..43 kbits | 42 grown | 41..11 padding |
  // 10..0 hash; word 1: key in the low 2*kbits bits, data above.
  const unsigned kbits = (BitWidth(in.key_len) + 1) / 2;
  EXPECT_EQ(h.magic_and_meta >> 48, in.magic);
  EXPECT_EQ((h.magic_and_meta >> 43) & 0x1F, kbits);
  EXPECT_EQ((h.magic_and_meta >> 42) & 1, uint64_t(in.grown));
  EXPECT_EQ((h.magic_and_meta >> 11) & format::kMaxPadding, in.padding);
  EXPECT_EQ(h.magic_and_meta & 0x7FF, in.hash_bits & 0x7FFu);
  if (kbits > 0) {
    EXPECT_EQ(h.key_and_data_len & ((1ULL << (2 * kbits)) - 1), in.key_len);
  }
}

TEST(RecordTest, RoundTripsKeyAndDataLengths) {
  for (uint64_t key : InterestingLengths(32)) {
    for (uint64_t data : InterestingLengths(64)) {
      if (data > MaxDataFor(key)) continue;
      ExpectRoundTrip(Info(key, data));
      if (testing::Test::HasFatalFailure()) return;
    }
    ExpectRoundTrip(Info(key, MaxDataFor(key)));
  }
}

TEST(RecordTest, LargestKey) {
  const uint64_t key = (1ULL << 32) - 1;
  ExpectRoundTrip(Info(key, 0));
  ExpectRoundTrip(Info(key, (1ULL << 32) - 1));
  UsedHeader h;
  EXPECT_FALSE(EncodeUsedHeader(Info(key, 1ULL << 32), &h));
}

TEST(RecordTest, RejectsKeyOf4GiB) {
  UsedHeader h;
  EXPECT_FALSE(EncodeUsedHeader(Info(1ULL << 32, 0), &h));
  EXPECT_FALSE(EncodeUsedHeader(Info(~0ULL, 0), &h));
  EXPECT_FALSE(EncodeUsedHeader(Info(1ULL << 40, 1), &h));
}

TEST(RecordTest, RejectsDataTooWideForTheKeyField) {
  UsedHeader h;
  for (uint64_t key : InterestingLengths(32)) {
    const uint64_t max = MaxDataFor(key);
    if (max == ~0ULL) continue;
    EXPECT_TRUE(EncodeUsedHeader(Info(key, max), &h)) << key;
    EXPECT_FALSE(EncodeUsedHeader(Info(key, max + 1), &h)) << key;
    EXPECT_FALSE(EncodeUsedHeader(Info(key, ~0ULL), &h)) << key;
  }
}

TEST(RecordTest, PaddingLimit) {
  RecordInfo info = Info(10, 100);
  info.padding = format::kMaxPadding;
  ExpectRoundTrip(info);
  info.padding = format::kMaxPadding + 1;
  UsedHeader h;
  EXPECT_FALSE(EncodeUsedHeader(info, &h));
  info.padding = 0;
  ExpectRoundTrip(info);
}

TEST(RecordTest, GrownBitAndHashBitsAreIndependent) {
  for (bool grown : {false, true}) {
    for (unsigned hash : {0u, 1u, 0x400u, 0x7FFu}) {
      RecordInfo info = Info(0xFFFF, 0xFFFF);
      info.grown = grown;
      info.hash_bits = hash;
      info.padding = format::kMaxPadding;
      ExpectRoundTrip(info);
      info.padding = 0;
      info.magic = 0xFFFF;
      ExpectRoundTrip(info);
    }
  }
}

TEST(RecordTest, OnlyElevenHashBitsAreKept) {
  RecordInfo info = Info(3, 3);
  info.hash_bits = 0xFFFFFFFFu;
  UsedHeader h;
  ASSERT_TRUE(EncodeUsedHeader(info, &h));
  const RecordInfo out = DecodeUsedHeader(h);
  EXPECT_EQ(out.hash_bits, 0x7FFu);
  // The extra bits must not leak into the padding or grown fields.
  EXPECT_EQ(out.padding, info.padding);
  EXPECT_FALSE(out.grown);
}

TEST(RecordTest, SizesAndMagic) {
  RecordInfo info = Info(5, 11);
  info.padding = 8;
  EXPECT_EQ(info.TotalSize(), format::kUsedHeaderSize + 5 + 11 + 8);
  EXPECT_EQ(info.Capacity(), 5u + 11 + 8);
  UsedHeader h;
  ASSERT_TRUE(EncodeUsedHeader(info, &h));
  EXPECT_EQ(RecordMagic(h.magic_and_meta), format::kUsedMagic);
  EXPECT_FALSE(IsFreeRecord(h.magic_and_meta));
}

TEST(RecordTest, FreeRecordWords) {
  format::FreeRecord f;
  f.magic_and_prev = FreeWord0(0x123456789ABCD8ULL);
  f.bucket_and_len = FreeWord1(55, 0xFFFFFFFFFF8ULL);
  f.next = 0;
  EXPECT_TRUE(IsFreeRecord(f.magic_and_prev));
  EXPECT_EQ(FreePrev(f), 0x123456789ABCD8ULL);
  EXPECT_EQ(FreeLen(f), 0xFFFFFFFFFF8ULL);
  EXPECT_EQ(FreeBucket(f), 55u);
  EXPECT_EQ(f.magic_and_prev >> 56, format::kFreeMagic);
  // Offsets above 2^56 cannot be stored; the mask keeps them out of the magic byte.
  EXPECT_TRUE(IsFreeRecord(FreeWord0(~0ULL)));
}

TEST(RecordTest, AlignRecord) {
  EXPECT_EQ(AlignRecord(0), 0u);
  EXPECT_EQ(AlignRecord(1), 8u);
  EXPECT_EQ(AlignRecord(8), 8u);
  EXPECT_EQ(AlignRecord(9), 16u);
  EXPECT_EQ(AlignRecord(24), 24u);
}

TEST(RecordTest, SizeToBucketSmallSizesStepByEight) {
  for (uint64_t len = 8; len <= 72; len += 8) {
    EXPECT_EQ(SizeToBucket(len), unsigned((len - 8) / 8)) << len;
  }
}

TEST(RecordTest, SizeToBucketPowersOfTwoAboveSeventyTwo) {
  // Past 72, bucket = floor(log2(len - 8)) + 3, capped at the last bucket.
  EXPECT_EQ(SizeToBucket(80), 9u);
  for (unsigned k = 7; k < 64; k++) {
    const uint64_t lo = 8 + (1ULL << k);
    const unsigned expected = k + 3 < format::kFreeBuckets ? k + 3 : format::kFreeBuckets - 1;
    EXPECT_EQ(SizeToBucket(lo), expected) << "len 8 + 2^" << k;
    if (k < 63) {
      EXPECT_EQ(SizeToBucket(lo + (1ULL << k) - 8), expected) << "len below 8 + 2^" << k + 1;
    }
  }
  EXPECT_EQ(SizeToBucket(~0ULL & ~7ULL), format::kFreeBuckets - 1);
}

TEST(RecordTest, SizeToBucketIsMonotonicAndInRange) {
  unsigned last = 0;
  for (uint64_t len = 8; len < (1ULL << 20); len += 8) {
    const unsigned b = SizeToBucket(len);
    ASSERT_GE(b, last) << len;
    ASSERT_LT(b, format::kFreeBuckets) << len;
    last = b;
  }
  for (unsigned shift = 20; shift < 64; shift++) {
    const unsigned b = SizeToBucket(1ULL << shift);
    ASSERT_GE(b, last) << shift;
    ASSERT_LT(b, format::kFreeBuckets);
    last = b;
  }
}

}  // namespace
}  // namespace ptdb
