// What tests read of a database file from outside the library: its size, and header
// words (which lock mode the file records, how many transactions it committed).
#ifndef PTDB_TESTS_SUPPORT_FILE_FACTS_H_
#define PTDB_TESTS_SUPPORT_FILE_FACTS_H_

#include <cstdint>
#include <string>

namespace ptdb::test {

// The file's size in bytes, or 0 if it cannot be stat'ed.
uint64_t FileSize(const std::string& path);

// The header's features_used word, or all ones if the header cannot be read.
uint64_t FeaturesUsed(const std::string& path);

// The header's tx_counter (the number of the last committed transaction), or all ones if
// the header cannot be read.
uint64_t TxCounter(const std::string& path);

}  // namespace ptdb::test

#endif  // PTDB_TESTS_SUPPORT_FILE_FACTS_H_
