// Counts the changes the calling thread has made to any database.
//
// A traverse copies a run of records under one lock and then calls back for each copy
// with no lock held. If a callback changes the database itself (it may delete a record
// the run holds a copy of), the copies after it may be stale: the traverse sees that
// this count moved and looks at the rest of the run again, under the lock.
#ifndef PTDB_COMMON_WRITE_EPOCH_H_
#define PTDB_COMMON_WRITE_EPOCH_H_

#include <cstdint>

namespace ptdb {

inline uint64_t& LocalWriteEpoch() {
  thread_local uint64_t epoch = 0;
  return epoch;
}

inline void NoteLocalWrite() { LocalWriteEpoch()++; }

}  // namespace ptdb

#endif  // PTDB_COMMON_WRITE_EPOCH_H_
