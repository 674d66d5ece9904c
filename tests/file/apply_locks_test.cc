// A commit applies its bundle in place while other handles keep reading. Readers of the
// hash groups it changes must wait until it is done; with mutexes, readers of every other
// group go on meanwhile (the commit holds only the groups it changed, not allrecord).
//
// The committing thread is held between "applying" and the first in-place write by a
// CommitIo that waits there, so the readers meet a commit that is applying right now.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "common/format.h"
#include "file/commit_io.h"
#include "file/file_transaction.h"
#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/support/lock_agent.h"
#include "tests/support/named_hash.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

constexpr unsigned kTestLifeSeconds = 120;
constexpr auto kMustFinish = std::chrono::seconds(20);
// How long a reader that ought to wait is given to (wrongly) get through.
constexpr auto kMustWait = std::chrono::milliseconds(300);

// A key of top-level group g.
std::string KeyOfGroup(unsigned g) {
  return KeyFor(uint64_t(g) << (64 - format::kTopGroupBits) | 0x123456789ULL);
}

// Real commit I/O that stops once the commit has marked itself applying (having named
// the groups it changes) and made `writes_after` more writes in place, until released.
// Process-wide, as the commit I/O seam is: one commit at a time.
class PausingCommitIo final : public CommitIo {
 public:
  PausingCommitIo(FileStorage* file, std::promise<void>* paused, std::shared_future<void> go,
                  int writes_after = 0)
      : real_(file), paused_(paused), go_(std::move(go)), left_(writes_after) {}
  Status Read(uint64_t off, size_t len, void* buf) override { return real_.Read(off, len, buf); }
  Status Write(uint64_t off, const void* data, size_t len) override {
    Status st = real_.Write(off, data, len);
    if (off == offsetof(format::Header, tx_applying) && !applying_) {
      applying_ = true;
    } else if (applying_ && paused_ != nullptr) {
      left_--;
    }
    if (applying_ && left_ <= 0 && paused_ != nullptr) {
      paused_->set_value();
      paused_ = nullptr;
      go_.wait();
    }
    return st;
  }
  Status Sync() override { return real_.Sync(); }
  Status Extend(uint64_t size) override { return real_.Extend(size); }
  uint64_t Size() override { return real_.Size(); }

 private:
  FileCommitIo real_;
  std::promise<void>* paused_;
  std::shared_future<void> go_;
  int left_;
  bool applying_ = false;
};

class ApplyLocksTest : public ::testing::TestWithParam<LockMode> {
 protected:
  void SetUp() override { SetTestDeadline(kTestLifeSeconds); }
  void TearDown() override {
    SetCommitIoFactoryForTesting(nullptr);
    SetTestDeadline(0);
  }

  void Open(int flags, std::unique_ptr<Db>* db, const std::string& name = "db.tdb") {
    PTDB_ASSERT_OK(TryOpen(flags, db, name));
  }
  Status TryOpen(int flags, std::unique_ptr<Db>* db, const std::string& name) {
    Options options;
    options.hash = NamedHash;
    options.open_flags = flags;
    options.lock_mode = GetParam();
    return Db::Open(dir_.File(name), options, db);
  }

  static std::string Parsed(Db* db, const std::string& key) {
    std::string got;
    Status st = db->ParseRecord(key, [&](std::string_view, std::string_view v) {
      got = std::string(v);
      return Status::OK();
    });
    return st.ok() ? got : "error: " + st.ToString();
  }
  static std::string Fetched(Db* db, const std::string& key) {
    std::string got;
    Status st = db->Fetch(key, &got);
    return st.ok() ? got : "error: " + st.ToString();
  }

  TempDir dir_;
};

