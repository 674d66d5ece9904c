// Damaged files and invalid arguments given to the file backend: every one must give
// the right error, leave the file's bytes alone, and never crash or hang.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/format.h"
#include "common/hash.h"
#include "common/record.h"
#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

using format::Header;
using format::kHeaderSize;

// Far more than any step needs on an intact file of this size, even under sanitizers.
constexpr int kDeadlineSeconds = 20;

template <class T>
T Load(const std::string& bytes, uint64_t off) {
  T v{};
  if (off <= bytes.size() && sizeof(T) <= bytes.size() - off)
    std::memcpy(&v, &bytes[off], sizeof(T));
  return v;
}

template <class T>
void Put(std::string* bytes, uint64_t off, const T& v) {
  ASSERT_LE(off + sizeof(T), bytes->size());
  std::memcpy(&(*bytes)[off], &v, sizeof(T));
}

// A record found by walking the zones the way format.h lays them out.
struct RawRecord {
  uint64_t off;
  uint64_t size;
  bool free;
  uint16_t magic;  // of a used-header record
};

// Walks every zone and the records in it. Fails the test if the layout is not as
// documented (the walk is the test's own reading of format.h).
std::vector<RawRecord> ScanRecords(const std::string& bytes) {
  std::vector<RawRecord> out;
  const Header h = Load<Header>(bytes, 0);
  uint64_t zone = h.first_zone;
  for (int zones = 0; zone != 0 && zones < 100000; zones++) {
    const format::ZoneBody body = Load<format::ZoneBody>(bytes, zone + format::kUsedHeaderSize);
    const uint64_t end = zone + body.zone_size;
    EXPECT_EQ(RecordMagic(Load<uint64_t>(bytes, zone)), format::kZoneMagic) << zone;
    EXPECT_LE(end, bytes.size());
    uint64_t off = zone + format::kZoneRecordSize;
    while (off < end && off < bytes.size()) {
      const uint64_t word0 = Load<uint64_t>(bytes, off);
      RawRecord r{off, 0, IsFreeRecord(word0), 0};
      if (r.free) {
        r.size = format::kUsedHeaderSize + FreeLen(Load<format::FreeRecord>(bytes, off));
      } else {
        const RecordInfo info = DecodeUsedHeader(Load<format::UsedHeader>(bytes, off));
        r.magic = info.magic;
        r.size = info.TotalSize();
      }
      if (r.size < format::kMinRecord) {
        ADD_FAILURE() << "record at " << off << " is " << r.size << " bytes";
        return out;
      }
      out.push_back(r);
      off += r.size;
    }
    zone = body.next_zone;
  }
  return out;
}

// Where a child process reports each step it has checked, as one line each.
int g_report_fd = -1;

// Checks results in a child process, where gtest assertions would be lost: every step
// is reported at once, so the parent can also tell how far a hung child got.
class Problems {
 public:
  void Expect(bool ok, const std::string& what) {
    const std::string line = (ok ? "ok: " : "FAILED: ") + what + "\n";
    if (write(g_report_fd, line.data(), line.size()) < 0) _exit(3);
    failed_ |= !ok;
  }
  void ExpectCode(const Status& s, Error code, const std::string& what) {
    Expect(s.code() == code, what + ": got " + s.ToString() + ", want " + ErrorString(code));
  }
  // kCorrupt, or an answer that damage may legitimately leave possible.
  void ExpectCorruptOr(const Status& s, std::initializer_list<Error> also,
                       const std::string& what) {
    bool ok = s.code() == Error::kCorrupt;
    for (Error e : also) ok |= s.code() == e;
    Expect(ok, what + ": got " + s.ToString());
  }
  bool failed() const { return failed_; }

 private:
  bool failed_ = false;
};

