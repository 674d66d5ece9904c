// Keys that name their own hash, so a test can place them in the hash tree where it wants
// (one top-level group, one bucket, a sub-group that must double).
#ifndef PTDB_TESTS_SUPPORT_NAMED_HASH_H_
#define PTDB_TESTS_SUPPORT_NAMED_HASH_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace ptdb::test {

// "h" and 16 hex digits: the key whose NamedHash is `hash`.
std::string KeyFor(uint64_t hash);

// The hash a KeyFor key names; anything else (the header's test value) gets FNV-1a.
// For Options::hash.
uint64_t NamedHash(const void* key, size_t len, uint64_t seed);

}  // namespace ptdb::test

#endif  // PTDB_TESTS_SUPPORT_NAMED_HASH_H_
