// Fault injection through the commit I/O seam (file/commit_io.h): every write, extend and
// sync a commit or a recovery makes goes through an InjectingCommitIo, which can record
// it or fail it. For every operation k of a commit (and of a recovery):
//   (a) fail it with kIo: the handle holds the state before the transaction (or after, if
//       the failure came after the sync and the code rolled forward), and a reopen agrees;
//       it takes more writes, except after a failed sync, when it refuses them and leaves
//       the previous commit's bundle for the reopen (docs/transactions.md, "A failed sync");
//   (b) cut the power just before it: the disk holds what the last completed sync made
//       durable, optionally plus the unsynced changes after it with the last one torn.
//       Recovery at the next open must give exactly the state before or after the
//       transaction ("after" once its sync completed), and Check() must pass.
// Power cuts are derived from one recorded run per shape: the image at a cut before k is
// a prefix of the run's timeline. The timeline also holds the changes a commit makes
// outside the seam (the writer gate), found by comparing the file with a shadow copy at
// every operation, so the images are exactly what the kernel could have had.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/format.h"
#include "file/commit_io.h"
#include "file/file_transaction.h"
#include "file/mutex_area.h"
#include "ptdb/db.h"
#include "tests/conformance/test_util.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

// A database's records and seqnum: what "the state before/after a transaction" means.
struct State {
  Dump dump;
  uint64_t seqnum = 0;
  bool operator==(const State& o) const { return dump == o.dump && seqnum == o.seqnum; }
};

// ---------------------------------------------------------------------------------------
// The timeline of one run.

struct Event {
  enum Kind : uint8_t { kWrite, kExtend, kSync, kOutside };
  Kind kind = kWrite;
  int op = -1;  // index among the seam's writes, extends and syncs; -1 for kOutside
  uint64_t off = 0;
  std::string bytes;  // kWrite, kOutside: the bytes written at off
  uint64_t size = 0;  // kExtend: the size asked for; kOutside: the file's size after
};

const char* KindName(Event::Kind k) {
  switch (k) {
    case Event::kWrite:
      return "write";
    case Event::kExtend:
      return "extend";
    case Event::kSync:
      return "sync";
    case Event::kOutside:
      return "outside-write";
  }
  return "?";
}

// Applies e to an image.
void ApplyEvent(const Event& e, std::string* img) {
  switch (e.kind) {
    case Event::kSync:
      return;
    case Event::kExtend:
      if (img->size() < e.size) img->resize(e.size, '\0');
      return;
    case Event::kOutside:
      if (e.size > img->size()) img->resize(e.size, '\0');
      break;
    case Event::kWrite:
      break;
  }
  if (img->size() < e.off + e.bytes.size()) img->resize(e.off + e.bytes.size(), '\0');
  std::memcpy(img->data() + e.off, e.bytes.data(), e.bytes.size());
}

std::string ReadWhole(const std::string& path) {
  std::string bytes;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0) {
    ADD_FAILURE() << "cannot read " << path;
    if (fd >= 0) close(fd);
    return bytes;
  }
  bytes.resize(size_t(sb.st_size));
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = pread(fd, bytes.data() + done, bytes.size() - done, off_t(done));
    if (n <= 0) {
      ADD_FAILURE() << "short read of " << path;
      break;
    }
    done += size_t(n);
  }
  close(fd);
  return bytes;
}

// The mutex area of a kMutex file is lock state, not data: every lock writes it, and a
// lone opener initialises it. Changes there are left out of the timeline.
bool InMutexArea(const std::string& img, uint64_t off) {
  if (img.size() < format::kHeaderSize) return false;
  uint64_t features;
  std::memcpy(&features, img.data() + offsetof(format::Header, features_used), sizeof(features));
  return (features & format::kFeatureMutexLocks) && off >= format::kHeaderSize &&
         off < format::kHeaderSize + MutexArea::kSize;
}

// Records what the seam does, or fails its k-th operation. One per process: the factory
// of SetCommitIoFactoryForTesting is process-wide.
class Injector {
 public:
  enum class Mode { kOff, kRecord, kFail, kFailFrom };

  // Starts counting operations from 0. kRecord keeps a timeline of `path`'s changes from
  // its current contents on; kFail fails operation `target` (and records nothing);
  // kFailFrom fails it and every one after (a disk gone for good).
  void Arm(Mode mode, const std::string& path, int target = -1) {
    mode_ = mode;
    path_ = path;
    target_ = target;
    next_op_ = 0;
    failed_ = false;
    timeline_.clear();
    if (mode == Mode::kRecord) base_ = shadow_ = ReadWhole(path);
  }
  void Disarm() {
    if (mode_ == Mode::kRecord) CatchUp();
    mode_ = Mode::kOff;
  }

  int ops() const { return next_op_; }
  bool failed() const { return failed_; }
  const std::string& base() const { return base_; }
  const std::vector<Event>& timeline() const { return timeline_; }

  Status Do(Event e, const std::function<Status()>& perform) {
    if (mode_ == Mode::kOff) return perform();
    e.op = next_op_++;
    if (mode_ == Mode::kFail || mode_ == Mode::kFailFrom) {
      if (e.op < target_ || (mode_ == Mode::kFail && e.op != target_)) return perform();
      failed_ = true;
      return Status(Error::kIo, "injected failure of " + std::string(KindName(e.kind)) + " #" +
                                    std::to_string(e.op));
    }
    CatchUp();
    Status st = perform();
    EXPECT_TRUE(st.ok()) << "a real " << KindName(e.kind) << " failed: " << st.ToString();
    ApplyEvent(e, &shadow_);
    timeline_.push_back(std::move(e));
    return st;
  }