// Runs fn in a child process, so a crash or a hang is a test failure rather than the end
// of the test binary.
void RunIsolated(const std::function<void(Problems*)>& fn) {
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  fflush(nullptr);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(pipefd[0]);
    g_report_fd = pipefd[1];
    Problems p;
    fn(&p);
    _exit(p.failed() ? 1 : 0);
  }
  close(pipefd[1]);
  // Drain the reports while waiting, so a chatty child never blocks on a full pipe.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kDeadlineSeconds);
  std::string report;
  bool eof = false;
  while (!eof && std::chrono::steady_clock::now() < deadline) {
    struct pollfd pfd = {pipefd[0], POLLIN, 0};
    if (poll(&pfd, 1, 10) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(pipefd[0], buf, sizeof(buf));
    if (n > 0) {
      report.append(buf, size_t(n));
    } else {
      eof = true;
    }
  }
  close(pipefd[0]);
  int status = 0;
  if (!eof) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    if (!report.empty() && report.back() == '\n') report.pop_back();
    const size_t last = report.rfind('\n');
    FAIL() << "hung: no answer within " << kDeadlineSeconds << " s, in the step after \""
           << (last == std::string::npos ? report : report.substr(last + 1)) << "\"";
  }
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) FAIL() << "crashed with signal " << WTERMSIG(status) << "\n" << report;
  std::string failures;
  for (size_t pos = 0; (pos = report.find("FAILED: ", pos)) != std::string::npos; pos++) {
    failures += report.substr(pos, report.find('\n', pos) - pos + 1);
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << failures;
}

class BadInputTest : public ::testing::Test {
 protected:
  Options WithFlags(int open_flags, unsigned flags = 0) const {
    Options o;
    o.open_flags = open_flags;
    o.flags = flags;
    return o;
  }
  Status OpenPath(const Options& options, std::unique_ptr<Db>* db) const {
    return Db::Open(path_, options, db);
  }

