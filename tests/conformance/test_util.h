// Small helpers shared by ptdb's behavioural tests: status assertions, whole-database
// dumps and raw file access. Header-only so any test binary can use it.
#ifndef PTDB_TESTS_CONFORMANCE_TEST_UTIL_H_
#define PTDB_TESTS_CONFORMANCE_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "ptdb/db.h"
#include "ptdb/status.h"

namespace ptdb {

// Lets GoogleTest print error codes by name.
inline void PrintTo(Error code, std::ostream* os) {
  *os << ErrorString(code) << " (" << int(code) << ")";
}

}  // namespace ptdb

#define PTDB_ASSERT_OK(expr)                                                    \
  do {                                                                          \
    const ::ptdb::Status ptdb_status_ = (expr);                                 \
    ASSERT_TRUE(ptdb_status_.ok()) << #expr << ": " << ptdb_status_.ToString(); \
  } while (0)

#define PTDB_EXPECT_OK(expr)                                                    \
  do {                                                                          \
    const ::ptdb::Status ptdb_status_ = (expr);                                 \
    EXPECT_TRUE(ptdb_status_.ok()) << #expr << ": " << ptdb_status_.ToString(); \
  } while (0)

namespace ptdb::test {

using Dump = std::map<std::string, std::string>;

// Every record, read through Traverse. A key seen twice is a test failure.
inline Dump DumpDb(Db* db) {
  Dump out;
  const Status s = db->Traverse([&](std::string_view key, std::string_view data) {
    const bool fresh = out.emplace(std::string(key), std::string(data)).second;
    EXPECT_TRUE(fresh) << "Traverse visited key '" << key << "' twice";
    return true;
  });
  EXPECT_TRUE(s.ok()) << "Traverse: " << s.ToString();
  return out;
}

// The keys in FirstKey/NextKey order: the hash tree's.
inline std::vector<std::string> KeyOrder(Db* db) {
  std::vector<std::string> keys;
  std::string key;
  Status s = db->FirstKey(&key);
  for (; s.ok(); s = db->NextKey(&key)) keys.push_back(key);
  EXPECT_EQ(s.code(), Error::kNoExist) << "FirstKey/NextKey: " << s.ToString();
  return keys;
}

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A database file's bytes without its lock state: the mutex area of a kMutex file
// (after the header) is written by every open that takes a lock, and is not data.
inline std::string ReadDataBytes(const std::string& path) {
  std::string bytes = ReadFileBytes(path);
  constexpr size_t kFeatures = 112, kAreaStart = 8704, kAreaEnd = 8704 + 16384;
  uint64_t features = 0;
  if (bytes.size() >= kAreaEnd) {
    std::memcpy(&features, bytes.data() + kFeatures, sizeof(features));
    if (features & 1) std::fill(bytes.begin() + kAreaStart, bytes.begin() + kAreaEnd, '\0');
  }
  return bytes;
}

inline void WriteFileBytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  ASSERT_TRUE(out.good()) << "writing " << path;
}

// Case-insensitive substring test, for error messages.
inline bool MentionsWord(std::string_view text, std::string_view word) {
  auto lower = [](std::string_view s) {
    std::string r(s);
    for (char& c : r) c = char(std::tolower(static_cast<unsigned char>(c)));
    return r;
  };
  return lower(text).find(lower(word)) != std::string::npos;
}

}  // namespace ptdb::test

#endif  // PTDB_TESTS_CONFORMANCE_TEST_UTIL_H_
