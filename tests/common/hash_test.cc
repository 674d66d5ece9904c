// The default key hash: lookup3's published hashlittle2 check values, and the
// properties the file format relies on.
#include "common/hash.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <string>

namespace ptdb {
namespace {

constexpr char kFourScore[] = "Four score and seven years ago";
constexpr size_t kFourScoreLen = 30;

uint64_t Pair(uint32_t c, uint32_t b) { return (uint64_t(c) << 32) | b; }

// lookup3's driver prints hashlittle2's outputs (c, b) for the inputs (*pc, *pb); the
// 64-bit result packs them as (c << 32) | b.
TEST(HashTest, PublishedLookup3VectorsUnseeded) {
  static_assert(sizeof(kFourScore) - 1 == kFourScoreLen);
  EXPECT_EQ(JenkinsHash64(kFourScore, kFourScoreLen, 0), Pair(0x17770551, 0xce7226e6));
  EXPECT_EQ(JenkinsHash64("", 0, 0), Pair(0xdeadbeef, 0xdeadbeef));
  EXPECT_EQ(JenkinsHash64("", 0, 0xdeadbeefdeadbeefULL), Pair(0x9c093ccd, 0xbd5b7dde));
}

// The seed packs hashlittle2's two inputs: *pc is its low 32 bits, *pb its high 32
// (lookup3's driver5 vectors, written as (pc, pb) -> (c, b)).
TEST(HashTest, PublishedLookup3VectorsSeeded) {
  // (0, 1) -> (0xe3607cae, 0xbd371de4) and (1, 0) -> (0xcd628161, 0x6cbea4b3)
  EXPECT_EQ(JenkinsHash64(kFourScore, kFourScoreLen, 1ULL << 32), Pair(0xe3607cae, 0xbd371de4));
  EXPECT_EQ(JenkinsHash64(kFourScore, kFourScoreLen, 1), Pair(0xcd628161, 0x6cbea4b3));
  // (0, 0xdeadbeef) -> (0xbd5b7dde, 0xdeadbeef)
  EXPECT_EQ(JenkinsHash64("", 0, 0xdeadbeefULL << 32), Pair(0xbd5b7dde, 0xdeadbeef));
  // (0xdeadbeef, 0xdeadbeef) -> (0x9c093ccd, 0xbd5b7dde)
  EXPECT_EQ(JenkinsHash64("", 0, 0xdeadbeefdeadbeefULL), Pair(0x9c093ccd, 0xbd5b7dde));
}

TEST(HashTest, SeedChangesTheHash) {
  std::set<uint64_t> seen;
  for (uint64_t seed : {0ULL, 1ULL, 2ULL, 1ULL << 32, 1ULL << 63, ~0ULL, 0x123456789ULL}) {
    EXPECT_TRUE(seen.insert(JenkinsHash64(kFourScore, kFourScoreLen, seed)).second) << seed;
  }
}

TEST(HashTest, UnalignedInputHashesAlike) {
  const std::string text = std::string(kFourScore) + " our fathers brought forth";
  alignas(16) char buf[128];
  for (size_t len = 0; len <= text.size(); len++) {
    const uint64_t aligned = JenkinsHash64(text.data(), len, 77);
    std::memcpy(buf, text.data(), len);
    ASSERT_EQ(JenkinsHash64(buf, len, 77), aligned) << len;
    for (size_t shift = 1; shift < 8; shift++) {
      std::memcpy(buf + shift, text.data(), len);
      ASSERT_EQ(JenkinsHash64(buf + shift, len, 77), aligned) << len << " at +" << shift;
    }
  }
}

TEST(HashTest, EveryLengthAndEveryByteMatters) {
  // Lengths around the 12-byte block size, and a change in any one byte, give new hashes.
  std::string key(40, 'x');
  std::set<uint64_t> seen;
  for (size_t len = 0; len <= key.size(); len++) {
    EXPECT_TRUE(seen.insert(JenkinsHash64(key.data(), len, 5)).second) << len;
  }
  const uint64_t base = JenkinsHash64(key.data(), key.size(), 5);
  for (size_t i = 0; i < key.size(); i++) {
    std::string changed = key;
    changed[i] ^= 1;
    EXPECT_NE(JenkinsHash64(changed.data(), changed.size(), 5), base) << i;
  }
}

TEST(HashTest, HashTestValueHashesTheLittleEndianConstant) {
  unsigned char bytes[8];
  for (int i = 0; i < 8; i++) bytes[i] = uint8_t(format::kHashTestValue >> (8 * i));
  auto seeded = [](uint64_t seed) {
    return [seed](const void* key, size_t len) { return JenkinsHash64(key, len, seed); };
  };
  EXPECT_EQ(HashTestValue(seeded(99)), JenkinsHash64(bytes, 8, 99));
  EXPECT_NE(HashTestValue(seeded(99)), HashTestValue(seeded(100)));
}

}  // namespace
}  // namespace ptdb
