#include "common/space_scan.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "common/check_util.h"
#include "common/record.h"

namespace ptdb {
namespace check_util {

// Reads len bytes at off into buf (which has room for them), whatever the backend does.
Status ReadInto(SpaceReader& space, uint64_t off, size_t len, void* buf, const char* what) {
  const void* p = nullptr;
  Status s = space.Read(off, len, buf, &p);
  if (!s.ok()) {
    if (!s.IsCorrupt()) return s;
    return Corrupt(what, " at ", off, ": cannot read ", len, " bytes (", s.message(), ")");
  }
  if (p != buf && len > 0) std::memcpy(buf, p, len);
  return Status::OK();
}

const char* KindName(RecordKind kind) {
  switch (kind) {
    case RecordKind::kUsed:
      return "used record";
    case RecordKind::kSubGroup:
      return "sub-group";
    case RecordKind::kChain:
      return "chain";
    case RecordKind::kCapability:
      return "capability record";
    case RecordKind::kFree:
      return "free record";
  }
  return "record";
}

}  // namespace check_util

namespace {

using check_util::Corrupt;
using check_util::Hex;
using check_util::KindName;
using check_util::ReadInto;
using format::Header;
using format::UsedHeader;
using format::ZoneBody;

// ---- The linear scan ----

Status CheckExtents(const std::vector<Extent>& extents) {
  if (extents.empty()) return Corrupt("the space has no extents");
  uint64_t prev_end = format::kHeaderSize;
  for (const Extent& e : extents) {
    if (e.off % format::kRecordAlign != 0 || e.len % format::kRecordAlign != 0 || e.len == 0 ||
        e.off < prev_end || e.len > format::kOffsetLimit - e.off) {
      return Corrupt("extent [", e.off, ", +", e.len,
                     ") is empty, unaligned, out of order or past the offset limit");
    }
    prev_end = e.end();
  }
  return Status::OK();
}

// Checks a used-style header of an internal record: key length 0 and hash bits 0.
Status CheckInternalHeader(const RecordInfo& info, uint64_t off) {
  if (info.key_len != 0 || info.hash_bits != 0) {
    return Corrupt("record at ", off, " (magic ", Hex{info.magic}, "): key length ", info.key_len,
                   " and hash bits ", info.hash_bits, ", expected 0 and 0");
  }
  return Status::OK();
}

}  // namespace

Status ParseUsedRecord(SpaceReader& space, uint64_t off, uint64_t left, const UsedHeader& h,
                       ScannedRecord* rec) {
  const RecordInfo info = DecodeUsedHeader(h);
  UsedHeader again;
  if (!EncodeUsedHeader(info, &again) || again.magic_and_meta != h.magic_and_meta ||
      again.key_and_data_len != h.key_and_data_len) {
    return Corrupt("record at ", off, ": header ", Hex{h.magic_and_meta}, " ",
                   Hex{h.key_and_data_len}, " is not a well-formed record header");
  }
  switch (info.magic) {
    case format::kUsedMagic:
      rec->kind = RecordKind::kUsed;
      break;
    case format::kSubHashMagic:
      rec->kind = RecordKind::kSubGroup;
      if (Status s = CheckInternalHeader(info, off); !s.ok()) return s;
      if (info.data_len != 64 && info.data_len != 128 && info.data_len != 256 &&
          info.data_len != 512) {
        return Corrupt("sub-group at ", off, ": data length ", info.data_len,
                       ", expected 64, 128, 256 or 512");
      }
      break;
    case format::kChainMagic:
      rec->kind = RecordKind::kChain;
      if (Status s = CheckInternalHeader(info, off); !s.ok()) return s;
      if (info.data_len != format::kChainDataLen) {
        return Corrupt("chain at ", off, ": data length ", info.data_len, ", expected ",
                       format::kChainDataLen);
      }
      break;
    case format::kCapMagic:
      rec->kind = RecordKind::kCapability;
      if (Status s = CheckInternalHeader(info, off); !s.ok()) return s;
      if (info.data_len < sizeof(format::CapabilityBody)) {
        return Corrupt("capability record at ", off, ": data length ", info.data_len,
                       ", expected at least ", sizeof(format::CapabilityBody));
      }
      break;
    case format::kZoneMagic:
      return Corrupt("record at ", off, ": a zone record inside a zone");
    default:
      return Corrupt("record at ", off, ": bad magic ", Hex{info.magic});
  }
  // Each part is checked on its own first, so the sum cannot overflow.
  const uint64_t room = left - format::kUsedHeaderSize;
  if (info.key_len > room || info.data_len > room || info.padding > room ||
      info.Capacity() > room) {
    return Corrupt("record at ", off, ": ", info.key_len, "+", info.data_len, "+", info.padding,
                   " bytes of key, data and padding but only ", room, " left in its zone");
  }
  if (info.TotalSize() % format::kRecordAlign != 0) {
    return Corrupt("record at ", off, ": total size ", info.TotalSize(), " is not a multiple of ",
                   format::kRecordAlign);
  }
  if (rec->kind == RecordKind::kUsed && info.padding > 0) {
    uint8_t first = 0;
    const uint64_t pad_off = off + format::kUsedHeaderSize + info.key_len + info.data_len;
    if (Status s = ReadInto(space, pad_off, 1, &first, "padding"); !s.ok()) return s;
    if (first != 0) {
      return Corrupt("record at ", off, ": first padding byte (at ", pad_off, ") is ",
                     unsigned(first), ", expected 0");
    }
  }
  rec->size = info.TotalSize();
  rec->key_len = info.key_len;
  rec->data_len = info.data_len;
  rec->padding = info.padding;
  rec->hash_bits = info.hash_bits;
  return Status::OK();
}

namespace {

Status ScanZoneRecords(SpaceReader& space, uint64_t start, uint64_t end, uint32_t zone,
                       std::vector<ScannedRecord>* out) {
  uint64_t off = start;
  while (off < end) {
    const uint64_t left = end - off;
    if (left < format::kMinRecord) {
      return Corrupt("record at ", off, ": only ", left, " bytes left before the zone end at ",
                     end);
    }
    uint64_t w[3];
    if (Status s = ReadInto(space, off, sizeof(w), w, "record"); !s.ok()) return s;
    ScannedRecord rec;
    rec.off = off;
    rec.zone = zone;
    if (IsFreeRecord(w[0])) {
      const format::FreeRecord f{w[0], w[1], w[2]};
      const uint64_t len = FreeLen(f);
      if (len < format::kMinDataLen || len % format::kRecordAlign != 0) {
        return Corrupt("free record at ", off, ": length ", len,
                       ", expected a multiple of 8 of at least ", format::kMinDataLen);
      }
      if (len > left - format::kUsedHeaderSize) {
        return Corrupt("free record at ", off, ": length ", len, " runs past the zone end at ",
                       end);
      }
      rec.kind = RecordKind::kFree;
      rec.size = format::kUsedHeaderSize + len;
      rec.data_len = len;
      rec.bucket = FreeBucket(f);
    } else {
      if (Status s = ParseUsedRecord(space, off, left, UsedHeader{w[0], w[1]}, &rec); !s.ok()) {
        return s;
      }
    }
    out->push_back(rec);
    off += rec.size;
  }
  return Status::OK();
}

Status CheckZoneRecord(const UsedHeader& h, uint64_t off) {
  const RecordInfo info = DecodeUsedHeader(h);
  UsedHeader again;
  const bool canonical = EncodeUsedHeader(info, &again) &&
                         again.magic_and_meta == h.magic_and_meta &&
                         again.key_and_data_len == h.key_and_data_len;
  if (!canonical || info.magic != format::kZoneMagic || info.key_len != 0 ||
      info.data_len != sizeof(ZoneBody) || info.padding != 0 || info.hash_bits != 0) {
    return Corrupt("zone at ", off, ": header ", Hex{h.magic_and_meta}, " ",
                   Hex{h.key_and_data_len}, " is not a zone record (magic ",
                   Hex{format::kZoneMagic}, ", data length ", sizeof(ZoneBody), ")");
  }
  return Status::OK();
}

}  // namespace

const ScannedRecord* ScannedSpace::Find(uint64_t off) const {
  auto it = std::lower_bound(records.begin(), records.end(), off,
                             [](const ScannedRecord& r, uint64_t o) { return r.off < o; });
  return it != records.end() && it->off == off ? &*it : nullptr;
}

Status ReadHeader(SpaceReader& space, Header* header) {
  return ReadInto(space, 0, sizeof(Header), header, "header");
}

Status ScanSpace(SpaceReader& space, uint64_t first_zone, ScannedSpace* out) {
  const std::vector<Extent> extents = space.Extents();
  if (Status s = CheckExtents(extents); !s.ok()) return s;
  out->end = extents.back().end();
  if (first_zone != extents[0].off) {
    return Corrupt("first zone at ", first_zone, " but the space starts at ", extents[0].off);
  }
  size_t ext = 0;
  uint64_t off = first_zone;
  // Each zone starts where the last ended, so the walk cannot loop.
  for (;;) {
    struct {
      UsedHeader h;
      ZoneBody body;
    } z;
    static_assert(sizeof(z) == format::kZoneRecordSize);
    const uint64_t room = extents[ext].end() - off;
    if (room < format::kZoneRecordSize) {
      return Corrupt("zone at ", off, ": only ", room, " bytes left in its extent");
    }
    if (Status s = ReadInto(space, off, sizeof(z), &z, "zone"); !s.ok()) return s;
    if (Status s = CheckZoneRecord(z.h, off); !s.ok()) return s;
    const uint64_t size = z.body.zone_size;
    if (size < format::kZoneRecordSize || size % format::kRecordAlign != 0 || size > room) {
      return Corrupt("zone at ", off, ": size ", size, ", expected a multiple of 8 from ",
                     format::kZoneRecordSize, " to the ", room, " bytes left in its extent");
    }
    if (out->zones.size() >= UINT32_MAX) return Corrupt("too many zones");
    const uint32_t index = uint32_t(out->zones.size());
    ScannedZone zone;
    zone.off = off;
    zone.size = size;
    std::memcpy(zone.buckets, z.body.buckets, sizeof(zone.buckets));
    out->zones.push_back(zone);
    if (Status s =
            ScanZoneRecords(space, off + format::kZoneRecordSize, off + size, index, &out->records);
        !s.ok()) {
      return s;
    }
    uint64_t expected = off + size;
    if (expected == extents[ext].end()) {
      expected = ++ext < extents.size() ? extents[ext].off : 0;
    }
    if (z.body.next_zone != expected) {
      if (expected == 0) {
        return Corrupt("zone at ", off, ": next zone ", z.body.next_zone,
                       " but it ends the space at ", off + size);
      }
      return Corrupt("zone at ", off, ": next zone ", z.body.next_zone, " but the next byte after ",
                     "it is at ", expected, " (zones must tile the space)");
    }
    if (expected == 0) return Status::OK();
    off = expected;
  }
}

}  // namespace ptdb
