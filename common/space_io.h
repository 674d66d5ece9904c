// Small typed reads and writes over any Storage (common/storage.h).
#ifndef PTDB_COMMON_SPACE_IO_H_
#define PTDB_COMMON_SPACE_IO_H_

#include <cstdint>
#include <cstring>

#include "common/errors.h"

namespace ptdb {

// These are the engine's most frequent calls (list links, slots, headers): always inlined,
// so over a mapping each is a bounds check and a load or store.

// Copies a trivially copyable T from `off`.
template <class S, class T>
[[gnu::always_inline]] inline Status ReadStruct(S* s, uint64_t off, T* out) {
  const void* p = nullptr;
  Status st = s->Read(off, sizeof(T), out, &p);
  if (st.ok() && p != out) std::memcpy(out, p, sizeof(T));
  return st;
}

template <class S>
[[gnu::always_inline]] inline Status ReadWord(S* s, uint64_t off, uint64_t* v) {
  return ReadStruct(s, off, v);
}

template <class S>
[[gnu::always_inline]] inline Status WriteWord(S* s, uint64_t off, uint64_t v) {
  return s->Write(off, &v, sizeof(v));
}

// kCorrupt unless the record described by `info` lies inside the space. Called before
// anything is sized from a header's lengths, so a corrupt length of 2^40 is an error,
// not a 1 TB allocation.
template <class S, class Info>
inline Status CheckRecordFits(S* s, uint64_t off, const Info& info) {
  const uint64_t size = s->size();
  if (info.key_len > size || info.data_len > size || info.padding > size || off > size ||
      info.TotalSize() > size - off) {
    return Err(Error::kCorrupt, "record at %llu claims %llu bytes, past the end of the database",
               (unsigned long long)off, (unsigned long long)info.TotalSize());
  }
  return Status::OK();
}

}  // namespace ptdb

#endif  // PTDB_COMMON_SPACE_IO_H_