 private:
  // Adds what changed in the file since the last look and did not come through the seam.
  void CatchUp() {
    const std::string now = ReadWhole(path_);
    const uint64_t size = now.size();
    if (size != shadow_.size()) {
      Event e;
      e.kind = Event::kOutside;
      e.size = size;
      timeline_.push_back(e);
      shadow_.resize(size, '\0');
    }
    constexpr uint64_t kBlock = 4096;
    for (uint64_t i = 0; i < size;) {
      if (i % kBlock == 0 && size - i >= kBlock &&
          std::memcmp(now.data() + i, shadow_.data() + i, kBlock) == 0) {
        i += kBlock;
        continue;
      }
      if (now[i] == shadow_[i] || InMutexArea(now, i)) {
        i++;
        continue;
      }
      // Runs closer than 8 bytes are one event.
      uint64_t end = i + 1, same = 0;
      for (; end < size && same < 8 && !InMutexArea(now, end); end++) {
        same = now[end] == shadow_[end] ? same + 1 : 0;
      }
      end -= same;
      Event e;
      e.kind = Event::kOutside;
      e.off = i;
      e.bytes = now.substr(i, end - i);
      e.size = size;
      std::memcpy(shadow_.data() + i, e.bytes.data(), e.bytes.size());
      timeline_.push_back(std::move(e));
      i = end;
    }
  }

  Mode mode_ = Mode::kOff;
  std::string path_;
  int target_ = -1;
  int next_op_ = 0;
  bool failed_ = false;
  std::string base_, shadow_;
  std::vector<Event> timeline_;
};

Injector& TheInjector() {
  static auto* injector = new Injector;
  return *injector;
}

class InjectingCommitIo final : public CommitIo {
 public:
  explicit InjectingCommitIo(FileStorage* file) : real_(file) {}

  Status Read(uint64_t off, size_t len, void* buf) override { return real_.Read(off, len, buf); }
  Status Write(uint64_t off, const void* data, size_t len) override {
    Event e;
    e.kind = Event::kWrite;
    e.off = off;
    e.bytes.assign(static_cast<const char*>(data), len);
    return TheInjector().Do(std::move(e), [&] { return real_.Write(off, data, len); });
  }
  Status Sync() override {
    Event e;
    e.kind = Event::kSync;
    return TheInjector().Do(std::move(e), [&] { return real_.Sync(); });
  }
  Status Extend(uint64_t size) override {
    Event e;
    e.kind = Event::kExtend;
    e.size = size;
    return TheInjector().Do(std::move(e), [&] { return real_.Extend(size); });
  }
  uint64_t Size() override { return real_.Size(); }

 private:
  FileCommitIo real_;
};

// Every commit and recovery of this process goes through TheInjector() from now on.
void InstallInjector() {
  SetCommitIoFactoryForTesting([](FileStorage* f) -> std::unique_ptr<CommitIo> {
    return std::make_unique<InjectingCommitIo>(f);
  });
}

// ---------------------------------------------------------------------------------------
// Transaction shapes.

struct TxOp {
  enum Type : uint8_t { kStore, kDelete, kAppend };
  Type type;
  std::string key, value;
};

struct Shape {
  std::string name;
  unsigned flags = 0;  // kNoSync, kSeqnum
  int initial = 0;     // records stored before the transactions
  std::vector<std::vector<TxOp>> commits;
  bool grows = false;  // the last commit must grow the file (new zones)
  // Also run with kNoMmap (pwrite instead of stores into the mapping).
  bool nommap_too = true;
};

std::string Key(int i) { return "key" + std::to_string(i); }
std::string Value(int i, int version, size_t len) {
  std::string v = "v" + std::to_string(version) + ":" + std::to_string(i) + ":";
  while (v.size() < len) v.push_back(char('a' + (i + version + int(v.size())) % 26));
  return v;
}

std::vector<TxOp> TenStores(int version) {
  std::vector<TxOp> ops;
  for (int j = 0; j < 10; j++) {
    // Half overwrite existing keys (some with a larger value, so records move), half new.
    const int k = j % 2 == 0 ? j * 7 + version : 1000 * version + j;
    ops.push_back({TxOp::kStore, Key(k), Value(k, version, 20 + size_t(j) * 23)});
  }
  return ops;
}

