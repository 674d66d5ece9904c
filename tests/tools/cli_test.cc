// End-to-end tests of the ptdb tool: the built binary is run as a user would run it.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <libpmemobj.h>

#include "common/format.h"
#include "ptdb/db.h"
#include "tests/support/file_facts.h"
#include "tests/support/temp_dir.h"

namespace ptdb::test {
namespace {

struct Result {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Runs `ptdb args...` in a child with stdin from `input` and stdout/stderr captured in
// files (no pipes, so nothing can deadlock); stderr goes to `stderr_fd` if given.
int Spawn(const std::vector<std::string>& args, const std::string& stdin_path,
          const std::string& stdout_path, const std::string& stderr_path, int stderr_fd) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(PTDB_CLI_PATH));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int in = open(stdin_path.c_str(), O_RDONLY);
    const int out = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err =
        stderr_fd >= 0 ? stderr_fd : open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) _exit(126);
    dup2(in, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int Wait(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -2;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class CliTest : public testing::Test {
 protected:
  Result Run(const std::vector<std::string>& args, const std::string& input = "") {
    WriteFile(dir_.File("stdin"), input);
    const pid_t pid = Spawn(args, dir_.File("stdin"), dir_.File("stdout"), dir_.File("stderr"), -1);
    Result r;
    r.exit_code = Wait(pid);
    r.out = ReadFile(dir_.File("stdout"));
    r.err = ReadFile(dir_.File("stderr"));
    return r;
  }

  // Runs a command that must succeed and returns its stdout.
  std::string Ok(const std::vector<std::string>& args, const std::string& input = "") {
    const Result r = Run(args, input);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    return r.out;
  }

  std::string Path(const std::string& name) const { return dir_.File(name); }

  TempDir dir_;
};

const std::vector<std::string> kCommands = {"create", "info",   "check",  "summary", "wipe",
                                            "repack", "get",    "set",    "delete",  "keys",
                                            "dump",   "rescue", "restore"};

TEST_F(CliTest, HelpOfEveryCommandExitsZero) {
  const Result top = Run({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_TRUE(top.err.empty()) << top.err;
  EXPECT_NE(top.out.find("Exit status"), std::string::npos);
  for (const std::string& cmd : kCommands) {
    EXPECT_NE(top.out.find("  " + cmd + " "), std::string::npos) << cmd << " not listed";
    const Result r = Run({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_EQ(r.out.rfind("Usage: ptdb " + cmd + " ", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("Exit status"), std::string::npos) << cmd;
    EXPECT_TRUE(r.err.empty()) << cmd << ": " << r.err;
  }
}

TEST_F(CliTest, BadUsageExitsTwoWithUsage) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"frobnicate"},
      {"get"},
      {"get", Path("db")},
      {"get", Path("db"), "k", "extra"},
      {"info", Path("db"), "--bogus"},
      {"create", Path("db"), "--seed"},
      {"create", Path("db"), "--seed", "12x"},
      {"create", Path("db"), "--force=yes"},
      {"set", Path("db"), "k", "v", "--insert", "--modify"},
      {"get", Path("db"), "zz", "--hex"},
      {"wipe", Path("db")},
      {"dump", Path("db"), "-o"},
      {"keys", Path("db"), "--hex"},
      {"create", Path("db"), "--pool-size", "16M"},
      {"create", Path("db"), "--backend", "file", "--pool-size", "16M"},
      {"create", Path("db"), "--backend", "disk"},
      {"create", Path("db"), "--backend", "pmem", "--pool-size", "12X"},
      {"create", Path("db"), "--backend", "pmem", "--pool-size", "0"},
      {"create", Path("db"), "--backend", "pmem", "--pool-size", "99999999999999999999"},
      {"restore", Path("db"), "--pool-size", "16M"},
  };
  for (const auto& args : bad) {
    const Result r = Run(args);
    std::string line;
    for (const auto& a : args) line += a + " ";
    EXPECT_EQ(r.exit_code, 2) << line;
    EXPECT_NE(r.err.find("Usage: ptdb"), std::string::npos) << line << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << line;
  }
  // Nothing was created by any of them.
  EXPECT_NE(access(Path("db").c_str(), F_OK), 0);
}

TEST_F(CliTest, BinaryRoundTripThroughDumpAndRestore) {
  const std::string db = Path("a.ptdb");
  Ok({"create", db});
  // A key of every byte value, given as hex.
  std::string all_hex;
  for (int c = 0; c < 256; c++) {
    char buf[3];
    snprintf(buf, sizeof(buf), "%02x", c);
    all_hex += buf;
  }
  Ok({"set", db, all_hex, "00ff0a5c", "--hex"});
  Ok({"set", db, "0a", "", "--hex"});
  Ok({"set", db, "", "empty key"});
  Ok({"set", db, "plain", "hello world"});
  Ok({"set", "--", db, "-dash", "-v"});
  Ok({"set", db, "from-stdin", "-"}, std::string("line1\nline2\0end", 16));

  EXPECT_EQ(Ok({"get", db, "plain"}), "hello world");
  EXPECT_EQ(Ok({"get", db, all_hex, "--hex"}), "00ff0a5c\n");
  EXPECT_EQ(Ok({"get", db, "0a", "--hex"}), "\n");
  EXPECT_EQ(Ok({"get", db, ""}), "empty key");
  EXPECT_EQ(Ok({"get", db, "--", "-dash"}), "-v");
  EXPECT_EQ(Ok({"get", db, "from-stdin"}), std::string("line1\nline2\0end", 16));

  std::string escaped_all;
  for (int c = 0; c < 256; c++) {
    char buf[8];
    if (c == '\\') {
      escaped_all += "\\\\";
    } else if (c == '\n') {
      escaped_all += "\\n";
    } else if (c == '\t') {
      escaped_all += "\\t";
    } else if (c == '\r') {
      escaped_all += "\\r";
    } else if (c >= 0x20 && c < 0x7f) {
      escaped_all += char(c);
    } else {
      snprintf(buf, sizeof(buf), "\\x%02x", c);
      escaped_all += buf;
    }
  }
  const std::string keys = Ok({"keys", db});
  std::multiset<std::string> lines;
  std::istringstream in(keys);
  for (std::string line; std::getline(in, line);) lines.insert(line);
  EXPECT_EQ(lines,
            (std::multiset<std::string>{escaped_all, "\\n", "", "plain", "-dash", "from-stdin"}));

  const std::string dump1 = Path("one.dump");
  Ok({"dump", db, "-o", dump1});
  const std::string text = ReadFile(dump1);
  EXPECT_EQ(text.rfind("# ptdb dump v1\n", 0), 0u);
  EXPECT_NE(text.find("\n# end 6\n"), std::string::npos);
  EXPECT_EQ(Ok({"dump", db}), text) << "dump to stdout differs from dump -o";

  const std::string copy = Path("b.ptdb");
  Ok({"restore", copy, "-i", dump1});
  EXPECT_EQ(Ok({"dump", copy}), text);
  EXPECT_EQ(Ok({"get", copy, all_hex, "--hex"}), "00ff0a5c\n");
  EXPECT_EQ(Ok({"get", copy, "from-stdin"}), std::string("line1\nline2\0end", 16));

  // Restoring from standard input gives the same database.
  const std::string copy2 = Path("c.ptdb");
  Ok({"restore", copy2}, text);
  EXPECT_EQ(Ok({"dump", copy2}), text);
  Ok({"check", copy2});
}

TEST_F(CliTest, DumpIsIndependentOfSeedAndWriteOrder) {
  const std::string a = Path("a"), b = Path("b");
  Ok({"create", a, "--seed", "1"});
  Ok({"create", b, "--seed", "0xdeadbeef"});
  for (int i = 0; i < 50; i++) Ok({"set", a, "k" + std::to_string(i), std::to_string(i * i)});
  for (int i = 49; i >= 0; i--) Ok({"set", b, "k" + std::to_string(i), std::to_string(i * i)});
  EXPECT_EQ(Ok({"dump", a}), Ok({"dump", b}));
}

// A dump of a database in use is one state of it, as a backup must be: here another
// process's transactions keep moving units between accounts, and every dump's accounts
// must add up to what they started with.
TEST_F(CliTest, DumpOfADatabaseInUseIsOneState) {
  const std::string db_path = Path("db");
  constexpr int kAccounts = 1000;
  constexpr int kStart = 10;
  std::unique_ptr<Db> db;
  Options options;
  options.flags = kNoSync;
  options.open_flags = O_RDWR | O_CREAT;
  ASSERT_TRUE(Db::Open(db_path, options, &db).ok());
  const auto account = [](int i) { return "acct-" + std::to_string(i); };
  for (int i = 0; i < kAccounts; i++) {
    ASSERT_TRUE(db->Store(account(i), std::to_string(kStart)).ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> transfers{0}, failures{0};
  std::thread writer([&] {
    for (unsigned i = 0; !stop.load(); i++) {
      const std::string from = account(int(i * 7919 % kAccounts));
      const std::string to = account(int((i * 104729 + 1) % kAccounts));
      std::string a, b;
      bool ok = db->TransactionStart().ok() && db->Fetch(from, &a).ok() && db->Fetch(to, &b).ok();
      if (ok && from != to) {
        ok = db->Store(from, std::to_string(std::stoi(a) - 1)).ok() &&
             db->Store(to, std::to_string(std::stoi(b) + 1)).ok();
      }
      if (!ok || !db->TransactionCommit().ok()) {
        failures++;
        return;
      }
      transfers++;
    }
  });
  while (transfers.load() == 0 && failures.load() == 0) std::this_thread::yield();
  // Without a lock around it, about one dump in three here is a mix of states.
  for (int d = 0; d < 30 && failures.load() == 0; d++) {
    const std::string dump = Ok({"dump", db_path});
    long total = 0;
    int records = 0;
    std::istringstream lines(dump);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("data=", 0) != 0) continue;
      total += std::stol(line.substr(line.find(':') + 1));
      records++;
    }
    EXPECT_EQ(records, kAccounts) << "dump " << d;
    EXPECT_EQ(total, long(kAccounts) * kStart)
        << "dump " << d << " is no state the database was in (" << transfers.load()
        << " transfers so far)";
  }
  stop = true;
  writer.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(transfers.load(), 0);
}

TEST_F(CliTest, GetAndDeleteOfMissingKeyExitFour) {
  const std::string db = Path("db");
  Ok({"create", db});
  Result r = Run({"get", db, "nope"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("no such key"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  r = Run({"delete", db, "nope"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("no such key"), std::string::npos) << r.err;

  Ok({"set", db, "k", "v"});
  Ok({"delete", db, "k"});
  EXPECT_EQ(Run({"get", db, "k"}).exit_code, 4);
}

TEST_F(CliTest, SetInsertAndModifyModes) {
  const std::string db = Path("db");
  Ok({"create", db});
  Ok({"set", db, "k", "1", "--insert"});
  Result r = Run({"set", db, "k", "2", "--insert"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("exists"), std::string::npos) << r.err;
  EXPECT_EQ(Ok({"get", db, "k"}), "1");
  r = Run({"set", db, "other", "2", "--modify"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(Run({"get", db, "other"}).exit_code, 4);
  Ok({"set", db, "k", "3", "--modify"});
  EXPECT_EQ(Ok({"get", db, "k"}), "3");
  // A hex value from standard input; whitespace (the trailing newline) is ignored.
  Ok({"set", db, "6b", "-", "--hex"}, "68 69\n");
  EXPECT_EQ(Ok({"get", db, "k"}), "hi");
}

TEST_F(CliTest, CheckExitCodes) {
  const std::string db = Path("db");
  Ok({"create", db});
  for (int i = 0; i < 20; i++) Ok({"set", db, "key" + std::to_string(i), "value"});
  Result r = Run({"check", db});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ok, 20 records"), std::string::npos) << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;

  // Overwrite the first top-level hash group with garbage.
  const int fd = open(db.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  const std::string garbage(64, '\xff');
  ASSERT_EQ(pwrite(fd, garbage.data(), garbage.size(), 512), 64);
  close(fd);
  r = Run({"check", db});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("ptdb check: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Corrupt"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'ptdb rescue " + db + " -o OUT' saves what it still holds"),
            std::string::npos)
      << r.err;

  WriteFile(Path("text"), std::string(20000, 'x'));
  r = Run({"check", Path("text")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a ptdb database"), std::string::npos) << r.err;
  r = Run({"check", Path("missing")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(r.err.empty());
  EXPECT_NE(access(Path("missing").c_str(), F_OK), 0) << "check created the file";
}

TEST_F(CliTest, RescueSavesWhatADamagedDatabaseStillHolds) {
  const std::string db = Path("db"), out = Path("rescued.dump"), fresh = Path("fresh");
  std::map<std::string, std::string> stored;
  {
    Options options;
    options.open_flags = O_RDWR | O_CREAT;
    options.seed = 1;  // a seed that puts records in the group broken below
    std::unique_ptr<Db> handle;
    ASSERT_TRUE(Db::Open(db, options, &handle).ok());
    for (int i = 0; i < 200; i++) {
      const std::string k = "key" + std::to_string(i), v = "value of " + k;
      ASSERT_TRUE(handle->Store(k, v).ok());
      stored[k] = v;
    }
  }
  const std::string whole = Ok({"dump", db});
  // Overwrite the first top-level hash group with garbage: the records it led to are lost.
  const int fd = open(db.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  uint64_t group[8];
  ASSERT_EQ(pread(fd, group, sizeof(group), format::kTopHashOffset), 64);
  const size_t in_group =
      size_t(std::count_if(std::begin(group), std::end(group), [](uint64_t e) { return e != 0; }));
  ASSERT_GT(in_group, 0u);
  const std::string garbage(64, '\xff');
  ASSERT_EQ(pwrite(fd, garbage.data(), garbage.size(), format::kTopHashOffset), 64);
  close(fd);
  EXPECT_EQ(Run({"check", db}).exit_code, 3);

  Result r = Run({"rescue", db, "-o", out});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("saved " + std::to_string(200 - in_group) + " records"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("8 hash entries led to damage"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("first damage: entry at " + std::to_string(format::kTopHashOffset)),
            std::string::npos)
      << r.err;
  // Read-only: a second rescue finds the same (the lock words in the file may change).
  EXPECT_EQ(Run({"rescue", db}).out, ReadFile(out));
  // The records the lost entries led to are still in the file, where nothing leads.
  r = Run({"rescue", db, "--unreachable"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, whole);
  EXPECT_NE(r.err.find(std::to_string(in_group) + " saved (a key found nowhere else)"),
            std::string::npos)
      << r.err;

  Ok({"restore", fresh, "-i", out});
  EXPECT_NE(Ok({"check", fresh}).find("ok, " + std::to_string(200 - in_group) + " records"),
            std::string::npos);
  std::set<std::string> keys;
  std::istringstream lines(Ok({"keys", fresh}));
  for (std::string k; std::getline(lines, k);) {
    EXPECT_EQ(Ok({"get", fresh, k}), stored.at(k)) << k;
    keys.insert(k);
  }
  EXPECT_EQ(keys.size(), 200 - in_group);

  // The dump of a sound database equals its rescue.
  EXPECT_EQ(Run({"rescue", fresh}).out, Ok({"dump", fresh}));
  EXPECT_EQ(Run({"rescue", fresh}).exit_code, 0);
  r = Run({"rescue", db, "-o", db});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is the database itself"), std::string::npos) << r.err;
}

TEST_F(CliTest, RescueReadsAFileTooDamagedToOpen) {
  const std::string db = Path("db"), out = Path("rescued.dump"), fresh = Path("fresh");
  Ok({"create", db});
  for (int i = 0; i < 30; i++) Ok({"set", db, "key" + std::to_string(i), "v" + std::to_string(i)});
  const std::string dump = Ok({"dump", db});
  // Overwrite the first zone's record: the hash tree and the records stay whole.
  format::Header h;
  const int fd = open(db.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pread(fd, &h, sizeof(h), 0), ssize_t(sizeof(h)));
  const std::string garbage(16, '\xee');
  ASSERT_EQ(pwrite(fd, garbage.data(), garbage.size(), off_t(h.first_zone)), 16);
  close(fd);
  EXPECT_EQ(Run({"get", db, "key1"}).exit_code, 1);
  EXPECT_EQ(Run({"check", db}).exit_code, 3);

  const Result r = Run({"rescue", db, "-o", out});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("cannot be opened"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("reading the file directly"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("saved 30 records"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(out), dump);
  Ok({"restore", fresh, "-i", out});
  EXPECT_NE(Ok({"check", fresh}).find("ok, 30 records"), std::string::npos);
}

TEST_F(CliTest, RescueUnsortedWritesEachRecordAsFound) {
  const std::string db = Path("db"), out = Path("rescued.dump"), fresh = Path("fresh");
  Ok({"create", db});
  for (int i = 0; i < 300; i++) Ok({"set", db, "key" + std::to_string(i), std::to_string(i)});
  const std::string dump = Ok({"dump", db});
  const Result r = Run({"rescue", db, "--unsorted", "-o", out});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("saved 300 records"), std::string::npos) << r.err;
  // The same records in the order they were found (the file's, not the keys'), which
  // restore takes as they come.
  const std::string unsorted = ReadFile(out);
  EXPECT_NE(unsorted, dump) << "300 records in key order: the dump was sorted";
  EXPECT_EQ(unsorted.size(), dump.size());
  Ok({"restore", fresh, "-i", out});
  EXPECT_EQ(Ok({"dump", fresh}), dump);
}

TEST_F(CliTest, CreateRefusesAnExistingFileUnlessForced) {
  const std::string db = Path("db");
  Ok({"create", db});
  Ok({"set", db, "k", "v"});
  Result r = Run({"create", db});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_EQ(Ok({"get", db, "k"}), "v");
  WriteFile(Path("empty"), "");
  EXPECT_EQ(Run({"create", Path("empty")}).exit_code, 1);

  Ok({"create", db, "--force", "--seed", "7"});
  EXPECT_EQ(Ok({"keys", db}), "");
  EXPECT_NE(Ok({"info", db}).find("hash seed:         0x7\n"), std::string::npos);
  EXPECT_EQ(Run({"create", dir_.path(), "--force"}).exit_code, 1);
}

TEST_F(CliTest, InfoShowsHeaderFieldsAndCounts) {
  const std::string db = Path("db");
  Ok({"create", db, "--seed", "12345"});
  for (int i = 0; i < 7; i++) Ok({"set", db, "k" + std::to_string(i), "v"});
  const std::string info = Ok({"info", db});
  struct stat sb;
  ASSERT_EQ(stat(db.c_str(), &sb), 0);
  EXPECT_NE(info.find("backend:           file\n"), std::string::npos) << info;
  EXPECT_NE(info.find("size:              " + std::to_string(sb.st_size) + " bytes\n"),
            std::string::npos)
      << info;
  EXPECT_NE(info.find("records:           7\n"), std::string::npos) << info;
  EXPECT_NE(info.find("version:           0x7074646200000001\n"), std::string::npos) << info;
  EXPECT_NE(info.find("hash seed:         0x3039\n"), std::string::npos) << info;
  EXPECT_NE(info.find("hash check value:  0x"), std::string::npos) << info;
  // A new database locks with robust mutexes and keeps change counts: feature bits 1, 2.
  EXPECT_NE(info.find("features used:     0x3\n"), std::string::npos) << info;
  EXPECT_NE(info.find("capabilities:      0\n"), std::string::npos) << info;
  EXPECT_NE(info.find("zones:             "), std::string::npos) << info;
  EXPECT_NE(info.find("seqnum:            "), std::string::npos) << info;
}

TEST_F(CliTest, SummaryAndWipe) {
  const std::string db = Path("db");
  Ok({"create", db});
  Ok({"set", db, "a", "1"});
  Ok({"set", db, "b", "22"});
  const std::string summary = Ok({"summary", db});
  EXPECT_NE(summary.find("Number of records: 2\n"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("histogram"), std::string::npos);
  EXPECT_NE(Ok({"summary", db, "--histograms"}).find("Data size histogram"), std::string::npos);

  Ok({"wipe", db, "--yes"});
  EXPECT_EQ(Ok({"keys", db}), "");
  EXPECT_NE(Ok({"summary", db}).find("Number of records: 0\n"), std::string::npos);
}

TEST_F(CliTest, RepackKeepsTheRecordsAndShrinksTheFile) {
  const std::string db = Path("db");
  {
    // 2000 records, then all but 100 deleted: most of the file is free space.
    Options options;
    options.open_flags = O_RDWR | O_CREAT;
    std::unique_ptr<Db> handle;
    ASSERT_TRUE(Db::Open(db, options, &handle).ok());
    for (int i = 0; i < 2000; i++) {
      ASSERT_TRUE(handle->Store("key" + std::to_string(i), std::string(200, 'v')).ok());
    }
    for (int i = 100; i < 2000; i++) ASSERT_TRUE(handle->Delete("key" + std::to_string(i)).ok());
  }
  const std::string before_dump = Ok({"dump", db});
  struct stat sb;
  ASSERT_EQ(stat(db.c_str(), &sb), 0);
  const off_t before = sb.st_size;
  const std::string out = Ok({"repack", db});
  EXPECT_NE(out.find(": repacked, 100 records, "), std::string::npos) << out;
  ASSERT_EQ(stat(db.c_str(), &sb), 0);
  EXPECT_LT(sb.st_size, before / 2);
  EXPECT_NE(out.find(std::to_string(before) + " -> " + std::to_string(sb.st_size) + " bytes"),
            std::string::npos)
      << out;
  EXPECT_EQ(Ok({"dump", db}), before_dump);
  EXPECT_NE(Ok({"check", db}).find("ok, 100 records"), std::string::npos);
}

TEST_F(CliTest, RestoreRefusesExistingKeysUnlessReplace) {
  const std::string src = Path("src"), dst = Path("dst");
  Ok({"create", src});
  Ok({"set", src, "a", "new-a"});
  Ok({"set", src, "b", "new-b"});
  Ok({"dump", src, "-o", Path("dump")});
  Ok({"create", dst});
  Ok({"set", dst, "b", "old-b"});

  Result r = Run({"restore", dst, "-i", Path("dump")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 4: key 'b' is already in"), std::string::npos) << r.err;
  // Refused before anything was written: "a" is not there either.
  EXPECT_EQ(Run({"get", dst, "a"}).exit_code, 4);
  EXPECT_EQ(Ok({"get", dst, "b"}), "old-b");

  Ok({"restore", dst, "-i", Path("dump"), "--replace"});
  EXPECT_EQ(Ok({"get", dst, "a"}), "new-a");
  EXPECT_EQ(Ok({"get", dst, "b"}), "new-b");
}

TEST_F(CliTest, RestoreOfMalformedDumpNamesTheLineAndChangesNothing) {
  const std::string db = Path("db");
  const std::string dump = "# ptdb dump v1\nkey=1:a\ndata=1:x\nkey=1:b\ndata=5:xy\n# end 2\n";
  Result r = Run({"restore", db}, dump);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("standard input: line 5: data length is 5"), std::string::npos) << r.err;
  EXPECT_NE(access(db.c_str(), F_OK), 0) << "a malformed dump created the database";

  Ok({"create", db});
  WriteFile(Path("truncated"), dump.substr(0, 34));
  r = Run({"restore", db, "-i", Path("truncated")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(Path("truncated") + ": line 4: "), std::string::npos) << r.err;
  EXPECT_EQ(Ok({"keys", db}), "");

  r = Run({"restore", db, "-i", Path("no-such-file")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot open"), std::string::npos) << r.err;
}

// Every change the tool makes is a transaction (atomic, and synced by its commit): the
// file's counter of committed transactions goes up by one for each set or delete that
// succeeds, and not for one that fails.
TEST_F(CliTest, SetAndDeleteAreOneTransactionEach) {
  const std::string db = Path("db");
  Ok({"create", db});
  const uint64_t created = TxCounter(db);
  Ok({"set", db, "k", "v1"});
  EXPECT_EQ(TxCounter(db), created + 1);
  Ok({"set", db, "k", "v2"});
  EXPECT_EQ(TxCounter(db), created + 2);
  EXPECT_EQ(Run({"set", db, "k", "v3", "--insert"}).exit_code, 1);
  EXPECT_EQ(TxCounter(db), created + 2);
  Ok({"delete", db, "k"});
  EXPECT_EQ(TxCounter(db), created + 3);
  EXPECT_EQ(Run({"delete", db, "k"}).exit_code, 4);
  EXPECT_EQ(TxCounter(db), created + 3);
  Ok({"restore", db}, "# ptdb dump v1\nkey=1:a\ndata=1:x\nkey=1:b\ndata=1:y\n# end 2\n");
  EXPECT_EQ(TxCounter(db), created + 4) << "a restore is one transaction, not one per record";
  EXPECT_EQ(Ok({"get", db, "a"}), "x");
  EXPECT_EQ(Ok({"get", db, "b"}), "y");
  Ok({"wipe", db, "--yes"});
  EXPECT_EQ(TxCounter(db), created + 5);
  EXPECT_EQ(Ok({"keys", db}), "");
}

TEST_F(CliTest, RestoreThatFailsHalfWayRestoresNothing) {
  const std::string db = Path("db");
  Ok({"create", db});
  Ok({"set", db, "kept", "old"});
  // Well formed, but "b" comes twice: found only when the second one is stored.
  const std::string dump =
      "# ptdb dump v1\nkey=1:a\ndata=1:x\nkey=1:b\ndata=1:y\nkey=1:b\ndata=1:z\n# end 3\n";
  Result r = Run({"restore", db}, dump);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 6: key 'b' appears twice in the dump; nothing was restored"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Ok({"keys", db}), "kept\n");
  EXPECT_NE(Ok({"check", db}).find("ok, 1 records"), std::string::npos);
}

// Killed at any moment, a restore leaves the database as it was or with every record:
// check() passes either way.
TEST_F(CliTest, RestoreKilledAnywhereLeavesAllOrNothing) {
  constexpr int kRecords = 20000;
  std::string dump = "# ptdb dump v1\n";
  for (int i = 0; i < kRecords; i++) {
    const std::string key = "key" + std::to_string(i);
    dump += "key=" + std::to_string(key.size()) + ":" + key + "\ndata=40:" + std::string(40, 'v') +
            "\n";
  }
  dump += "# end " + std::to_string(kRecords) + "\n";
  WriteFile(Path("dump"), dump);
  // How long a whole restore takes here: the kills are spread over that and a bit more.
  const auto start = std::chrono::steady_clock::now();
  Ok({"restore", Path("timed"), "-i", Path("dump")});
  const auto whole = std::chrono::steady_clock::now() - start;
  constexpr int kAttempts = 12;
  int all = 0, none = 0;
  for (int attempt = 0; attempt < kAttempts; attempt++) {
    const std::string db = Path("db" + std::to_string(attempt));
    Ok({"create", db});
    Ok({"set", db, "kept", "old"});
    const pid_t pid = Spawn({"restore", db, "-i", Path("dump")}, Path("dump"), Path("stdout"),
                            Path("stderr"), -1);
    std::this_thread::sleep_for(whole * attempt / (kAttempts - 2));
    kill(pid, SIGKILL);
    Wait(pid);
    {
      // A kill inside the commit leaves its bundle to replay: the next read-write open
      // does that (check opens read-only, and says so rather than guess).
      Options o;
      o.open_flags = O_RDWR;
      std::unique_ptr<Db> recovered;
      const Status st = Db::Open(db, o, &recovered);
      ASSERT_TRUE(st.ok()) << "attempt " << attempt << ": " << st.ToString();
    }
    const std::string checked = Ok({"check", db});
    if (checked.find("ok, 1 records") != std::string::npos) {
      none++;
      EXPECT_EQ(Ok({"get", db, "kept"}), "old");
    } else {
      EXPECT_NE(checked.find("ok, " + std::to_string(kRecords + 1) + " records"), std::string::npos)
          << "attempt " << attempt << ": " << checked;
      all++;
    }
  }
  RecordProperty("all", all);
  RecordProperty("none", none);
  EXPECT_GT(none, 0) << "no kill landed before the restore ended";
}

TEST_F(CliTest, ProgressIsSilentWhenStderrIsNotATerminal) {
  const std::string db = Path("db");
  Ok({"create", db});
  for (int i = 0; i < 30; i++) Ok({"set", db, std::to_string(i), "v"});
  Result r = Run({"dump", db, "-o", Path("dump")});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "");
  r = Run({"restore", Path("copy"), "-i", Path("dump")});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "");
  r = Run({"check", db});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "");
}

TEST_F(CliTest, ProgressIsDrawnAndClearedOnATerminal) {
  const std::string db = Path("db");
  Ok({"create", db});
  for (int i = 0; i < 30; i++) Ok({"set", db, std::to_string(i), "v"});

  const int master = posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(master, 0) << "no pseudo-terminal: " << strerror(errno);
  ASSERT_EQ(grantpt(master), 0);
  ASSERT_EQ(unlockpt(master), 0);
  const int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
  ASSERT_GE(slave, 0);
  WriteFile(Path("stdin"), "");
  const pid_t pid =
      Spawn({"dump", db, "-o", Path("dump")}, Path("stdin"), Path("stdout"), "", slave);
  close(slave);
  // Read until the child's side closes (EIO), so the terminal's buffer never fills.
  std::string tty;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(master, buf, sizeof(buf));
    if (n > 0) {
      tty.append(buf, size_t(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  close(master);
  EXPECT_EQ(Wait(pid), 0) << tty;
  EXPECT_NE(tty.find("dump: "), std::string::npos) << tty;
  EXPECT_NE(tty.find("/30 records"), std::string::npos) << tty;
  // The line is erased at the end: the last thing written is a carriage return after blanks.
  ASSERT_FALSE(tty.empty());
  EXPECT_EQ(tty.back(), '\r');
  EXPECT_EQ(tty.find('\n'), std::string::npos) << "progress must stay on one line";
  EXPECT_NE(ReadFile(Path("dump")).find("# end 30\n"), std::string::npos);
}

TEST_F(CliTest, DumpDoesNotOverwriteTheDatabaseOrLeaveAPartialFile) {
  const std::string db = Path("db");
  Ok({"create", db});
  Ok({"set", db, "k", "v"});
  Result r = Run({"dump", db, "-o", db});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Ok({"get", db, "k"}), "v");
  r = Run({"dump", db, "-o", Path("no-such-dir/dump")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot create"), std::string::npos) << r.err;
}

// --- Pools (the pmem backend). They live in the test's directory, /dev/shm by default,
// where the tool sets PMEM_IS_PMEM_FORCE=1 by itself.

constexpr uint64_t kTestPoolSize = 16 << 20;

// The value on the "<name>: " line of info's output, or "" if there is none.
std::string InfoField(const std::string& info, const std::string& name) {
  const std::string prefix = name + ":";
  std::istringstream in(info);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    const size_t value = line.find_first_not_of(' ', prefix.size());
    return value == std::string::npos ? "" : line.substr(value);
  }
  return "";
}

bool StartsAsPool(const std::string& path) {
  char buf[8] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(buf, sizeof(buf));
  return in.gcount() == 8 && std::memcmp(buf, "PMEMOBJ", 8) == 0;
}

// Where the database header lies in a pool file: the public API does not say, so look for
// its magic at a cache-line boundary (the root object puts it at one).
off_t HeaderOffsetInPool(const std::string& path) {
  const std::string bytes = ReadFile(path);
  const size_t len = sizeof(format::kMagicFood) - 1;
  for (size_t off = 0; off + len <= bytes.size(); off += 64) {
    if (bytes.compare(off, len, format::kMagicFood) == 0) return off_t(off);
  }
  return -1;
}

void Overwrite(const std::string& path, off_t off, const std::string& bytes) {
  const int fd = open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(pwrite(fd, bytes.data(), bytes.size(), off), ssize_t(bytes.size()));
  close(fd);
}

class CliPoolTest : public CliTest {
 protected:
  void CreatePool(const std::string& path, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"create", path, "--backend", "pmem", "--pool-size", "16M"};
    args.insert(args.end(), extra.begin(), extra.end());
    Ok(args);
    ASSERT_TRUE(StartsAsPool(path)) << path << " is not a libpmemobj pool";
  }
};

TEST_F(CliPoolTest, RecordCommandsAndInfo) {
  const std::string pool = Path("a.pool");
  CreatePool(pool, {"--seed", "0x1234"});
  EXPECT_EQ(FileSize(pool), kTestPoolSize);
  Ok({"set", pool, "k", "v"});
  Ok({"set", pool, "00ff0a", "5c00", "--hex"});
  Ok({"set", pool, "stdin", "-"}, std::string("a\0b", 3));
  EXPECT_EQ(Run({"set", pool, "k", "w", "--insert"}).exit_code, 1);
  EXPECT_EQ(Run({"set", pool, "absent", "w", "--modify"}).exit_code, 4);
  EXPECT_EQ(Ok({"get", pool, "k"}), "v");
  EXPECT_EQ(Ok({"get", pool, "00ff0a", "--hex"}), "5c00\n");
  EXPECT_EQ(Ok({"get", pool, "stdin"}), std::string("a\0b", 3));
  std::multiset<std::string> keys;
  std::istringstream in(Ok({"keys", pool}));
  for (std::string line; std::getline(in, line);) keys.insert(line);
  EXPECT_EQ(keys, (std::multiset<std::string>{"k", "\\x00\\xff\\n", "stdin"}));
  Ok({"delete", pool, "stdin"});
  EXPECT_EQ(Run({"get", pool, "stdin"}).exit_code, 4);
  EXPECT_EQ(Run({"delete", pool, "stdin"}).exit_code, 4);

  const std::string info = Ok({"info", pool});
  EXPECT_EQ(InfoField(info, "backend"), "pmem") << info;
  EXPECT_EQ(InfoField(info, "pool size"), std::to_string(kTestPoolSize) + " bytes") << info;
  EXPECT_EQ(InfoField(info, "records"), "2") << info;
  EXPECT_EQ(InfoField(info, "hash seed"), "0x1234") << info;
  EXPECT_EQ(InfoField(info, "version"), "0x7074646200000001") << info;
  EXPECT_EQ(InfoField(info, "zones"), "1") << info;
  EXPECT_EQ(InfoField(info, "seqnum"), "0") << info;
  // A pool locks in DRAM: no robust-mutex feature, and nothing it does not offer.
  EXPECT_EQ(InfoField(info, "features used"), "0x0") << info;
  EXPECT_NE(InfoField(info, "features offered"), "") << info;
  // The database lies inside the pool, above libpmemobj's own metadata.
  const uint64_t in_use = std::stoull(InfoField(info, "pool in use"));
  EXPECT_GT(in_use, uint64_t(format::kHeaderSize));
  EXPECT_LE(in_use, kTestPoolSize);
  // The same seed gives the same check value as a file database's header holds.
  Ok({"create", Path("file"), "--seed", "0x1234"});
  const std::string file_info = Ok({"info", Path("file")});
  EXPECT_EQ(InfoField(file_info, "backend"), "file");
  EXPECT_EQ(InfoField(info, "hash check value"), InfoField(file_info, "hash check value"));
  EXPECT_NE(InfoField(info, "hash check value"), "");

  EXPECT_NE(Ok({"summary", pool}).find("Number of records: 2\n"), std::string::npos);
  EXPECT_NE(Ok({"summary", pool, "--histograms"}).find("Data size histogram"), std::string::npos);
  EXPECT_NE(Ok({"check", pool}).find("ok, 2 records"), std::string::npos);
}

TEST_F(CliPoolTest, DumpRestoreRoundTripThroughPools) {
  const std::string src = Path("src.pool");
  CreatePool(src);
  Ok({"set", src, "", "empty key"});
  Ok({"set", src, "0a5c", "", "--hex"});
  Ok({"set", src, "bin", "-"}, std::string("x\0\n\xff", 4));
  for (int i = 0; i < 40; i++) Ok({"set", src, "key" + std::to_string(i), std::to_string(i)});
  const std::string dump = Path("src.dump");
  Ok({"dump", src, "-o", dump});
  const std::string text = ReadFile(dump);
  EXPECT_NE(text.find("\n# end 43\n"), std::string::npos) << text;

  // Into a pool made first, and into one restore makes.
  const std::string made = Path("made.pool");
  CreatePool(made);
  Ok({"restore", made, "-i", dump});
  EXPECT_EQ(Ok({"dump", made}), text);
  const std::string fresh = Path("fresh.pool");
  Ok({"restore", fresh, "--backend", "pmem", "--pool-size", "16M", "-i", dump});
  EXPECT_TRUE(StartsAsPool(fresh));
  EXPECT_EQ(FileSize(fresh), kTestPoolSize);
  EXPECT_EQ(InfoField(Ok({"info", fresh}), "backend"), "pmem");
  EXPECT_EQ(Ok({"dump", fresh}), text);
  EXPECT_EQ(Ok({"get", fresh, "bin"}), std::string("x\0\n\xff", 4));
  EXPECT_NE(Ok({"check", fresh}).find("ok, 43 records"), std::string::npos);

  // A pool's dump restores into a file database, and back.
  const std::string file = Path("file.db");
  Ok({"restore", file}, text);
  EXPECT_EQ(InfoField(Ok({"info", file}), "backend"), "file");
  EXPECT_EQ(Ok({"dump", file}), text);

  // Options describing a new database are refused for an existing one.
  const Result r = Run({"restore", made, "--backend", "pmem", "-i", dump});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("only apply when restore creates FILE"), std::string::npos) << r.err;
}

TEST_F(CliPoolTest, RepackKeepsTheRecordsAndWipeEmptiesThePool) {
  const std::string pool = Path("r.pool");
  {
    // 3000 records of 1000 bytes fill several zones; all but 100 are then deleted.
    Options options;
    options.open_flags = O_RDWR | O_CREAT;
    options.backend = BackendKind::kPmem;
    options.pool_size = kTestPoolSize;
    std::unique_ptr<Db> handle;
    ASSERT_TRUE(Db::Open(pool, options, &handle).ok());
    // In transactions: with PTDB_TEST_DIR on a disk, every commit is an msync.
    ASSERT_TRUE(handle->TransactionStart().ok());
    for (int i = 0; i < 3000; i++) {
      ASSERT_TRUE(handle->Store("key" + std::to_string(i), std::string(1000, 'v')).ok());
    }
    ASSERT_TRUE(handle->TransactionCommit().ok());
    ASSERT_TRUE(handle->TransactionStart().ok());
    for (int i = 100; i < 3000; i++) ASSERT_TRUE(handle->Delete("key" + std::to_string(i)).ok());
    ASSERT_TRUE(handle->TransactionCommit().ok());
  }
  const std::string before_dump = Ok({"dump", pool});
  const std::string before = Ok({"info", pool});
  EXPECT_EQ(InfoField(before, "backend"), "pmem");
  EXPECT_GT(std::stoull(InfoField(before, "zones")), 1u) << before;

  const std::string out = Ok({"repack", pool});
  EXPECT_NE(out.find(": repacked, 100 records, pool in use " +
                     std::to_string(std::stoull(InfoField(before, "pool in use"))) + " -> "),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("(pool size " + std::to_string(kTestPoolSize) + ")"), std::string::npos)
      << out;
  const std::string after = Ok({"info", pool});
  EXPECT_LT(std::stoull(InfoField(after, "pool in use")),
            std::stoull(InfoField(before, "pool in use")));
  EXPECT_LT(std::stoull(InfoField(after, "zones")), std::stoull(InfoField(before, "zones")));
  EXPECT_EQ(FileSize(pool), kTestPoolSize);
  EXPECT_EQ(Ok({"dump", pool}), before_dump);
  EXPECT_NE(Ok({"check", pool}).find("ok, 100 records"), std::string::npos);

  Ok({"wipe", pool, "--yes"});
  EXPECT_EQ(Ok({"keys", pool}), "");
  EXPECT_NE(Ok({"summary", pool}).find("Number of records: 0\n"), std::string::npos);
  EXPECT_NE(Ok({"check", pool}).find("ok, 0 records"), std::string::npos);
  EXPECT_EQ(InfoField(Ok({"info", pool}), "zones"), "1");
}

TEST_F(CliPoolTest, CreateChoosesTheBackendAndRefusesBadSizes) {
  const std::string db = Path("db");
  CreatePool(db);
  Ok({"set", db, "k", "v"});
  Result r = Run({"create", db, "--backend", "pmem"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_EQ(Ok({"get", db, "k"}), "v");

  // --force re-creates the pool: empty, at the default size (64 MiB, as documented).
  Ok({"create", db, "--backend", "pmem", "--force"});
  EXPECT_EQ(Ok({"keys", db}), "");
  EXPECT_EQ(FileSize(db), uint64_t(64) << 20);
  EXPECT_NE(Ok({"create", "--help"}).find("default 64M"), std::string::npos);
  // ... or makes it a file database; a file database back into a pool.
  Ok({"create", db, "--force"});
  EXPECT_EQ(InfoField(Ok({"info", db}), "backend"), "file");
  Ok({"create", db, "--force", "--backend", "pmem", "--pool-size", "8M"});
  EXPECT_EQ(InfoField(Ok({"info", db}), "backend"), "pmem");
  EXPECT_EQ(FileSize(db), uint64_t(8) << 20);

  // Below libpmemobj's minimum: the library's error, and nothing is created.
  r = Run({"create", Path("small"), "--backend", "pmem", "--pool-size", "4M"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("minimum"), std::string::npos) << r.err;
  EXPECT_NE(access(Path("small").c_str(), F_OK), 0);
}

TEST_F(CliPoolTest, DamagedForeignAndBusyPoolsGiveTheDocumentedExitCodes) {
  const std::string pool = Path("a.pool");
  CreatePool(pool);
  for (int i = 0; i < 20; i++) Ok({"set", pool, "key" + std::to_string(i), "value"});
  EXPECT_EQ(Run({"check", pool}).exit_code, 0);
  const off_t header = HeaderOffsetInPool(pool);
  ASSERT_GE(header, 0);

  // Garbage over the first top-level hash group: the checker finds it.
  Overwrite(pool, header + 512, std::string(64, '\xff'));
  Result r = Run({"check", pool});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("Corrupt"), std::string::npos) << r.err;

  // A damaged header: libpmemobj opens the pool, ptdb refuses it; check calls it corrupt.
  Overwrite(pool, header, "XXXX");
  r = Run({"check", pool});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("bad magic"), std::string::npos) << r.err;
  EXPECT_EQ(Run({"get", pool, "key1"}).exit_code, 1);

  // A pool of another program is no ptdb database: exit 1, not 3.
  const std::string other = Path("other.pool");
  PMEMobjpool* pop = pmemobj_create(other.c_str(), "not-ptdb", PMEMOBJ_MIN_POOL, 0600);
  ASSERT_NE(pop, nullptr) << pmemobj_errormsg();
  pmemobj_close(pop);
  for (const char* cmd : {"check", "info", "keys"}) {
    r = Run({cmd, other});
    EXPECT_EQ(r.exit_code, 1) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find("not a ptdb pool"), std::string::npos) << cmd << ": " << r.err;
  }

  // libpmemobj lets one process at a time open a pool.
  const std::string busy = Path("busy.pool");
  CreatePool(busy);
  Ok({"set", busy, "k", "v"});
  {
    Options options;
    options.open_flags = O_RDWR;
    std::unique_ptr<Db> handle;
    ASSERT_TRUE(Db::Open(busy, options, &handle).ok());
    r = Run({"get", busy, "k"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
  }
  EXPECT_EQ(Ok({"get", busy, "k"}), "v");
}

}  // namespace
}  // namespace ptdb::test
