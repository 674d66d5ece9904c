// What opening a database checks before it trusts anything its header says: the same
// rules for a file and a pool. Each backend adds what only it knows (where its first zone
// must start, how long the file must be).
#ifndef PTDB_COMMON_HEADER_CHECKS_H_
#define PTDB_COMMON_HEADER_CHECKS_H_

#include <cstdint>
#include <string>

#include "common/engine.h"
#include "common/errors.h"
#include "common/format.h"
#include "common/hash.h"
#include "common/record.h"
#include "common/space_io.h"
#include "ptdb/options.h"
#include "ptdb/status.h"

namespace ptdb {

// kCorrupt (or kEinval for a different hash function) unless h is a header this library
// can use. hash must carry the header's seed.
Status ValidateHeader(const format::Header& h, const HashConfig& hash, const std::string& name);

// Walks the capability list from `cap`: an unknown capability limits what the handle may
// do (kIo: may not open; kRdonly: may not write; *flags |= kCantCheck).
template <class S>
Status ApplyCapabilities(S* s, uint64_t cap, bool writable, unsigned* flags,
                         const std::string& name) {
  for (uint64_t n = 0; cap != 0; n++) {
    if (n > s->size() / format::kMinRecord)
      return Err(Error::kCorrupt, "%s: capability list loops", name.c_str());
    format::UsedHeader hdr;
    format::CapabilityBody body;
    PTDB_RETURN_IF_ERROR(ReadStruct(s, cap, &hdr));
    PTDB_RETURN_IF_ERROR(ReadStruct(s, cap + format::kUsedHeaderSize, &body));
    if (RecordMagic(hdr.magic_and_meta) != format::kCapMagic) {
      return Err(Error::kCorrupt, "%s: capability at %llu has a bad magic", name.c_str(),
                 (unsigned long long)cap);
    }
    // No capability is known yet, so each one's "what if unknown" bits apply.
    if (body.type & format::kCapNoOpen) {
      return Err(Error::kIo,
                 "%s has capability %llu, unknown to this library, which forbids opening",
                 name.c_str(), (unsigned long long)(body.type & format::kCapTypeMask));
    }
    if ((body.type & format::kCapNoWrite) && writable) {
      return Err(Error::kRdonly,
                 "%s has capability %llu, unknown to this library, which forbids writing: open it "
                 "read-only",
                 name.c_str(), (unsigned long long)(body.type & format::kCapTypeMask));
    }
    if (body.type & format::kCapNoCheck) *flags |= kCantCheck;
    cap = body.next;
  }
  return Status::OK();
}

}  // namespace ptdb

#endif  // PTDB_COMMON_HEADER_CHECKS_H_
