// The oracles on the data: which keys exist, and values that carry their key and a
// checkable pattern, so that a worker's read and the parent's final check can both tell
// another key's bytes or torn bytes from what was written.
#ifndef PTDB_TOOLS_TORTURE_RECORDS_H_
#define PTDB_TOOLS_TORTURE_RECORDS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ptdb/status.h"

namespace ptdb::torture {

// ---------------------------------------------------------------------------------------
// Keys and values.

class KeySpace {
 public:
  explicit KeySpace(unsigned keys);
  const std::string& Key(size_t i) const { return names_[i]; }
  size_t size() const { return names_.size(); }
  const std::string& Counter(unsigned c) const { return counters_[c]; }
  bool Known(std::string_view key) const { return known_.count(std::string(key)) != 0; }
  bool IsCounter(std::string_view key) const {
    auto it = known_.find(std::string(key));
    return it != known_.end() && !it->second;
  }

 private:
  std::vector<std::string> names_;
  std::vector<std::string> counters_;
  std::unordered_map<std::string, bool> known_;  // key -> ordinary (not a counter)
};

// A chunk of `len` payload bytes tagged with `key` (the layout is in records.cc).
std::string MakeChunk(std::string_view key, uint32_t nonce, size_t len);

// Empty when `value` is whole chunks of `key`; else what is wrong with it.
std::string ValueProblem(std::string_view key, std::string_view value);

bool ParseCounter(std::string_view v, uint64_t* n);

// What the final Check() verifies about every record.
Status CheckRecord(const KeySpace& keys, std::string_view key, std::string_view data);

}  // namespace ptdb::torture

#endif  // PTDB_TOOLS_TORTURE_RECORDS_H_