std::vector<Shape> Shapes() {
  std::vector<Shape> shapes;
  {
    Shape s;
    s.name = "TenStores";
    s.initial = 200;
    s.commits = {TenStores(1)};
    shapes.push_back(s);
  }
  {
    Shape s;
    s.name = "DeletesAndAppends";
    s.flags = kSeqnum;
    s.initial = 200;
    std::vector<TxOp> ops;
    for (int j = 0; j < 12; j++) ops.push_back({TxOp::kDelete, Key(j * 13), ""});
    for (int j = 0; j < 12; j++) {
      const int k = j % 3 == 0 ? 5000 + j : j * 11 + 1;
      ops.push_back({TxOp::kAppend, Key(k), Value(k, 2, 10 + size_t(j) * 40)});
    }
    s.commits = {ops};
    shapes.push_back(s);
  }
  {
    Shape s;
    s.name = "GrowsTheFile";
    s.initial = 50;
    std::vector<TxOp> ops;
    for (int j = 0; j < 40; j++) ops.push_back({TxOp::kStore, Key(3000 + j), Value(j, 3, 4000)});
    s.commits = {ops};
    s.grows = true;
    shapes.push_back(s);
  }
  {
    Shape s;
    s.name = "Bulk";
    s.initial = 20;
    std::vector<TxOp> ops;
    for (int j = 0; j < 2000; j++) {
      ops.push_back({TxOp::kStore, Key(10000 + j), Value(j, 4, 8 + size_t(j) % 17)});
    }
    s.commits = {ops};
    s.grows = true;
    // Its commit has ~800 writes (a run per changed 1 KiB page); the small shapes cover
    // the pwrite path.
    s.nommap_too = false;
    shapes.push_back(s);
  }
  {
    // The cut during the second commit needs the first's bundle: its in-place writes are
    // not synced until the second's sync.
    Shape s;
    s.name = "TwoCommits";
    s.flags = kSeqnum;
    s.initial = 200;
    std::vector<TxOp> second = TenStores(6);
    for (int j = 0; j < 5; j++) second.push_back({TxOp::kDelete, Key(j * 7 + 5), ""});
    s.commits = {TenStores(5), second};
    shapes.push_back(s);
  }
  {
    // The third commit's bundle takes the first's area back while the second's is live.
    Shape s;
    s.name = "ThreeCommits";
    s.initial = 100;
    std::vector<TxOp> grow;
    for (int j = 0; j < 30; j++) grow.push_back({TxOp::kStore, Key(7000 + j), Value(j, 8, 3000)});
    s.commits = {TenStores(7), grow, TenStores(9)};
    shapes.push_back(s);
  }
  {
    Shape s;
    s.name = "NoSync";
    s.flags = kNoSync;
    s.initial = 200;
    std::vector<TxOp> second = TenStores(11);
    second.push_back({TxOp::kDelete, Key(3), ""});
    s.commits = {TenStores(10), second};
    shapes.push_back(s);
  }
  return shapes;
}

void ApplyToModel(const TxOp& op, Dump* model) {
  switch (op.type) {
    case TxOp::kStore:
      (*model)[op.key] = op.value;
      break;
    case TxOp::kDelete:
      model->erase(op.key);
      break;
    case TxOp::kAppend:
      (*model)[op.key] += op.value;
      break;
  }
}

Status ApplyToDb(const TxOp& op, Db* db) {
  switch (op.type) {
    case TxOp::kStore:
      return db->Store(op.key, op.value);
    case TxOp::kDelete: {
      const Status s = db->Delete(op.key);
      return s.IsNoExist() ? Status::OK() : s;
    }
    case TxOp::kAppend:
      return db->Append(op.key, op.value);
  }
  return Status::OK();
}

Dump InitialModel(const Shape& shape) {
  Dump d;
  for (int i = 0; i < shape.initial; i++) d[Key(i)] = Value(i, 0, 10 + size_t(i) % 120);
  return d;
}

// ---------------------------------------------------------------------------------------
// Reading a database back.

// Reads the state through Check(): one pass that verifies the whole database and visits
// every record.
Status ReadState(Db* db, State* out) {
  out->dump.clear();
  Status s = db->Check([&](std::string_view k, std::string_view v) {
    out->dump[std::string(k)] = std::string(v);
    return Status::OK();
  });
  if (s.ok()) s = db->GetSeqnum(&out->seqnum);
  return s;
}

Options OpenOptions(unsigned flags) {
  Options o;
  o.open_flags = O_RDWR;
  o.flags = flags;
  return o;
}

// What reopening an image gave: the state it holds (an index into the run's states; -1:
// none of them), or what went wrong.
struct Verdict {
  int state = -1;
  std::string problem;  // empty when it opened, checked and read clean
};

std::string Describe(const Verdict& v) {
  if (!v.problem.empty()) return v.problem;
  return v.state < 0 ? "a state that is neither" : "state " + std::to_string(v.state);
}

Verdict Evaluate(const std::string& path, const std::string& image, unsigned flags,
                 const std::vector<State>& states) {
  Verdict v;
  unlink(path.c_str());
  WriteFileBytes(path, image);
  std::unique_ptr<Db> db;
  Status s = Db::Open(path, OpenOptions(flags), &db);
  if (!s.ok()) {
    v.problem = "open: " + s.ToString();
    return v;
  }
  State got;
  s = ReadState(db.get(), &got);
  if (!s.ok()) v.problem = "check: " + s.ToString();
  for (size_t i = 0; i < states.size(); i++) {
    if (got == states[i]) v.state = int(i);
  }
  db.reset();
  // A second open works, and so does a plain write, which must get past any writer gate
  // a dead committer left closed.
  s = Db::Open(path, OpenOptions(flags), &db);
  if (s.ok()) s = db->Store("probe", "after recovery");
  if (!s.ok() && v.problem.empty()) v.problem = "second open and a plain write: " + s.ToString();
  return v;
}

// ---------------------------------------------------------------------------------------
// Power cuts along a timeline.

struct Cut {
  int next_op;                 // the seam operation the cut comes before (ops: after all)
  const std::string* durable;  // what the syncs so far made durable
  const std::string* kept;     // every change so far
  const std::string* torn;     // kept, with the last unsynced write half done (or null)
  std::string where;
};

