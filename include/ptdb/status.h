// Status: the outcome of every ptdb call, returned by value.
//
// The codes are TDB2's (same names, same numbers), so code ported from tdb
// recognises them. The message travels inside the Status, which makes error
// reporting thread-safe by construction: there is no "last error" slot.
// Success, and an error without a message, allocate nothing.
#ifndef PTDB_STATUS_H_
#define PTDB_STATUS_H_

#include <memory>
#include <string>
#include <string_view>

#include "ptdb/export.h"

namespace ptdb {

enum class Error : int {
  kSuccess = 0,
  kCorrupt = -1,  // the database is not what it should be
  kIo = -2,       // the operating system refused a read, write or sync
  kLock = -3,     // a lock could not be taken (would block, or misuse)
  kOom = -4,      // out of memory (or, for a pool, out of pool space)
  kExists = -5,   // insert of a key that is present
  kNoExist = -6,  // the key (or record) is absent
  kEinval = -7,   // invalid argument
  kRdonly = -8,   // write attempted on a read-only handle
};

// TDB2's strings for each code ("Success", "Corrupt database", ...).
PTDB_EXPORT const char* ErrorString(Error code) noexcept;

class [[nodiscard]] PTDB_EXPORT Status {
 public:
  Status() noexcept = default;
  Status(Error code, std::string_view message);

  static Status OK() noexcept { return Status(); }
  // A kLock error that only says a lock was not available at once (a lock hook answered
  // EAGAIN or EINTR): an expected outcome of non-blocking use, so it is never logged.
  static Status WouldBlock(std::string_view message);

  bool ok() const noexcept { return code_ == Error::kSuccess; }
  Error code() const noexcept { return code_; }
  // Empty on success.
  std::string_view message() const noexcept;
  // "<ErrorString>: <message>", or "Success".
  std::string ToString() const;

  bool IsNoExist() const noexcept { return code() == Error::kNoExist; }
  bool IsCorrupt() const noexcept { return code() == Error::kCorrupt; }
  bool IsWouldBlock() const noexcept { return state_ && state_->would_block; }

 private:
  // Only when there is something to say: an answer without a message (kNoExist from a
  // fetch that missed) allocates nothing either.
  struct State {
    std::string message;
    bool would_block;
  };
  Error code_ = Error::kSuccess;
  std::shared_ptr<const State> state_;
};

}  // namespace ptdb

#endif  // PTDB_STATUS_H_
