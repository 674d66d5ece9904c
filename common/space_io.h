// Small typed reads and writes over any Storage (common/storage.h).
#ifndef PTDB_COMMON_SPACE_IO_H_
#define PTDB_COMMON_SPACE_IO_H_

#include <cstdint>
#include <cstring>

#include "common/errors.h"
#include "common/record.h"

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

// The used record (key/data) at `off`: *info from its header and, when the storage can
// point at the whole record (Storage::Span), *body at its key, data following. Otherwise
// *body is null and the caller reads them with Read. kCorrupt if there is no used record
// at `off` or it runs past the space. One bounds check where separate reads of header
// and body made three.
template <class S>
[[gnu::always_inline]] inline Status ReadUsedRecord(S* s, uint64_t off, RecordInfo* info,
                                                    const uint8_t** body) {
  uint64_t avail = 0;
  const uint8_t* p = s->Span(off, &avail);
  format::UsedHeader hdr;
  if (p != nullptr && avail >= sizeof(hdr)) {
    std::memcpy(&hdr, p, sizeof(hdr));
  } else {
    p = nullptr;
    PTDB_RETURN_IF_ERROR(ReadStruct(s, off, &hdr));
  }
  *info = DecodeUsedHeader(hdr);
  if (info->magic != format::kUsedMagic) {
    return Err(Error::kCorrupt, "hash entry points at %llu, which is not a record",
               (unsigned long long)off);
  }
  if (p != nullptr && info->TotalSize() <= avail) {
    *body = p + format::kUsedHeaderSize;
    return Status::OK();
  }
  *body = nullptr;
  return CheckRecordFits(s, off, *info);
}

}  // namespace ptdb

#endif  // PTDB_COMMON_SPACE_IO_H_