// Calls fn for a cut before every event of the timeline, and one after the last.
void ForEachCut(const std::string& base, const std::vector<Event>& tl, int ops,
                const std::function<void(const Cut&)>& fn) {
  std::vector<int> next_op(tl.size() + 1, ops);
  for (size_t i = tl.size(); i-- > 0;) next_op[i] = tl[i].op >= 0 ? tl[i].op : next_op[i + 1];
  std::string kept = base, durable = base, torn;
  const Event* last = nullptr;  // the last write since the last sync
  std::string last_old;         // the bytes it overwrote
  for (size_t i = 0;; i++) {
    Cut cut;
    cut.next_op = next_op[i];
    cut.durable = &durable;
    cut.kept = &kept;
    cut.torn = nullptr;
    if (last != nullptr && last->bytes.size() > 1) {
      torn = kept;
      const size_t half = last->bytes.size() / 2;
      std::memcpy(torn.data() + last->off + half, last_old.data() + half,
                  last->bytes.size() - half);
      cut.torn = &torn;
    }
    cut.where = i < tl.size() ? std::string("before ") + KindName(tl[i].kind) +
                                    (tl[i].op >= 0 ? " op " + std::to_string(tl[i].op) : "") +
                                    " at " + std::to_string(tl[i].off)
                              : std::string("after the last op");
    fn(cut);
    if (i == tl.size()) return;
    const Event& e = tl[i];
    if (!e.bytes.empty()) {
      last = &e;
      last_old.assign(e.bytes.size(), '\0');
      if (kept.size() > e.off) {
        last_old.replace(0, std::min<size_t>(e.bytes.size(), kept.size() - e.off),
                         kept.substr(e.off, e.bytes.size()));
      }
    }
    ApplyEvent(e, &kept);
    if (e.kind == Event::kSync) {
      durable = kept;
      last = nullptr;
    }
  }
}

// The durable and kept images of a cut just before seam operation k.
void ImagesBefore(const std::string& base, const std::vector<Event>& tl, int ops, int k,
                  std::string* durable, std::string* kept) {
  bool done = false;
  ForEachCut(base, tl, ops, [&](const Cut& c) {
    if (done || c.next_op != k) return;
    *durable = *c.durable;
    *kept = *c.kept;
    done = true;
  });
}

// ---------------------------------------------------------------------------------------
// The fixture: one shape, in one storage mode.

struct Param {
  Shape shape;
  bool mmap;
};

void PrintTo(const Param& p, std::ostream* os) {
  *os << p.shape.name << (p.mmap ? ", mmap" : ", no mmap");
}

std::string ParamName(const ::testing::TestParamInfo<Param>& info) {
  return info.param.shape.name + (info.param.mmap ? "_Mmap" : "_NoMmap");
}

// A clean recorded run: the states the commits go through, and where their ops are.
struct Recording {
  std::vector<State> states;  // [0]: before the first commit; [c]: after commit c
  std::vector<int> first_op;  // commit c starts at op first_op[c - 1]
  // and applies from op apply_op[c - 1] on: from there it is decided (its bundle is
  // whole, and synced unless kNoSync), so recovery must roll it forward.
  std::vector<int> apply_op;
  std::string base;
  std::vector<Event> timeline;
  int ops = 0;
};

class FaultInjectionTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override { InstallInjector(); }
  void TearDown() override {
    TheInjector().Disarm();
    SetCommitIoFactoryForTesting(nullptr);
  }

  const Shape& shape() const { return GetParam().shape; }
  int commits() const { return int(shape().commits.size()); }
  unsigned flags() const { return shape().flags | (GetParam().mmap ? 0u : unsigned(kNoMmap)); }
  // How images are reopened: the power is back, so recovery's own sync may as well run.
  unsigned ReopenFlags() const { return flags() & ~unsigned(kNoSync); }
  bool nosync() const { return (shape().flags & kNoSync) != 0; }
  std::string DbPath() const { return dir_.File("db.ptdb"); }
  std::string ImagePath() const { return dir_.File("image.ptdb"); }

  // Creates the database with the initial records, made durable.
  void CreateInitial(std::unique_ptr<Db>* db, unsigned extra_flags = 0) {
    Options o;
    o.open_flags = O_RDWR | O_CREAT | O_TRUNC;
    o.flags = flags() | extra_flags;
    o.seed = 0x5eed;  // the same layout every run
    PTDB_ASSERT_OK(Db::Open(DbPath(), o, db));
    for (const auto& [k, v] : InitialModel(shape())) PTDB_ASSERT_OK((*db)->Store(k, v));
    ASSERT_EQ(fdatasync((*db)->Fd()), 0);
  }

  // Runs the commits until one fails: *failed is its number (0: none) and *status why.
  void RunCommits(Db* db, int* failed, Status* status, Recording* run) {
    *failed = 0;
    for (int c = 1; c <= commits(); c++) {
      PTDB_ASSERT_OK(db->TransactionStart());
      for (const TxOp& op : shape().commits[size_t(c - 1)]) PTDB_ASSERT_OK(ApplyToDb(op, db));
      if (run != nullptr) run->first_op.push_back(TheInjector().ops());
      const Status s = db->TransactionCommit();
      if (!s.ok()) {
        *failed = c;
        *status = s;
        return;
      }
      if (run != nullptr) {
        State st;
        PTDB_ASSERT_OK(ReadState(db, &st));
        run->states.push_back(st);
      }
    }
  }

  // One clean run, recorded into run_.
  void Record() {
    std::unique_ptr<Db> db;
    ASSERT_NO_FATAL_FAILURE(CreateInitial(&db));
    Dump model = InitialModel(shape());
    run_ = Recording();
    run_.states.emplace_back();
    PTDB_ASSERT_OK(ReadState(db.get(), &run_.states[0]));
    ASSERT_EQ(run_.states[0].dump, model);
    struct stat sb;
    ASSERT_EQ(fstat(db->Fd(), &sb), 0);
    const uint64_t size_before = uint64_t(sb.st_size);
    TheInjector().Arm(Injector::Mode::kRecord, DbPath());
    int failed;
    Status st;
    ASSERT_NO_FATAL_FAILURE(RunCommits(db.get(), &failed, &st, &run_));
    TheInjector().Disarm();
    ASSERT_EQ(failed, 0) << st.ToString();
    run_.ops = TheInjector().ops();
    run_.base = TheInjector().base();
    run_.timeline = TheInjector().timeline();
    // The states are the model's, not merely what the database said.
    for (int c = 1; c <= commits(); c++) {
      for (const TxOp& op : shape().commits[size_t(c - 1)]) ApplyToModel(op, &model);
      ASSERT_EQ(run_.states[size_t(c)].dump, model) << "commit " << c << " of a clean run";
      const int from = run_.first_op[size_t(c - 1)];
      const int to = c < commits() ? run_.first_op[size_t(c)] : run_.ops;
      ASSERT_LT(from, to) << "commit " << c << " did no I/O";
      // Applying begins with the words naming the groups it changes, then "applying".
      auto names_groups = [](const Event& e) {
        return e.off >= offsetof(format::Header, tx_apply_groups) &&
               e.off < offsetof(format::Header, tx_apply_groups) +
                           sizeof(format::Header::tx_apply_groups);
      };
      int sync = -1, syncs = 0, apply = -1, applying = -1;
      for (const Event& e : run_.timeline) {
        if (e.op < from || e.op >= to) continue;
        if (e.kind == Event::kSync) {
          sync = e.op;
          syncs++;
        }
        if (e.kind != Event::kWrite || applying >= 0) continue;
        if (e.off == offsetof(format::Header, tx_applying)) {
          applying = e.op;
          if (apply < 0) apply = e.op;
        } else if (names_groups(e)) {
          if (apply < 0) apply = e.op;
        } else if (apply >= 0) {
          FAIL() << "commit " << c << " wrote at " << e.off << " before it said it was applying";
        }
      }
      ASSERT_EQ(syncs, nosync() ? 0 : 1) << "syncs of commit " << c;
      ASSERT_GT(apply, from) << "commit " << c << " never applied";
      ASSERT_GE(applying, apply) << "commit " << c << " never said it was applying";
      if (!nosync()) {
        ASSERT_EQ(sync + 1, apply) << "commit " << c << ": applies right after its sync";
      }
      run_.apply_op.push_back(apply);
    }
    ASSERT_EQ(fstat(db->Fd(), &sb), 0);
    if (shape().grows) {
      ASSERT_GT(uint64_t(sb.st_size), size_before) << "the shape must grow";
    }
    PTDB_ASSERT_OK(db->Check());
  }

  // Whether op k of the recorded run is a sync.
  bool FailedASync(int k) const {
    for (const Event& e : run_.timeline) {
      if (e.op == k) return e.kind == Event::kSync;
    }
    return false;
  }

  // The commit a cut before op k falls in (1-based; k == ops: the last).
  int CommitOf(int k) const {
    int c = 1;
    while (c < commits() && run_.first_op[size_t(c)] <= k) c++;
    return c;
  }
  // Whether commit c is decided before op k.
  bool Decided(int c, int k) const { return k >= run_.apply_op[size_t(c - 1)]; }

  // Checks that an image recovers to one of states lo..hi (evaluations are cached: many
  // cuts leave the same image).
  void ExpectImage(const std::string& image, int lo, int hi, const std::string& what) {
    const size_t h = std::hash<std::string>()(image);
    auto it = cache_.find(h);
    if (it == cache_.end()) {
      it = cache_.emplace(h, Evaluate(ImagePath(), image, ReopenFlags(), run_.states)).first;
    }
    const Verdict& v = it->second;
    if ((!v.problem.empty() || v.state < lo || v.state > hi) && failures_++ < kMaxFailures) {
      ADD_FAILURE() << what << ": wanted state " << lo
                    << (hi > lo ? " or " + std::to_string(hi) : "") << "; got " << Describe(v);
    }
  }

  // Cuts the power along a recorded timeline; fn gives, for a cut, the states allowed.
  void CutEverywhere(const std::string& base, const std::vector<Event>& tl, int ops,
                     const std::string& what,
                     const std::function<void(const Cut&, int* lo_durable, int* lo, int* hi)>& fn,
                     bool durable_images) {
    ForEachCut(base, tl, ops, [&](const Cut& cut) {
      int lo_durable, lo, hi;
      fn(cut, &lo_durable, &lo, &hi);
      const std::string where = what + ", cut " + cut.where;
      cuts_++;
      if (durable_images) {
        ExpectImage(*cut.durable, lo_durable, lo_durable, where + ", synced bytes only");
      }
      ExpectImage(*cut.kept, lo, hi, where + ", every write kept");
      if (cut.torn != nullptr) ExpectImage(*cut.torn, lo, hi, where + ", last write torn");
    });
  }

  // Opens `path` as it is, requiring state `want` and a clean check.
  void ExpectFileHolds(const std::string& path, const State& want, const std::string& what) {
    std::unique_ptr<Db> db;
    Status s = Db::Open(path, OpenOptions(ReopenFlags()), &db);
    std::string problem;
    if (!s.ok()) {
      problem = "reopen: " + s.ToString();
    } else {
      State got;
      s = ReadState(db.get(), &got);
      if (!s.ok()) {
        problem = "check: " + s.ToString();
      } else if (!(got == want)) {
        problem = "it holds " + std::to_string(got.dump.size()) + " records (seqnum " +
                  std::to_string(got.seqnum) + "), wanted " + std::to_string(want.dump.size()) +
                  " (seqnum " + std::to_string(want.seqnum) + ")";
      }
    }
    if (!problem.empty() && failures_++ < kMaxFailures) ADD_FAILURE() << what << ": " << problem;
  }

  static constexpr int kMaxFailures = 5;
  test::TempDir dir_;
  Recording run_;
  std::unordered_map<size_t, Verdict> cache_;
  int failures_ = 0;
  int cuts_ = 0;
};