TEST_P(ApplyLocksTest, ReadersOfTheChangedGroupWaitAndOthersGoOn) {
  const std::string changed = KeyOfGroup(3), other = KeyOfGroup(90);
  std::unique_ptr<Db> writer, reader;
  ASSERT_NO_FATAL_FAILURE(Open(O_RDWR | O_CREAT, &writer));
  // A second open in this process: its own handle, the same file and locks.
  ASSERT_NO_FATAL_FAILURE(Open(O_RDWR, &reader));
  PTDB_ASSERT_OK(writer->Store(changed, "old"));
  PTDB_ASSERT_OK(writer->Store(other, "untouched"));

  std::promise<void> paused;
  std::promise<void> release;
  std::shared_future<void> go = release.get_future().share();
  SetCommitIoFactoryForTesting([&](FileStorage* f) -> std::unique_ptr<CommitIo> {
    return std::make_unique<PausingCommitIo>(f, &paused, go);
  });
  std::future<Status> commit = std::async(std::launch::async, [&] {
    PTDB_RETURN_IF_ERROR(writer->TransactionStart());
    PTDB_RETURN_IF_ERROR(writer->Store(changed, "new"));
    return writer->TransactionCommit();
  });
  ASSERT_EQ(paused.get_future().wait_for(kMustFinish), std::future_status::ready)
      << "the commit never reached its apply";

  std::future<std::string> parse_changed =
      std::async(std::launch::async, [&] { return Parsed(reader.get(), changed); });
  std::future<std::string> fetch_changed =
      std::async(std::launch::async, [&] { return Fetched(reader.get(), changed); });
  std::future<std::string> parse_other =
      std::async(std::launch::async, [&] { return Parsed(reader.get(), other); });
  std::future<std::string> fetch_other =
      std::async(std::launch::async, [&] { return Fetched(reader.get(), other); });
  if (GetParam() == LockMode::kMutex) {
    EXPECT_EQ(parse_other.wait_for(kMustFinish), std::future_status::ready)
        << "parse_record of another group waited for the apply";
    EXPECT_EQ(fetch_other.wait_for(kMustFinish), std::future_status::ready)
        << "fetch of another group waited for the apply";
  }
  EXPECT_EQ(parse_changed.wait_for(kMustWait), std::future_status::timeout)
      << "parse_record read a group while a commit was changing it: "
      << (parse_changed.wait_for(std::chrono::seconds(0)) == std::future_status::ready
              ? parse_changed.get()
              : "");
  EXPECT_EQ(fetch_changed.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "fetch read a group while a commit was changing it";

  release.set_value();
  PTDB_EXPECT_OK(commit.get());
  if (parse_changed.valid()) {
    EXPECT_EQ(parse_changed.get(), "new");
  }
  EXPECT_EQ(fetch_changed.get(), "new");
  EXPECT_EQ(parse_other.get(), "untouched");
  EXPECT_EQ(fetch_other.get(), "untouched");
  SetCommitIoFactoryForTesting(nullptr);
  PTDB_EXPECT_OK(reader->Check());
}

// An opener loads the zones without a lock that keeps a committer out. A commit that
// added a zone must never show it a link to a zone record not written yet, whichever
// write of the apply it comes after.
TEST_P(ApplyLocksTest, AnOpenerDuringAnApplyFindsEveryZoneWhole) {
  const std::string value(2000, 'v');
  int paused_at = 0;
  for (int k = 0;; k++) {
    const std::string name = "grow" + std::to_string(k) + ".tdb";
    std::unique_ptr<Db> writer;
    ASSERT_NO_FATAL_FAILURE(Open(O_RDWR | O_CREAT, &writer, name));
    std::promise<void> paused, release;
    std::shared_future<void> go = release.get_future().share();
    SetCommitIoFactoryForTesting([&](FileStorage* f) -> std::unique_ptr<CommitIo> {
      return std::make_unique<PausingCommitIo>(f, &paused, go, k);
    });
    std::future<Status> commit = std::async(std::launch::async, [&] {
      PTDB_RETURN_IF_ERROR(writer->TransactionStart());
      // Far more than the first zone holds: the transaction adds zones.
      for (int i = 0; i < 100; i++) {
        PTDB_RETURN_IF_ERROR(writer->Store(KeyOfGroup(unsigned(i) % 128), value + char(i)));
      }
      return writer->TransactionCommit();
    });
    std::future<void> reached = paused.get_future();
    while (reached.wait_for(std::chrono::milliseconds(1)) != std::future_status::ready &&
           commit.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
    }
    const bool stopped = reached.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    if (stopped) {
      paused_at++;
      std::unique_ptr<Db> opener;
      Status st = TryOpen(O_RDWR, &opener, name);
      EXPECT_TRUE(st.ok()) << "open after " << k << " writes of the apply: " << st.ToString();
    }
    release.set_value();
    PTDB_ASSERT_OK(commit.get());
    SetCommitIoFactoryForTesting(nullptr);
    PTDB_EXPECT_OK(writer->Check());
    if (!stopped || HasFailure()) break;
  }
  EXPECT_GT(paused_at, 10) << "the commit made too few writes to test";
}

INSTANTIATE_TEST_SUITE_P(Modes, ApplyLocksTest,
                         ::testing::Values(LockMode::kMutex, LockMode::kFcntl),
                         [](const ::testing::TestParamInfo<LockMode>& info) {
                           return info.param == LockMode::kMutex ? "Mutex" : "Fcntl";
                         });

}  // namespace
}  // namespace ptdb::test
