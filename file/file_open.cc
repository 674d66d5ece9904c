// Opening a database file: open(2), the open hook, creation of an empty file, header
// validation, then mapping. Nothing is written to a file until its header has been
// validated (or the file was empty and we were asked to create it).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "common/format.h"
#include "common/hash.h"
#include "file/file_backend.h"

namespace ptdb {
namespace {

// The first zone of a new database: small, so an empty database is small.
constexpr uint64_t kFirstZoneSize = 8192;

uint64_t RandomSeed() {
  std::random_device rd;  // /dev/urandom on Linux
  return (uint64_t(rd()) << 32) ^ rd();
}

Status ValidateHeader(const format::Header& h, const HashConfig& hash, const std::string& name) {
  char expected[sizeof(h.magic_food)] = {};
  std::memcpy(expected, format::kMagicFood, sizeof(format::kMagicFood));
  if (std::memcmp(h.magic_food, expected, sizeof(expected)) != 0) {
    return Err(Error::kCorrupt, "%s is not a ptdb database (bad magic)", name.c_str());
  }
  if (h.version != format::kVersion) {
    if (__builtin_bswap64(h.version) == format::kVersion) {
      return Err(Error::kCorrupt,
                 "%s was written on a host of the other byte order, which is not supported",
                 name.c_str());
    }
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
  if (h.first_zone != format::kHeaderSize) {
    return Err(Error::kCorrupt, "%s: first zone at %llu, expected %llu", name.c_str(),
               (unsigned long long)h.first_zone, (unsigned long long)format::kHeaderSize);
  }
  return Status::OK();
}

// Walks the capability list: what this code does not understand limits what it may do.
Status ApplyCapabilities(FileStorage* s, uint64_t cap, bool writable, unsigned* flags,
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

Status CreateFile(int fd, const HashConfig& hash, Stats* stats, std::unique_ptr<FileStorage>* out) {
  const uint64_t size = format::kHeaderSize + kFirstZoneSize;
  const int err = posix_fallocate(fd, 0, off_t(size));
  if (err != 0) return Err(Error::kIo, "cannot size the new database: %s", strerror(err));
  PTDB_RETURN_IF_ERROR(FileStorage::OpenFile(fd, size, true, false, out));
  PTDB_RETURN_IF_ERROR(
      InitializeDatabase(out->get(), hash, Extent{format::kHeaderSize, kFirstZoneSize}, stats));
  return Status::OK();
}

}  // namespace

Status FileBackend::Open(const std::string& name, const Options& options, Stats* stats,
                         unsigned* flags, std::unique_ptr<Backend>* out) {
  HashConfig hash;
  hash.fn = options.hash;
  const bool create = (options.open_flags & O_CREAT) || options.open_hook;
  if (options.flags & kInternal) {
    hash.seed = options.seed ? *options.seed : RandomSeed();
    const uint64_t size = format::kHeaderSize + kFirstZoneSize;
    std::unique_ptr<FileStorage> storage = FileStorage::OpenMemory(size);
    if (!storage) return Err(Error::kOom, "cannot allocate an in-memory database");
    PTDB_RETURN_IF_ERROR(InitializeDatabase(storage.get(), hash,
                                            Extent{format::kHeaderSize, kFirstZoneSize}, stats));
    std::unique_ptr<FileBackend> b(new FileBackend(std::move(storage), hash, stats));
    PTDB_RETURN_IF_ERROR(b->engine_.Load());
    *out = std::move(b);
    return Status::OK();
  }

  const bool writable = (options.open_flags & O_ACCMODE) == O_RDWR;
  const int fd = open(name.c_str(), options.open_flags | O_CLOEXEC, options.mode);
  if (fd < 0) return Err(Error::kIo, "cannot open %s: %s", name.c_str(), strerror(errno));
  std::unique_ptr<FileStorage> storage;
  auto fail = [&](Status st) {
    if (!storage) close(fd);
    return st;
  };
  if (options.open_hook) {
    Status st = options.open_hook(fd);
    if (!st.ok()) return fail(st);
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0)
    return fail(Err(Error::kIo, "cannot stat %s: %s", name.c_str(), strerror(errno)));
  const uint64_t size = uint64_t(sb.st_size);
  if (size == 0) {
    if (!create || !writable)
      return fail(Err(Error::kCorrupt, "%s is empty: not a ptdb database", name.c_str()));
    hash.seed = options.seed ? *options.seed : RandomSeed();
    Status st = CreateFile(fd, hash, stats, &storage);
    if (!st.ok()) return fail(st);
    PTDB_RETURN_IF_ERROR(storage->Sync());
  } else {
    if (size < format::kHeaderSize)
      return fail(Err(Error::kCorrupt, "%s is %llu bytes, shorter than a ptdb header", name.c_str(),
                      (unsigned long long)size));
    format::Header h;
    if (pread(fd, &h, sizeof(h), 0) != ssize_t(sizeof(h)))
      return fail(
          Err(Error::kIo, "cannot read the header of %s: %s", name.c_str(), strerror(errno)));
    if (options.seed && !(options.open_flags & O_CREAT))
      return fail(Err(Error::kEinval, "a seed can only be given when creating a database"));
    hash.seed = h.hash_seed;
    Status st = ValidateHeader(h, hash, name);
    if (!st.ok()) return fail(st);
    st = FileStorage::OpenFile(fd, size, writable, false, &storage);
    if (!st.ok()) return fail(st);
    PTDB_RETURN_IF_ERROR(ApplyCapabilities(storage.get(), h.capabilities, writable, flags, name));
    // A writer that does not know a feature clears its bit, so readers that do know it
    // can tell an older writer has been here (design: "Extending The Header").
    if (writable && (h.features_used & ~format::kFeaturesKnown)) {
      PTDB_RETURN_IF_ERROR(WriteWord(storage.get(), offsetof(format::Header, features_used),
                                     h.features_used & format::kFeaturesKnown));
    }
  }
  PTDB_RETURN_IF_ERROR(storage->SetMmap((options.flags & kNoMmap) == 0));
  std::unique_ptr<FileBackend> b(new FileBackend(std::move(storage), hash, stats));
  PTDB_RETURN_IF_ERROR(b->engine_.Load());
  *out = std::move(b);
  return Status::OK();
}

}  // namespace ptdb