// (b) A power cut before every write, extend and sync of every commit, and after the
// last; with the synced bytes only, every write kept, or the last one torn.
TEST_P(FaultInjectionTest, PowerCutAnywhereInCommit) {
  ASSERT_NO_FATAL_FAILURE(Record());
  CutEverywhere(
      run_.base, run_.timeline, run_.ops, "commit",
      [&](const Cut& cut, int* lo_durable, int* lo, int* hi) {
        const int c = CommitOf(cut.next_op);
        const bool decided = Decided(c, cut.next_op);
        // Durable: exactly what the syncs say. Otherwise the commit may have made it, and
        // must have once decided.
        *lo_durable = decided ? c : c - 1;
        *lo = decided ? c : c - 1;
        *hi = c;
      },
      !nosync());
  EXPECT_EQ(failures_, 0);
  RecordProperty("cuts", cuts_);
  RecordProperty("images", int(cache_.size()));
}

// (a) Every write, extend and sync of every commit fails with kIo in turn: the handle
// stays usable and whole, holds the state before the commit (or after, when the failure
// came after the sync and the commit rolled forward), and a reopen agrees, also after a
// plain write and after a later transaction.
TEST_P(FaultInjectionTest, FailAnyCommitOperation) {
  ASSERT_NO_FATAL_FAILURE(Record());
  for (int k = 0; k < run_.ops && failures_ < kMaxFailures; k++) {
    const std::string what = "failing op " + std::to_string(k);
    std::unique_ptr<Db> db;
    ASSERT_NO_FATAL_FAILURE(CreateInitial(&db));
    TheInjector().Arm(Injector::Mode::kFail, DbPath(), k);
    int failed;
    Status st;
    ASSERT_NO_FATAL_FAILURE(RunCommits(db.get(), &failed, &st, nullptr));
    TheInjector().Disarm();
    ASSERT_TRUE(TheInjector().failed()) << what << ": a second run did not reach it";
    const int c = CommitOf(k);
    int lo = c - 1, hi = Decided(c, k) ? c : c - 1;
    if (failed == 0) {
      lo = hi = commits();  // absorbed: then it must all be there
    } else {
      EXPECT_EQ(failed, c) << what;
    }
    State now;
    const Status check = ReadState(db.get(), &now);
    EXPECT_TRUE(check.ok()) << what << ": check on the handle: " << check.ToString();
    bool ok = false;
    for (int i = lo; i <= hi; i++) ok = ok || now == run_.states[size_t(i)];
    if (!ok && failures_++ < kMaxFailures) {
      ADD_FAILURE() << what << " (commit " << c << ", returned " << st.ToString()
                    << "): the handle holds " << now.dump.size() << " records, wanted state " << lo
                    << (hi > lo ? " or " + std::to_string(hi) : "");
    }
    if (FailedASync(k)) {
      // The kernel may have dropped what the sync could not write, and a later sync that
      // succeeds would not write it: the handle takes no more writes, and nothing retires
      // the previous commit's bundle (it may be the only copy), not even the last close.
      const Status plain = db->Store("plain", "written after the failure");
      EXPECT_EQ(plain.code(), Error::kIo) << what << ": " << plain.ToString();
      EXPECT_EQ(db->TransactionStart().code(), Error::kIo) << what;
      db.reset();
      if (c > 1) {
        const std::string file = ReadWhole(DbPath());
        uint64_t counter, replayed;
        std::memcpy(&counter, file.data() + offsetof(format::Header, tx_counter), 8);
        std::memcpy(&replayed, file.data() + offsetof(format::Header, tx_replayed), 8);
        EXPECT_LT(replayed, counter) << what << ": commit " << c - 1 << "'s bundle was retired";
      }
      ExpectFileHolds(DbPath(), now, what + ", then reopened");
    } else {
      // A plain write, then close: the failed commit must not come back at the next open.
      PTDB_ASSERT_OK(db->Store("plain", "written after the failure"));
      now.dump["plain"] = "written after the failure";
      PTDB_ASSERT_OK(db->GetSeqnum(&now.seqnum));
      db.reset();
      ExpectFileHolds(DbPath(), now, what + ", then a plain write");
    }
    // And a transaction after it commits as usual.
    PTDB_ASSERT_OK(Db::Open(DbPath(), OpenOptions(flags()), &db));
    PTDB_ASSERT_OK(db->TransactionStart());
    PTDB_ASSERT_OK(db->Store("later", "a transaction after the failure"));
    PTDB_ASSERT_OK(db->TransactionCommit());
    now.dump["later"] = "a transaction after the failure";
    PTDB_ASSERT_OK(db->GetSeqnum(&now.seqnum));
    db.reset();
    ExpectFileHolds(DbPath(), now, what + ", then a transaction");
  }
  EXPECT_EQ(failures_, 0);
}

// The disk fails for good once a commit has begun to apply, so its replay of the bundle
// fails too. The bundle is durable: the transaction is committed, and the error says so.
// The handle goes on: its next write finds the apply unfinished (the writer gate is still
// closed; without locks, the handle remembers) and completes it first, so the replay
// cannot later undo that write. The next opener of the file finds both.
TEST_P(FaultInjectionTest, AnApplyThatCannotFinishIsCommittedAndFinishedLater) {
  ASSERT_NO_FATAL_FAILURE(Record());
  for (int c = 1; c <= commits(); c++) {
    const int apply = run_.apply_op[size_t(c - 1)];
    // From the apply's first write (nothing of it in place), and from its second.
    for (int k : {apply, apply + 1})
      for (unsigned nolock : {0u, unsigned(kNoLock)}) {
        const std::string what = "commit " + std::to_string(c) + ", every op from " +
                                 std::to_string(k) + " failing" + (nolock ? ", no locks" : "");
        std::unique_ptr<Db> db;
        ASSERT_NO_FATAL_FAILURE(CreateInitial(&db, nolock));
        TheInjector().Arm(Injector::Mode::kFailFrom, DbPath(), k);
        int failed;
        Status st;
        ASSERT_NO_FATAL_FAILURE(RunCommits(db.get(), &failed, &st, nullptr));
        TheInjector().Disarm();
        ASSERT_EQ(failed, c) << what;
        EXPECT_NE(st.message().find("committed but not yet in place"), std::string_view::npos)
            << what << ": " << st.ToString();
        State now = run_.states[size_t(c)];
        PTDB_ASSERT_OK(db->Store("plain", "written after the failure"));
        now.dump["plain"] = "written after the failure";
        State got;
        PTDB_ASSERT_OK(ReadState(db.get(), &got));
        now.seqnum = got.seqnum;
        EXPECT_TRUE(got == now) << what << ": the handle holds " << got.dump.size()
                                << " records, wanted " << now.dump.size();
        db.reset();
        ExpectFileHolds(DbPath(), now, what + ", reopened");
      }
  }
  EXPECT_EQ(failures_, 0);
}

