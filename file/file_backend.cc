#include "file/file_backend.h"

#include "common/check.h"
#include "common/space_reader.h"
#include "common/summary.h"

namespace ptdb {

Status FileBackend::Check(const CheckFn& fn) {
  StorageReader<FileStorage> reader(storage_.get());
  const HashConfig hash = engine_.hash();
  return CheckDatabase(
      reader, [&hash](const void* key, size_t len) { return hash(key, len); }, fn);
}

Status FileBackend::Summary(bool histograms, std::string* report) {
  StorageReader<FileStorage> reader(storage_.get());
  return SummarizeDatabase(reader, histograms, report);
}

Status FileBackend::ApplyFlags(unsigned flags) { return storage_->SetMmap((flags & kNoMmap) == 0); }

}  // namespace ptdb
