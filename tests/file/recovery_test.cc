// Recovery bundles on their own: what BundleWriter seals, ReadBundle accepts and
// ApplyBundle writes, on an in-memory file. The crash behaviour around them is in
// tests/crash/.
#include "file/recovery.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace ptdb {
namespace {

class MemoryIo final : public CommitIo {
 public:
  explicit MemoryIo(size_t size) : bytes(size, '\0') {}
  Status Read(uint64_t off, size_t len, void* buf) override {
    std::memcpy(buf, bytes.data() + off, len);
    return Status::OK();
  }
  Status Write(uint64_t off, const void* data, size_t len) override {
    std::memcpy(bytes.data() + off, data, len);
    return Status::OK();
  }
  Status Sync() override { return Status::OK(); }
  Status Extend(uint64_t size) override {
    if (size > bytes.size()) bytes.resize(size, '\0');
    return Status::OK();
  }
  uint64_t Size() override { return bytes.size(); }

  std::string bytes;
};

TEST(BundleTest, RunsThatTouchJoinAndReplayExactly) {
  BundleWriter writer(7);
  writer.Add(100, "abc", 3);
  writer.Add(103, "defgh", 5);  // continues the last run
  writer.Add(200, "z", 1);
  EXPECT_EQ(writer.entries(), 2u);
  const BundleBytes sealed = writer.Finish(4096);

  MemoryIo io(1024);
  ASSERT_TRUE(io.Write(512, sealed.data(), sealed.size()).ok());
  Bundle bundle;
  bool valid = false;
  ASSERT_TRUE(ReadBundle(&io, 512, &bundle, &valid).ok());
  ASSERT_TRUE(valid);
  EXPECT_EQ(bundle.counter, 7u);
  EXPECT_EQ(bundle.new_size, 4096u);
  ASSERT_TRUE(ApplyBundle(&io, bundle).ok());
  EXPECT_EQ(io.bytes.size(), 4096u);
  EXPECT_EQ(io.bytes.substr(100, 8), "abcdefgh");
  EXPECT_EQ(io.bytes.substr(200, 1), "z");
  EXPECT_EQ(io.bytes[108], '\0');
}

TEST(BundleTest, AnyDamagedByteMakesItInvalidNotApplied) {
  BundleWriter writer(3);
  writer.Add(16, "payload", 7);
  const BundleBytes sealed = writer.Finish(1024);
  for (size_t i = 0; i < sealed.size(); i++) {
    MemoryIo io(1024);
    std::string torn(sealed.data(), sealed.size());
    torn[i] ^= 0x40;
    ASSERT_TRUE(io.Write(256, torn.data(), torn.size()).ok());
    Bundle bundle;
    bool valid = true;
    Status st = ReadBundle(&io, 256, &bundle, &valid);
    EXPECT_TRUE(st.ok() && !valid) << "byte " << i << ": " << st.ToString();
  }
}

// A commit reuses the last bundle's buffer: nothing of the old bundle may remain in the
// new one, however much bigger the old one was.
TEST(BundleTest, AReusedBufferSealsWhatAFreshOneDoes) {
  BundleWriter big(1);
  const std::string filler(3000, 'f');
  for (uint64_t i = 0; i < 10; i++) big.Add(4096 * i, filler.data(), filler.size());
  BundleBytes spent = big.Finish(65536);

  BundleWriter fresh(2), reused(2, 0, std::move(spent));
  for (BundleWriter* w : {&fresh, &reused}) {
    w->Add(40, "small", 5);
    w->Add(45, "er", 2);
    w->Add(100, "odd", 3);  // padded with five zeros, where the old bundle had filler
  }
  const BundleBytes a = fresh.Finish(1024), b = reused.Finish(1024);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size()), 0);
}

// Up to and past the runs ApplyBundle keeps on the stack: every one is written.
TEST(BundleTest, ABundleOfManyRunsAppliesEveryOne) {
  for (uint64_t runs : {3, 64, 65, 200}) {
    BundleWriter writer(9);
    for (uint64_t i = 0; i < runs; i++) {
      const char c = char('A' + i % 26);
      writer.Add(16 * i, std::string(8, c).data(), 8);
    }
    Bundle bundle;
    bundle.bytes = writer.Finish(16 * runs);
    bundle.new_size = 16 * runs;
    MemoryIo io(16);
    ASSERT_TRUE(ApplyBundle(&io, bundle).ok());
    for (uint64_t i = 0; i < runs; i++) {
      EXPECT_EQ(io.bytes.substr(16 * i, 8), std::string(8, char('A' + i % 26)))
          << "run " << i << " of " << runs;
    }
  }
}

}  // namespace
}  // namespace ptdb