// Recovery's own writes and syncs fail, or the power goes, at every point: the next open
// must still finish the job. The images needing recovery: right after each commit's sync
// (its bundle durable, nothing applied), and half way through applying it.
TEST_P(FaultInjectionTest, FailOrCutDuringRecovery) {
  ASSERT_NO_FATAL_FAILURE(Record());
  struct Pending {
    std::string image, what;
    int want;
  };
  std::vector<Pending> pending;
  for (int c = 1; c <= commits(); c++) {
    const int to = c < commits() ? run_.first_op[size_t(c)] : run_.ops;
    const int after_sync = run_.apply_op[size_t(c - 1)];
    std::string durable, kept;
    // Half way through applying: every write kept (a process crash, or a lucky disk).
    ImagesBefore(run_.base, run_.timeline, run_.ops, (after_sync + to) / 2, &durable, &kept);
    pending.push_back({kept, "commit " + std::to_string(c) + " half applied", c});
    if (!nosync()) {
      ImagesBefore(run_.base, run_.timeline, run_.ops, after_sync, &durable, &kept);
      pending.push_back({durable, "commit " + std::to_string(c) + " synced, not applied", c});
    }
  }
  for (const Pending& p : pending) {
    // Record the recovery.
    unlink(ImagePath().c_str());
    WriteFileBytes(ImagePath(), p.image);
    TheInjector().Arm(Injector::Mode::kRecord, ImagePath());
    std::unique_ptr<Db> db;
    Status st = Db::Open(ImagePath(), OpenOptions(ReopenFlags()), &db);
    TheInjector().Disarm();
    PTDB_ASSERT_OK(st);
    db.reset();
    const int ops = TheInjector().ops();
    const std::string base = TheInjector().base();
    const std::vector<Event> tl = TheInjector().timeline();
    if (ops == 0) continue;  // this image needed no replay (a torn-free kept image may not)
    for (int k = 0; k < ops; k++) {
      const std::string what = p.what + ", recovery op " + std::to_string(k) + " fails";
      unlink(ImagePath().c_str());
      WriteFileBytes(ImagePath(), p.image);
      TheInjector().Arm(Injector::Mode::kFail, ImagePath(), k);
      st = Db::Open(ImagePath(), OpenOptions(ReopenFlags()), &db);
      TheInjector().Disarm();
      EXPECT_TRUE(TheInjector().failed()) << what << ": not reached";
      if (st.ok()) {
        // The failure was absorbed: the handle must be right.
        State got;
        PTDB_ASSERT_OK(ReadState(db.get(), &got));
        EXPECT_TRUE(got == run_.states[size_t(p.want)]) << what << ": open succeeded, wrong state";
      }
      db.reset();
      ExpectFileHolds(ImagePath(), run_.states[size_t(p.want)], what);
    }
    CutEverywhere(
        base, tl, ops, p.what + ", recovery",
        [&](const Cut&, int* lo_durable, int* lo, int* hi) { *lo_durable = *lo = *hi = p.want; },
        true);
  }
  EXPECT_EQ(failures_, 0);
  RecordProperty("cuts", cuts_);
}

INSTANTIATE_TEST_SUITE_P(Shapes, FaultInjectionTest, ::testing::ValuesIn([] {
                           std::vector<Param> p;
                           for (const Shape& s : Shapes()) {
                             p.push_back({s, true});
                             if (s.nommap_too) p.push_back({s, false});
                           }
                           return p;
                         }()),
                         ParamName);

// The scenarios below: one fresh database (db, at path), reopened as a test needs; a
// test that routes its commits through the injector has that undone afterwards.
class FaultInjection : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(Open(path, O_RDWR | O_CREAT | O_TRUNC)); }
  void TearDown() override {
    TheInjector().Disarm();
    SetCommitIoFactoryForTesting(nullptr);
  }
  // Closes db and opens `file` in its place.
  void Open(const std::string& file, int open_flags = O_RDWR) {
    db.reset();
    Options o;
    o.open_flags = open_flags;
    PTDB_ASSERT_OK(Db::Open(file, o, &db));
  }

  test::TempDir dir;
  const std::string path = dir.File("db.ptdb");
  std::unique_ptr<Db> db;
};

