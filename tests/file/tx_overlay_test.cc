// TxOverlay: what a transaction's bundle is made of. Only bytes the transaction wrote
// and changed may come out of ForEachChange: a page also holds bytes other processes
// change under a transaction (the lock mutexes next to the header), and writing back
// the transaction's stale copy of those would break their locks.
#include "file/tx_overlay.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace ptdb {
namespace {

struct Change {
  uint64_t off;
  std::string bytes;
  bool operator==(const Change& o) const { return off == o.off && bytes == o.bytes; }
};

// Without a mapping the overlay compares with copies of the file; with one (the usual
// case), with the file's bytes in place. The parameter says which.
class TxOverlayTest : public ::testing::TestWithParam<bool> {
 protected:
  TxOverlayTest()
      : file_(8 * TxOverlay::kPageSize, '\0'),
        overlay_(
            file_.size(),
            [this](uint64_t off, size_t len, void* buf) {
              std::memcpy(buf, file_.data() + off, len);
              return Status::OK();
            },
            GetParam() ? TxOverlay::BaseMap(
                             [this] { return reinterpret_cast<const uint8_t*>(file_.data()); })
                       : nullptr) {}

  std::vector<Change> Changes() {
    std::vector<Change> runs;
    Status st = overlay_.ForEachChange([&](uint64_t off, const uint8_t* p, size_t len) {
      runs.push_back({off, std::string(reinterpret_cast<const char*>(p), len)});
      return Status::OK();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return runs;
  }

  std::string Read(uint64_t off, size_t len) {
    std::string buf(len, '?');
    const void* out = nullptr;
    auto direct = [this](uint64_t o, size_t, void*, const void** p) {
      *p = file_.data() + o;
      return Status::OK();
    };
    Status st = overlay_.Read(off, len, buf.data(), &out, direct);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return std::string(static_cast<const char*>(out), len);
  }

  std::string file_;
  TxOverlay overlay_;
};

TEST_P(TxOverlayTest, BytesChangedByOthersOnAWrittenPageAreNotWrittenBack) {
  ASSERT_TRUE(overlay_.Write(100, "abc", 3).ok());
  // Another process changes its own bytes on the same page after we copied it.
  file_.replace(512, 4, "LOCK");
  EXPECT_EQ(Changes(), (std::vector<Change>{{100, "abc"}}));
}

TEST_P(TxOverlayTest, RewritingTheSameBytesIsNoChange) {
  file_.replace(40, 5, "hello");
  ASSERT_TRUE(overlay_.Write(40, "hello", 5).ok());
  EXPECT_TRUE(Changes().empty());
  EXPECT_EQ(overlay_.dirty_pages(), 1u);
}

TEST_P(TxOverlayTest, NearbyWrittenRunsJoinButUnwrittenWordsSplitThem) {
  // Two changes 8 bytes apart, with the bytes between written (unchanged): one run.
  ASSERT_TRUE(overlay_.Write(16, "x", 1).ok());
  ASSERT_TRUE(overlay_.Write(17, std::string(15, '\0').data(), 15).ok());
  ASSERT_TRUE(overlay_.Write(32, "y", 1).ok());
  // Two changes with an unwritten word between them: two runs, even if close.
  ASSERT_TRUE(overlay_.Write(200, "p", 1).ok());
  ASSERT_TRUE(overlay_.Write(216, "q", 1).ok());
  EXPECT_EQ(Changes(),
            (std::vector<Change>{
                {16, std::string("x") + std::string(15, '\0') + "y"}, {200, "p"}, {216, "q"}}));
}

TEST_P(TxOverlayTest, AWrittenStretchIsOneRunFromItsFirstToItsLastChangedByte) {
  // One written stretch: words 0-2 differ, 3 is equal, 4 differs, 5 and 6 are equal, 7
  // differs, 8-9 are equal up to the stretch's end. The equal words inside go along; the
  // equal bytes at either end do not.
  std::string bytes(80, '\0');
  for (size_t w : {0, 1, 2, 4, 7}) bytes[8 * w + 3] = 'd';
  ASSERT_TRUE(overlay_.Write(64, bytes.data(), bytes.size()).ok());
  EXPECT_EQ(Changes(), (std::vector<Change>{{64 + 3, bytes.substr(3, 57)}}));
}

TEST_P(TxOverlayTest, ReadsSeeTheTransactionsBytesAcrossPages) {
  const std::string data(TxOverlay::kPageSize + 10, 'z');
  ASSERT_TRUE(overlay_.Write(TxOverlay::kPageSize - 5, data.data(), data.size()).ok());
  EXPECT_EQ(Read(TxOverlay::kPageSize - 7, 4), std::string(2, '\0') + "zz");
  EXPECT_EQ(Read(TxOverlay::kPageSize * 2 + 3, 4), "zz" + std::string(2, '\0'));
  // Changes come per page, in address order, covering every written byte.
  std::string joined;
  uint64_t next = TxOverlay::kPageSize - 5;
  for (const Change& r : Changes()) {
    EXPECT_EQ(r.off, next);
    joined += r.bytes;
    next = r.off + r.bytes.size();
  }
  EXPECT_EQ(joined, data);
}

TEST_P(TxOverlayTest, GrowthComparesWithZerosAndStopsAtTheNewEnd) {
  const uint64_t old_end = file_.size();
  overlay_.Grow(old_end + 64);
  ASSERT_TRUE(overlay_.Write(old_end + 8, "new", 3).ok());
  ASSERT_TRUE(overlay_.Write(old_end + 16, std::string(8, '\0').data(), 8).ok());
  EXPECT_EQ(Changes(), (std::vector<Change>{{old_end + 8, "new"}}));
  EXPECT_EQ(overlay_.size(), old_end + 64);
  EXPECT_EQ(overlay_.base_size(), old_end);
}

// A transaction that began knowing the file to end mid-page, and learns when it takes new
// space that the file is longer (another process's recovery bundle lies there).
TEST_P(TxOverlayTest, AFileFoundLongerIsReadAndComparedPastTheOldEnd) {
  file_.replace(1500, 6, "BUNDLE");
  overlay_.Reset(1500);
  ASSERT_TRUE(overlay_.Write(1400, "rec", 3).ok());
  // Page 1 is filled here, with zeros past the end the transaction knew.
  EXPECT_EQ(Read(1396, 8), std::string(4, '\0') + "rec" + '\0');
  overlay_.SeeFileSize(file_.size());
  EXPECT_EQ(overlay_.base_size(), file_.size());
  EXPECT_EQ(overlay_.size(), file_.size());
  EXPECT_EQ(Read(1500, 6), "BUNDLE");
  EXPECT_EQ(Read(1396, 8), std::string(4, '\0') + "rec" + '\0');
  // Zeros written over the bundle's bytes are a change.
  ASSERT_TRUE(overlay_.Write(1504, std::string(8, '\0').data(), 8).ok());
  EXPECT_EQ(Changes(), (std::vector<Change>{{1400, "rec"}, {1504, std::string(2, '\0')}}));
}

TEST_P(TxOverlayTest, RunsJoinAcrossTheBitmapsWordsAndReachThePagesEnd) {
  // Bytes 504..519 are words 63 and 64 of the page: the bitmap's two halves.
  ASSERT_TRUE(overlay_.Write(504, "ab", 2).ok());
  ASSERT_TRUE(overlay_.Write(506, std::string(12, '\0').data(), 12).ok());
  ASSERT_TRUE(overlay_.Write(518, "cd", 2).ok());
  // Only the last word of the first page, then the first of the next.
  ASSERT_TRUE(overlay_.Write(TxOverlay::kPageSize - 2, "efgh", 4).ok());
  EXPECT_EQ(Changes(), (std::vector<Change>{{504, "ab" + std::string(12, '\0') + "cd"},
                                            {TxOverlay::kPageSize - 2, "ef"},
                                            {TxOverlay::kPageSize, "gh"}}));
}

// With a mapping a page is filled from the file only when first read, not when first
// written: the bytes around a write, in the words it covers in part and in the words it
// does not touch, must read as the file's, however the writes and reads interleave.
TEST_P(TxOverlayTest, ReadsAroundWritesSeeTheFile) {
  for (size_t i = 0; i < file_.size(); i++) file_[i] = char('A' + i % 26);
  const std::string before = file_;
  auto expect = [&](uint64_t off, size_t len, std::string model) {
    EXPECT_EQ(Read(off, len), model.substr(off, len)) << "at " << off;
  };
  std::string model = before;
  ASSERT_TRUE(overlay_.Write(101, "abc", 3).ok());  // inside one word
  model.replace(101, 3, "abc");
  ASSERT_TRUE(overlay_.Write(110, "0123456789", 10).ok());  // across two words, in part
  model.replace(110, 10, "0123456789");
  expect(96, 32, model);
  ASSERT_TRUE(overlay_.Write(99, "Z", 1).ok());  // after the page was read
  model.replace(99, 1, "Z");
  expect(0, TxOverlay::kPageSize, model);
  // A page written twice in part before it is read.
  const uint64_t page2 = 2 * TxOverlay::kPageSize;
  ASSERT_TRUE(overlay_.Write(page2 + 13, "xy", 2).ok());
  ASSERT_TRUE(overlay_.Write(page2 + 15, "z", 1).ok());
  model.replace(page2 + 13, 3, "xyz");
  expect(page2, TxOverlay::kPageSize, model);
  // Across the pages' boundary, then read across it.
  ASSERT_TRUE(overlay_.Write(page2 - 3, "<>", 2).ok());
  model.replace(page2 - 3, 2, "<>");
  expect(page2 - 16, 32, model);
  EXPECT_EQ(file_, before);  // nothing reached the file
  std::string applied = before;
  for (const Change& c : Changes()) applied.replace(c.off, c.bytes.size(), c.bytes);
  EXPECT_EQ(applied, model);
}

// Write's fast path (a page already held, whole words or filled) and ReadInPlace (one
// page, in place) skip the general paths' edge fills and page assembly: whatever mix of
// paths the writes and reads take, they must see the file around the transaction's bytes.
TEST_P(TxOverlayTest, FastPathsSeeTheFileAroundTheTransactionsBytes) {
  for (size_t i = 0; i < file_.size(); i++) file_[i] = char('a' + i % 23);
  const std::string before = file_;
  std::string model = file_;
  auto write = [&](uint64_t off, const std::string& bytes) {
    ASSERT_TRUE(overlay_.Write(off, bytes.data(), bytes.size()).ok());
    model.replace(off, bytes.size(), bytes);
  };
  auto in_place = [&](uint64_t off, size_t len) {
    return overlay_.ReadInPlace(off, len, reinterpret_cast<const uint8_t*>(file_.data()));
  };
  const uint64_t page = 3 * TxOverlay::kPageSize;
  // Not written: the file's own bytes, or nothing without a mapping to point into.
  EXPECT_EQ(in_place(page + 5, 7), reinterpret_cast<const uint8_t*>(file_.data()) + page + 5);
  EXPECT_EQ(overlay_.ReadInPlace(page + 5, 7, nullptr), nullptr);
  write(page + 8, "01234567");   // a new page, whole words
  write(page + 24, "ABCDEFGH");  // the page held, whole words: the fast path
  write(page + 41, "xyz");       // the page held, part of a word: the general path
  write(page + 40, "w");
  // Written: never the file's bytes, and the copy only once filled.
  const uint8_t* p = in_place(page + 8, 8);
  EXPECT_TRUE(p == nullptr || std::string(reinterpret_cast<const char*>(p), 8) == "01234567");
  EXPECT_EQ(in_place(page + TxOverlay::kPageSize - 4, 8), nullptr);  // across pages
  EXPECT_EQ(Read(page, 64), model.substr(page, 64));
  p = in_place(page + 20, 8);  // filled by that read
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(p), 8), model.substr(page + 20, 8));
  write(page + 61, "?!");  // a filled page, part of a word: the fast path
  EXPECT_EQ(Read(page, TxOverlay::kPageSize), model.substr(page, TxOverlay::kPageSize));
  // Past the old end nothing is the file's.
  overlay_.Grow(file_.size() + TxOverlay::kPageSize);
  EXPECT_EQ(in_place(file_.size() + 8, 8), nullptr);
  EXPECT_EQ(file_, before);  // nothing reached the file
  std::string applied = file_;
  for (const Change& c : Changes()) applied.replace(c.off, c.bytes.size(), c.bytes);
  EXPECT_EQ(applied, model);
}

// A transaction reuses the last one's overlay: after Reset nothing of the old pages may
// show, in reads or in changes, however many chunks and table slots they took.
TEST_P(TxOverlayTest, ResetForgetsEveryPageAndServesAgain) {
  overlay_.Grow(file_.size() + 100 * TxOverlay::kPageSize);
  for (uint64_t page = 0; page < 100; page++) {
    ASSERT_TRUE(overlay_.Write(page * TxOverlay::kPageSize + 3, "old", 3).ok());
  }
  ASSERT_FALSE(Changes().empty());
  file_.replace(3, 3, "now");
  overlay_.Reset(file_.size());
  EXPECT_EQ(overlay_.size(), file_.size());
  EXPECT_EQ(overlay_.dirty_pages(), 0u);
  EXPECT_TRUE(Changes().empty());
  EXPECT_EQ(Read(0, 8), file_.substr(0, 8));
  ASSERT_TRUE(overlay_.Write(TxOverlay::kPageSize + 5, "new", 3).ok());
  EXPECT_EQ(Read(TxOverlay::kPageSize, 16), file_.substr(TxOverlay::kPageSize, 5) + "new" +
                                                file_.substr(TxOverlay::kPageSize + 8, 8));
  EXPECT_EQ(Changes(), (std::vector<Change>{{TxOverlay::kPageSize + 5, "new"}}));
}

INSTANTIATE_TEST_SUITE_P(Base, TxOverlayTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Mapped" : "Copied";
                         });

}  // namespace
}  // namespace ptdb