  // Creates a valid database of `n` records "key-<i>" and returns its bytes.
  std::string MakeDb(int n, HashFn hash = {}) {
    Options o = WithFlags(O_RDWR | O_CREAT | O_TRUNC);
    o.hash = std::move(hash);
    std::unique_ptr<Db> db;
    const Status s = OpenPath(o, &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) return {};
    for (int i = 0; i < n; i++) {
      const Status st = db->Store("key-" + std::to_string(i), std::string(size_t(i % 50), 'v'));
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
    EXPECT_TRUE(db->Check().ok());
    db.reset();
    return ReadDataBytes(path_);
  }

  // Open must fail with `code`, read-write and read-only, without changing the file.
  void ExpectOpenFails(Error code, const std::string& what) {
    const std::string before = ReadDataBytes(path_);
    for (int open_flags : {O_RDWR, O_RDONLY}) {
      std::unique_ptr<Db> db;
      const Status s = OpenPath(WithFlags(open_flags), &db);
      EXPECT_EQ(s.code(), code) << what << (open_flags == O_RDWR ? " (O_RDWR): " : " (O_RDONLY): ")
                                << s.ToString();
      EXPECT_EQ(db, nullptr);
      EXPECT_TRUE(ReadDataBytes(path_) == before) << what << ": a failed open changed the file";
    }
  }

  // What damage must make the reads report: Check always finds it; Fetch of the given
  // keys and a full walk must report it when it lies on their path.
  struct Damage {
    bool on_key_path = false;  // every given key's lookup meets it
    bool on_walk = false;      // a full traverse meets it
    bool key_intact = false;   // Exists, which needs only the key, may still answer
  };

  // Opens the damaged file in a child and reads everything; a crash, a hang or a
  // wrong answer is a failure. Open may refuse the file, with kCorrupt.
  void ExpectReadsSurvive(const std::vector<std::string>& keys, Damage damage,
                          const std::string& what) {
    const std::string before = ReadDataBytes(path_);
    for (unsigned flags : {0u, unsigned(kNoMmap)}) {
      SCOPED_TRACE(what + (flags ? " (kNoMmap)" : " (mmap)"));
      RunIsolated([&](Problems* p) {
        std::unique_ptr<Db> db;
        const Status open = OpenPath(WithFlags(O_RDWR, flags), &db);
        p->ExpectCorruptOr(open, {Error::kSuccess}, "Open");
        if (!open.ok()) return;
        for (const std::string& key : keys) {
          std::string value;
          bool exists;
          const Status fetch = db->Fetch(key, &value);
          const Status ex = db->Exists(key, &exists);
          const Status parse =
              db->ParseRecord(key, [](std::string_view, std::string_view) { return Status::OK(); });
          p->Expect(parse.code() == fetch.code(), "ParseRecord " + key + " answers " +
                                                      parse.ToString() + ", Fetch " +
                                                      fetch.ToString());
          if (damage.on_key_path) {
            p->ExpectCode(fetch, Error::kCorrupt, "Fetch " + key);
            if (damage.key_intact) {
              p->ExpectCorruptOr(ex, {Error::kSuccess}, "Exists " + key);
            } else {
              p->ExpectCode(ex, Error::kCorrupt, "Exists " + key);
            }
          } else {
            p->ExpectCorruptOr(fetch, {Error::kSuccess, Error::kNoExist}, "Fetch " + key);
            p->ExpectCorruptOr(ex, {Error::kSuccess}, "Exists " + key);
          }
        }
        uint64_t visited = 0;
        const Status walk =
            db->Traverse([&](std::string_view, std::string_view) { return ++visited < 10000000; });
        if (damage.on_walk) {
          p->ExpectCode(walk, Error::kCorrupt, "Traverse");
        } else {
          p->ExpectCorruptOr(walk, {Error::kSuccess}, "Traverse");
        }
        std::string key;
        Status it = db->FirstKey(&key);
        for (int i = 0; it.ok() && i < 100000; i++) it = db->NextKey(&key);
        p->ExpectCorruptOr(it, {Error::kNoExist}, "FirstKey/NextKey");
        p->ExpectCode(db->Check(), Error::kCorrupt, "Check");
      });
      EXPECT_TRUE(ReadDataBytes(path_) == before) << "reading a damaged file changed it";
    }
  }

  TempDir dir_;
  std::string path_ = dir_.File("bad.tdb");
};

std::vector<std::string> NumberedKeys(int n) {
  std::vector<std::string> keys;
  for (int i = 0; i < n; i++) keys.push_back("key-" + std::to_string(i));
  return keys;
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = char(rng());
  return s;
}

TEST_F(BadInputTest, TruncatedHeaderFailsOpen) {
  const std::string good = MakeDb(50);
  ASSERT_GT(good.size(), kHeaderSize);
  for (uint64_t len : {uint64_t(1), uint64_t(64), uint64_t(100), uint64_t(512), kHeaderSize - 1}) {
    SCOPED_TRACE("cut to " + std::to_string(len));
    WriteFileBytes(path_, good.substr(0, len));
    ExpectOpenFails(Error::kCorrupt, "truncated header");
  }
}

TEST_F(BadInputTest, TruncatedRecordAreaIsCorrupt) {
  const std::string good = MakeDb(300);
  const std::vector<RawRecord> records = ScanRecords(good);
  ASSERT_FALSE(records.empty());
  // Cut inside the zone record, inside a used record, and one byte short.
  std::vector<uint64_t> cuts = {kHeaderSize, kHeaderSize + 8, good.size() - 1};
  for (const RawRecord& r : records) {
    if (!r.free && r.magic == format::kUsedMagic && r.size > 16) {
      cuts.push_back(r.off + r.size / 2);
      break;
    }
  }
  for (uint64_t len : cuts) {
    SCOPED_TRACE("cut to " + std::to_string(len));
    WriteFileBytes(path_, good.substr(0, len));
    ExpectReadsSurvive(NumberedKeys(300), {}, "truncated records");
  }
}

TEST_F(BadInputTest, RandomBytesAreNotADatabase) {
  for (size_t size : {size_t(1), size_t(8), size_t(100), size_t(4096), size_t(kHeaderSize - 1),
                      size_t(kHeaderSize), size_t(kHeaderSize + 1000), size_t(65536)}) {
    SCOPED_TRACE("size " + std::to_string(size));
    WriteFileBytes(path_, RandomBytes(size, size));
    ExpectOpenFails(Error::kCorrupt, "random bytes");
  }
}

TEST_F(BadInputTest, BadMagicOrVersionFailsOpen) {
  const std::string good = MakeDb(10);
  std::string bad = good;
  bad[3] ^= 0x20;
  WriteFileBytes(path_, bad);
  ExpectOpenFails(Error::kCorrupt, "bad magic");

  bad = good;
  Put(&bad, offsetof(Header, version), format::kVersion + 1);
  WriteFileBytes(path_, bad);
  ExpectOpenFails(Error::kCorrupt, "unknown version");

  bad = good;
  Put(&bad, offsetof(Header, version), __builtin_bswap64(format::kVersion));
  WriteFileBytes(path_, bad);
  ExpectOpenFails(Error::kCorrupt, "other byte order");
}

TEST_F(BadInputTest, RandomBodyBehindValidHeader) {
  const std::string good = MakeDb(200);
  for (uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    // Keep the header's identity words; randomise the hash table and every record.
    std::string bad = good.substr(0, format::kTopHashOffset) +
                      RandomBytes(good.size() - format::kTopHashOffset, seed);
    WriteFileBytes(path_, bad);
    ExpectReadsSurvive(NumberedKeys(200), {false, true}, "random body");
  }
}

// The slot in the top-level table where `key` starts, per the hash-tree rules.
struct TopSlot {
  unsigned index;  // into header.top_hash
  unsigned bucket;
  unsigned extra;  // the 7 hash bits after the top level's 10
};

TopSlot SlotOf(const std::string& bytes, const std::string& key) {
  const Header h = Load<Header>(bytes, 0);
  const uint64_t hash = JenkinsHash64(key.data(), key.size(), h.hash_seed);
  const unsigned group = unsigned(hash >> 57);
  const unsigned bucket = unsigned(hash >> 54) & 7;
  return {group * 8 + bucket, bucket, unsigned(hash >> 47) & 0x7F};
}

TEST_F(BadInputTest, TopHashEntryOutsideTheFile) {
  const std::string good = MakeDb(100);
  const std::string key = "key-17";
  const TopSlot slot = SlotOf(good, key);
  const uint64_t past_end = (good.size() + 4096) & ~7ULL;
  const uint64_t entry_off = format::kTopHashOffset + 8 * uint64_t(slot.index);
  struct Case {
    const char* what;
    uint64_t entry;
    // Outside the file the lookup cannot even read a header. Inside it, a lookup may
    // reject the bytes by their hash bits before it would notice the bad magic.
    bool outside;
  };
  const Case cases[] = {
      {"record past the end", format::MakeEntry(past_end, slot.bucket, slot.extra, false), true},
      {"record at the last offset",
       format::MakeEntry(format::kEntryOffsetMask, slot.bucket, slot.extra, false), true},
      {"record in the last bytes",
       format::MakeEntry((good.size() - 8) & ~7ULL, slot.bucket, slot.extra, false), true},
      {"sub-table past the end", format::MakeEntry(past_end, slot.bucket, 0, true), true},
      {"record inside the header", format::MakeEntry(8, slot.bucket, slot.extra, false), false},
      {"sub-table inside the header", format::MakeEntry(64, slot.bucket, 0, true), false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    std::string bad = good;
    Put(&bad, entry_off, c.entry);
    WriteFileBytes(path_, bad);
    ExpectReadsSurvive({key}, {c.outside, true}, c.what);
  }
}

TEST_F(BadInputTest, EveryTopHashEntryOutsideTheFile) {
  const std::string good = MakeDb(100);
  std::string bad = good;
  for (unsigned i = 0; i < format::kTopSlots; i++) {
    const uint64_t off = (good.size() + 8 * uint64_t(i)) & ~7ULL;
    Put(&bad, format::kTopHashOffset + 8 * uint64_t(i),
        format::MakeEntry(off, i % 8, i % 128, i % 3 == 0));
  }
  WriteFileBytes(path_, bad);
  ExpectReadsSurvive(NumberedKeys(100), {false, true}, "all entries outside");
}

// A record header claiming more bytes than the file holds: reads must say kCorrupt
// rather than trust the length (for instance by allocating it).
TEST_F(BadInputTest, RecordLengthsPastTheEnd) {
  const std::string good = MakeDb(50);
  const RawRecord* victim = nullptr;
  const std::vector<RawRecord> records = ScanRecords(good);
  for (const RawRecord& r : records) {
    if (!r.free && r.magic == format::kUsedMagic) {
      victim = &r;
      break;
    }
  }
  ASSERT_NE(victim, nullptr);
  const RecordInfo info = DecodeUsedHeader(Load<format::UsedHeader>(good, victim->off));
  const std::string key = good.substr(victim->off + format::kUsedHeaderSize, info.key_len);
  struct Case {
    const char* what;
    uint64_t key_len, data_len;
    Damage damage;
  };
  const Case cases[] = {
      {"data length 2^40", info.key_len, 1ULL << 40, {true, true, true}},
      {"data length past the file", info.key_len, good.size(), {true, true, true}},
      // A lookup may reject the record on its key length before reading anything.
      {"key length 2^31", (1ULL << 31) + 1, info.data_len, {false, true}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    RecordInfo bad_info = info;
    bad_info.key_len = c.key_len;
    bad_info.data_len = c.data_len;
    format::UsedHeader h;
    ASSERT_TRUE(EncodeUsedHeader(bad_info, &h));
    std::string bad = good;
    Put(&bad, victim->off, h);
    WriteFileBytes(path_, bad);
    ExpectReadsSurvive({key}, c.damage, c.what);
  }
}

uint64_t ConstantHash(const void*, size_t, uint64_t) { return 0x0123456789ABCDEFULL; }

// A damaged file whose tables loop: every walk must stop with kCorrupt, not spin.
TEST_F(BadInputTest, LoopingChainOrSubTableDoesNotHang) {
  const std::string good = MakeDb(200, ConstantHash);
  const std::vector<RawRecord> records = ScanRecords(good);
  std::vector<uint64_t> chains, subgroups;
  for (const RawRecord& r : records) {
    if (r.free) continue;
    if (r.magic == format::kChainMagic) chains.push_back(r.off);
    if (r.magic == format::kSubHashMagic) subgroups.push_back(r.off);
  }
  ASSERT_FALSE(chains.empty()) << "a constant hash must build chains";
  ASSERT_FALSE(subgroups.empty());

  std::vector<std::pair<std::string, std::string>> damaged;
  // The last chain of the list points back at itself.
  for (uint64_t c : chains) {
    const uint64_t next_off = c + format::kUsedHeaderSize + 8 * format::kChainSlots;
    if (Load<uint64_t>(good, next_off) != 0) continue;
    std::string bad = good;
    Put(&bad, next_off, c);
    damaged.emplace_back("chain loops to itself", bad);
    bad = good;
    Put(&bad, next_off, chains.front());
    damaged.emplace_back("chain loops to the first", bad);
    break;
  }
  // A sub-table entry that points at its own table.
  for (uint64_t g : subgroups) {
    const RecordInfo info = DecodeUsedHeader(Load<format::UsedHeader>(good, g));
    for (uint64_t slot = 0; slot < info.data_len / 8 && damaged.size() < 3; slot++) {
      const uint64_t off = g + format::kUsedHeaderSize + 8 * slot;
      const uint64_t e = Load<uint64_t>(good, off);
      if (!format::EntryIsSubHash(e)) continue;
      std::string bad = good;
      Put(&bad, off, format::MakeEntry(g, format::EntryBucket(e), format::EntryExtra(e), true));
      damaged.emplace_back("sub-table points at itself", bad);
    }
  }
  ASSERT_EQ(damaged.size(), 3u);

  for (const auto& [what, bytes] : damaged) {
    SCOPED_TRACE(what);
    WriteFileBytes(path_, bytes);
    RunIsolated([&](Problems* p) {
      Options o = WithFlags(O_RDWR);
      o.hash = ConstantHash;
      std::unique_ptr<Db> db;
      const Status open = OpenPath(o, &db);
      p->ExpectCorruptOr(open, {Error::kSuccess}, "Open");
      if (!open.ok()) return;
      std::string value;
      p->ExpectCorruptOr(db->Fetch("absent key", &value), {Error::kNoExist}, "Fetch absent");
      // A loop can cut a present key off its path, so it may look absent.
      p->ExpectCorruptOr(db->Fetch("key-199", &value), {Error::kSuccess, Error::kNoExist},
                         "Fetch present");
      p->ExpectCode(db->Traverse([](std::string_view, std::string_view) { return true; }),
                    Error::kCorrupt, "Traverse");
      // 200 records: a longer walk is going round the loop.
      std::string key;
      Status it = db->FirstKey(&key);
      for (int i = 0; it.ok() && i < 10000; i++) it = db->NextKey(&key);
      p->ExpectCorruptOr(it, {Error::kNoExist}, "FirstKey/NextKey");
      p->ExpectCode(db->Check(), Error::kCorrupt, "Check");
      // Writes walk the same tables; they too must stop.
      p->ExpectCorruptOr(db->Store("new key", "v"), {Error::kSuccess}, "Store");
      p->ExpectCorruptOr(db->Delete("absent key"), {Error::kNoExist}, "Delete");
    });
  }
}

TEST_F(BadInputTest, WrongHashFunctionFailsOpen) {
  MakeDb(20, ConstantHash);
  const std::string before = ReadDataBytes(path_);
  std::unique_ptr<Db> db;
  const Status s = OpenPath(WithFlags(O_RDWR), &db);
  EXPECT_TRUE(s.code() == Error::kEinval || s.code() == Error::kCorrupt) << s.ToString();
  EXPECT_TRUE(MentionsWord(s.message(), "hash")) << s.ToString();
  EXPECT_TRUE(ReadDataBytes(path_) == before);
}

TEST_F(BadInputTest, ZeroLengthFileWithoutCreateFails) {
  WriteFileBytes(path_, "");
  for (int open_flags : {O_RDWR, O_RDONLY}) {
    std::unique_ptr<Db> db;
    const Status s = OpenPath(WithFlags(open_flags), &db);
    EXPECT_EQ(s.code(), Error::kCorrupt) << s.ToString();
    EXPECT_TRUE(MentionsWord(s.message(), "not a")) << s.ToString();
    EXPECT_EQ(ReadDataBytes(path_).size(), 0u);
  }
}

TEST_F(BadInputTest, ZeroLengthFileWithCreateIsInitialised) {
  WriteFileBytes(path_, "");
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(OpenPath(WithFlags(O_RDWR | O_CREAT), &db));
  PTDB_ASSERT_OK(db->Check());
  PTDB_ASSERT_OK(db->Store("k", "v"));
  db.reset();
  EXPECT_GE(ReadDataBytes(path_).size(), kHeaderSize);
  PTDB_ASSERT_OK(OpenPath(WithFlags(O_RDONLY), &db));
  EXPECT_EQ(DumpDb(db.get()), (Dump{{"k", "v"}}));
}

TEST_F(BadInputTest, WriteOnlyIsEinval) {
  std::unique_ptr<Db> db;
  EXPECT_EQ(OpenPath(WithFlags(O_WRONLY | O_CREAT), &db).code(), Error::kEinval);
  struct stat st;
  EXPECT_NE(stat(path_.c_str(), &st), 0) << "a refused open created the file";
  MakeDb(5);
  const std::string before = ReadDataBytes(path_);
  EXPECT_EQ(OpenPath(WithFlags(O_WRONLY), &db).code(), Error::kEinval);
  EXPECT_TRUE(ReadDataBytes(path_) == before);
}

TEST_F(BadInputTest, UnknownOpenFlagsAreEinval) {
  for (unsigned flag : {1u << 20, 1u << 31, unsigned(kCantCheck), 16u, 1024u, 1u}) {
    SCOPED_TRACE("flag " + std::to_string(flag));
    std::unique_ptr<Db> db;
    EXPECT_EQ(OpenPath(WithFlags(O_RDWR | O_CREAT, flag), &db).code(), Error::kEinval);
    EXPECT_EQ(OpenPath(WithFlags(O_RDWR | O_CREAT, kInternal | flag), &db).code(), Error::kEinval);
  }
  struct stat st;
  EXPECT_NE(stat(path_.c_str(), &st), 0) << "a refused open created the file";
}

// TDB2 refuses kRdonly together with O_RDWR (open O_RDONLY, or add the flag later).
TEST_F(BadInputTest, RdonlyWithReadWriteIsEinval) {
  MakeDb(5);
  const std::string before = ReadDataBytes(path_);
  std::unique_ptr<Db> db;
  EXPECT_EQ(OpenPath(WithFlags(O_RDWR, kRdonly), &db).code(), Error::kEinval);
  EXPECT_TRUE(ReadDataBytes(path_) == before);
  PTDB_ASSERT_OK(OpenPath(WithFlags(O_RDONLY, kRdonly), &db));
  EXPECT_EQ(db->Store("k", "v").code(), Error::kRdonly);
}

TEST_F(BadInputTest, MissingFileWithoutCreateIsIo) {
  std::unique_ptr<Db> db;
  EXPECT_EQ(OpenPath(WithFlags(O_RDWR), &db).code(), Error::kIo);
  EXPECT_EQ(OpenPath(WithFlags(O_RDONLY), &db).code(), Error::kIo);
  struct stat st;
  EXPECT_NE(stat(path_.c_str(), &st), 0);
}

// Lengths that cannot be stored must be refused before a byte of them is read: the
// views below cover one real byte (a read past it crashes, in the child).
TEST_F(BadInputTest, OversizedKeyOrValueIsEinval) {
  MakeDb(5);
  const std::string before = ReadDataBytes(path_);
  RunIsolated([&](Problems* p) {
    std::unique_ptr<Db> db;
    p->ExpectCode(OpenPath(WithFlags(O_RDWR), &db), Error::kSuccess, "Open");
    if (!db) return;
    static const char kOne[1] = {'x'};
    const std::string_view key_4g(kOne, size_t(1) << 32);
    const std::string_view value_2p56(kOne, size_t(1) << 56);
    p->ExpectCode(db->Store(key_4g, "v"), Error::kEinval, "Store 4 GiB key");
    p->ExpectCode(db->Store(key_4g, "v", StoreMode::kInsert), Error::kEinval, "Insert 4 GiB key");
    p->ExpectCode(db->Store("k", value_2p56), Error::kEinval, "Store 2^56 value");
    p->ExpectCode(db->Append(key_4g, "v"), Error::kEinval, "Append 4 GiB key");
    p->ExpectCode(db->Append("key-1", value_2p56), Error::kEinval, "Append 2^56 to a record");
    p->ExpectCode(db->Append("new", value_2p56), Error::kEinval, "Append 2^56 to a new key");
    p->ExpectCode(db->Check(), Error::kSuccess, "Check");
  });
  EXPECT_TRUE(ReadDataBytes(path_) == before);
}

// A key that cannot be stored cannot be present either; looking it up must not read it.
TEST_F(BadInputTest, OversizedKeyLookupsDoNotReadTheKey) {
  MakeDb(5);
  RunIsolated([&](Problems* p) {
    std::unique_ptr<Db> db;
    p->ExpectCode(OpenPath(WithFlags(O_RDWR), &db), Error::kSuccess, "Open");
    if (!db) return;
    static const char kOne[1] = {'x'};
    const std::string_view key_4g(kOne, size_t(1) << 32);
    auto refused = [&](const Status& s, const char* what) {
      p->Expect(s.code() == Error::kEinval || s.code() == Error::kNoExist,
                std::string(what) + ": " + s.ToString());
    };
    std::string value;
    bool exists = false;
    refused(db->Fetch(key_4g, &value), "Fetch");
    const Status ex = db->Exists(key_4g, &exists);
    if (!ex.ok() || exists) refused(ex, "Exists");
    refused(db->Delete(key_4g), "Delete");
    refused(
        db->ParseRecord(key_4g, [](std::string_view, std::string_view) { return Status::OK(); }),
        "ParseRecord");
    p->ExpectCode(db->Check(), Error::kSuccess, "Check");
  });
}

// Carves a capability record out of the end of the largest free record, so the free
// lists stay valid, and links it at the head of the header's capability list.
void AddCapability(std::string* bytes, uint64_t type) {
  const std::vector<RawRecord> records = ScanRecords(*bytes);
  const RawRecord* best = nullptr;
  for (const RawRecord& r : records) {
    if (r.free && (!best || r.size > best->size)) best = &r;
  }
  ASSERT_NE(best, nullptr) << "no free record to carve";
  constexpr uint64_t kCapSize = format::kUsedHeaderSize + sizeof(format::CapabilityBody);
  format::FreeRecord f = Load<format::FreeRecord>(*bytes, best->off);
  const uint64_t len = FreeLen(f);
  ASSERT_GE(len, kCapSize + format::kMinDataLen);
  const uint64_t new_len = len - kCapSize;
  ASSERT_EQ(SizeToBucket(new_len), SizeToBucket(len)) << "carving would change the free list";
  f.bucket_and_len = FreeWord1(FreeBucket(f), new_len);
  Put(bytes, best->off, f);

  const uint64_t cap_off = best->off + format::kUsedHeaderSize + new_len;
  RecordInfo info;
  info.magic = format::kCapMagic;
  info.data_len = sizeof(format::CapabilityBody);
  format::UsedHeader uh;
  ASSERT_TRUE(EncodeUsedHeader(info, &uh));
  Put(bytes, cap_off, uh);
  format::CapabilityBody body;
  body.type = type;
  body.next = Load<Header>(*bytes, 0).capabilities;
  Put(bytes, cap_off + format::kUsedHeaderSize, body);
  Put(bytes, offsetof(Header, capabilities), cap_off);
}

TEST_F(BadInputTest, UnknownCapabilityWithoutBitsIsHarmless) {
  std::string bytes = MakeDb(40);
  AddCapability(&bytes, 0x42);
  ASSERT_FALSE(HasFatalFailure());
  WriteFileBytes(path_, bytes);
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(OpenPath(WithFlags(O_RDWR), &db));
  EXPECT_EQ(db->GetFlags() & kCantCheck, 0u);
  PTDB_ASSERT_OK(db->Check());
  EXPECT_EQ(DumpDb(db.get()).size(), 40u);
  PTDB_ASSERT_OK(db->Store("more", std::string(5000, 'm')));
  PTDB_EXPECT_OK(db->Check());
}

TEST_F(BadInputTest, CapabilityNoOpen) {
  std::string bytes = MakeDb(10);
  AddCapability(&bytes, format::kCapNoOpen | 7);
  ASSERT_FALSE(HasFatalFailure());
  WriteFileBytes(path_, bytes);
  ExpectOpenFails(Error::kIo, "kCapNoOpen");
}

TEST_F(BadInputTest, CapabilityNoWrite) {
  std::string bytes = MakeDb(10);
  AddCapability(&bytes, format::kCapNoWrite | 7);
  ASSERT_FALSE(HasFatalFailure());
  WriteFileBytes(path_, bytes);
  std::unique_ptr<Db> db;
  EXPECT_EQ(OpenPath(WithFlags(O_RDWR), &db).code(), Error::kRdonly);
  EXPECT_TRUE(ReadDataBytes(path_) == bytes);
  PTDB_ASSERT_OK(OpenPath(WithFlags(O_RDONLY), &db));
  EXPECT_NE(db->GetFlags() & kRdonly, 0u);
  EXPECT_EQ(DumpDb(db.get()).size(), 10u);
  PTDB_EXPECT_OK(db->Check());
  db.reset();
  EXPECT_TRUE(ReadDataBytes(path_) == bytes);
}

TEST_F(BadInputTest, CapabilityNoCheck) {
  std::string bytes = MakeDb(10);
  AddCapability(&bytes, format::kCapNoCheck | 7);
  ASSERT_FALSE(HasFatalFailure());
  WriteFileBytes(path_, bytes);
  {
    std::unique_ptr<Db> db;
    PTDB_ASSERT_OK(OpenPath(WithFlags(O_RDWR), &db));
    EXPECT_NE(db->GetFlags() & kCantCheck, 0u);
    PTDB_ASSERT_OK(db->Store("k", "v"));
    EXPECT_EQ(DumpDb(db.get()).size(), 11u);
    PTDB_EXPECT_OK(db->Check());
  }
  // Damage that any check would catch (a free record filed under the wrong list) goes
  // unreported, because the check does not run.
  bytes = ReadDataBytes(path_);
  bool damaged = false;
  for (const RawRecord& r : ScanRecords(bytes)) {
    if (!r.free) continue;
    format::FreeRecord f = Load<format::FreeRecord>(bytes, r.off);
    f.bucket_and_len = FreeWord1((FreeBucket(f) + 1) % format::kFreeBuckets, FreeLen(f));
    Put(&bytes, r.off, f);
    damaged = true;
    break;
  }
  ASSERT_TRUE(damaged) << "no free record to damage";
  WriteFileBytes(path_, bytes);
  std::unique_ptr<Db> db;
  PTDB_ASSERT_OK(OpenPath(WithFlags(O_RDONLY), &db));
  EXPECT_NE(db->GetFlags() & kCantCheck, 0u);
  PTDB_EXPECT_OK(db->Check());
  db.reset();

  // The same damage with a capability the check may verify is reported.
  const uint64_t cap = Load<Header>(bytes, 0).capabilities;
  Put(&bytes, cap + format::kUsedHeaderSize + offsetof(format::CapabilityBody, type), uint64_t(7));
  WriteFileBytes(path_, bytes);
  PTDB_ASSERT_OK(OpenPath(WithFlags(O_RDONLY), &db));
  EXPECT_EQ(db->GetFlags() & kCantCheck, 0u);
  EXPECT_EQ(db->Check().code(), Error::kCorrupt);
}

TEST_F(BadInputTest, CapabilityListOutsideFileOrLooping) {
  const std::string good = MakeDb(10);
  std::string bad = good;
  Put(&bad, offsetof(Header, capabilities), uint64_t(good.size() + 64));
  WriteFileBytes(path_, bad);
  ExpectOpenFails(Error::kCorrupt, "capability past the end");

  bad = good;
  AddCapability(&bad, 0x42);
  ASSERT_FALSE(HasFatalFailure());
  const uint64_t cap = Load<Header>(bad, 0).capabilities;
  Put(&bad, cap + format::kUsedHeaderSize + offsetof(format::CapabilityBody, next), cap);
  WriteFileBytes(path_, bad);
  RunIsolated([&](Problems* p) {
    std::unique_ptr<Db> db;
    const Status open = OpenPath(WithFlags(O_RDWR), &db);
    if (open.ok()) {
      p->ExpectCode(db->Check(), Error::kCorrupt, "Check of a looping capability list");
    } else {
      p->ExpectCode(open, Error::kCorrupt, "Open of a looping capability list");
    }
  });
}

}  // namespace
}  // namespace ptdb::test