// Prepare makes the bundle durable; a cancel after it must still cancel, now and after
// a reopen (recovery must not replay a bundle whose transaction was cancelled).
TEST_F(FaultInjection, CancelAfterPrepareStaysCancelled) {
  for (int i = 0; i < 50; i++) PTDB_ASSERT_OK(db->Store(Key(i), Value(i, 0, 40)));
  State before;
  PTDB_ASSERT_OK(ReadState(db.get(), &before));
  PTDB_ASSERT_OK(db->TransactionStart());
  for (const TxOp& op : TenStores(1)) PTDB_ASSERT_OK(ApplyToDb(op, db.get()));
  PTDB_ASSERT_OK(db->TransactionPrepareCommit());
  PTDB_ASSERT_OK(db->TransactionCancel());
  State now;
  PTDB_ASSERT_OK(ReadState(db.get(), &now));
  EXPECT_TRUE(now == before) << "the cancel did not cancel";
  // A crash now leaves the file as it is.
  const std::string image = ReadFileBytes(path);
  PTDB_ASSERT_OK(db->Store("plain", "after the cancel"));
  now.dump["plain"] = "after the cancel";
  ASSERT_NO_FATAL_FAILURE(Open(path));
  State got;
  PTDB_ASSERT_OK(ReadState(db.get(), &got));
  EXPECT_TRUE(got == now) << "after a plain write and a reopen: " << got.dump.size()
                          << " records, wanted " << now.dump.size();
  db.reset();
  const std::string cut = dir.File("cut.ptdb");
  WriteFileBytes(cut, image);
  ASSERT_NO_FATAL_FAILURE(Open(cut));
  PTDB_ASSERT_OK(ReadState(db.get(), &got));
  EXPECT_TRUE(got == before) << "after a power cut: " << got.dump.size() << " records, wanted "
                             << before.dump.size();
}

// A cancel after prepare that cannot forget the bundle (the disk fails for good) says
// so: the bundle is whole and may be replayed. The file must not be left with it pending
// under later writes: the handle's next write replays it first, and the file stays
// whole, holding the transaction and the later write, now and after a reopen.
TEST_F(FaultInjection, ACancelThatCannotForgetItsBundleLeavesAWholeFile) {
  InstallInjector();
  Dump model;
  for (int i = 0; i < 50; i++) {
    PTDB_ASSERT_OK(db->Store(Key(i), Value(i, 0, 40)));
    model[Key(i)] = Value(i, 0, 40);
  }
  PTDB_ASSERT_OK(db->TransactionStart());
  for (const TxOp& op : TenStores(1)) {
    PTDB_ASSERT_OK(ApplyToDb(op, db.get()));
    ApplyToModel(op, &model);
  }
  PTDB_ASSERT_OK(db->TransactionPrepareCommit());
  TheInjector().Arm(Injector::Mode::kFailFrom, path, 0);
  const Status cancel = db->TransactionCancel();
  TheInjector().Disarm();
  SetCommitIoFactoryForTesting(nullptr);
  EXPECT_NE(cancel.message().find("may still apply it"), std::string_view::npos)
      << cancel.ToString();
  PTDB_ASSERT_OK(db->Store("plain", "after the cancel"));
  model["plain"] = "after the cancel";
  State got;
  PTDB_ASSERT_OK(ReadState(db.get(), &got));
  EXPECT_EQ(got.dump, model) << "the handle";
  ASSERT_NO_FATAL_FAILURE(Open(path));
  PTDB_ASSERT_OK(ReadState(db.get(), &got));
  EXPECT_EQ(got.dump, model) << "after a reopen";
}

// A commit's in-place writes are not synced: its bundle covers them until the next
// commit's sync. A plain write after it stops that bundle from being replayed (so it
// cannot undo the plain write), which must not leave the commit depending on unsynced
// bytes. The power goes after the plain write has marked the bundle replayed, with only
// the header's first sector written back since the last sync.
TEST_F(FaultInjection, CommitSurvivesPowerCutAfterAPlainWrite) {
  InstallInjector();
  for (int i = 0; i < 100; i++) PTDB_ASSERT_OK(db->Store(Key(i), Value(i, 0, 40)));
  ASSERT_EQ(fdatasync(db->Fd()), 0);
  // Every sync from here on is recorded: the commit's, and any the plain write makes.
  TheInjector().Arm(Injector::Mode::kRecord, path);
  PTDB_ASSERT_OK(db->TransactionStart());
  for (const TxOp& op : TenStores(1)) PTDB_ASSERT_OK(ApplyToDb(op, db.get()));
  PTDB_ASSERT_OK(db->TransactionCommit());
  const int commit_ops = TheInjector().ops();
  const std::string committed_file = ReadWhole(path);
  State committed;
  PTDB_ASSERT_OK(ReadState(db.get(), &committed));
  PTDB_ASSERT_OK(db->Store(Key(1000), "a plain write"));
  const std::string plain_file = ReadWhole(path);
  TheInjector().Disarm();
  SetCommitIoFactoryForTesting(nullptr);
  const Injector& inj = TheInjector();
  std::string synced_at_commit, synced_at_end, kept;
  ImagesBefore(inj.base(), inj.timeline(), inj.ops(), commit_ops, &synced_at_commit, &kept);
  ImagesBefore(inj.base(), inj.timeline(), inj.ops(), inj.ops(), &synced_at_end, &kept);
  constexpr size_t kSector = 512;
  // Without a plain write, the header sector alone is harmless: recovery replays.
  std::string image = synced_at_commit;
  image.replace(0, kSector, committed_file, 0, kSector);
  const Verdict control = Evaluate(dir.File("control.ptdb"), image, 0, {committed});
  EXPECT_EQ(Describe(control), "state 0") << "header sector after the commit, no plain write";
  // After the plain write: it marked the bundle replayed, in the header's first sector.
  image = synced_at_end;
  image.replace(0, kSector, plain_file, 0, kSector);
  const Verdict v = Evaluate(dir.File("cut.ptdb"), image, 0, {committed});
  EXPECT_EQ(Describe(v), "state 0")
      << "the committed transaction must survive a power cut after a later plain write";
}

}  // namespace
}  // namespace ptdb::test
