#include "pmem/pmem_header.h"

#include <cstring>

#include "common/hash.h"
#include "common/record.h"
#include "common/space_io.h"

namespace ptdb {

Status ValidatePoolHeader(const format::Header& h, const HashConfig& hash,
                          const std::string& name) {
  char expected[sizeof(h.magic_food)] = {};
  std::memcpy(expected, format::kMagicFood, sizeof(format::kMagicFood));
  if (std::memcmp(h.magic_food, expected, sizeof(expected)) != 0) {
    return Err(Error::kCorrupt, "%s: the pool's header is not a ptdb header (bad magic)",
               name.c_str());
  }
  if (h.version != format::kVersion) {
    return Err(Error::kCorrupt, "%s has format version %#llx; this library reads %#llx",
               name.c_str(), (unsigned long long)h.version, (unsigned long long)format::kVersion);
  }
  if (h.hash_test != HashTestValue(hash)) {
    return Err(Error::kEinval, "%s uses a different hash function", name.c_str());
  }
  if (h.features_used & ~h.features_offered) {
    return Err(Error::kCorrupt, "%s uses features (%#llx) it does not offer (%#llx)", name.c_str(),
               (unsigned long long)h.features_used, (unsigned long long)h.features_offered);
  }
  if (h.first_zone < format::kHeaderSize) {
    return Err(Error::kCorrupt, "%s: first zone at %llu, inside the header", name.c_str(),
               (unsigned long long)h.first_zone);
  }
  return Status::OK();
}

Status ApplyPoolCapabilities(PmemStorage* s, uint64_t cap, bool writable, unsigned* flags,
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
