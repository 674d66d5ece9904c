#include "ptdb/status.h"

namespace ptdb {

const char* ErrorString(Error code) noexcept {
  switch (code) {
    case Error::kSuccess:
      return "Success";
    case Error::kCorrupt:
      return "Corrupt database";
    case Error::kIo:
      return "IO Error";
    case Error::kLock:
      return "Locking error";
    case Error::kOom:
      return "Out of memory";
    case Error::kExists:
      return "Record exists";
    case Error::kNoExist:
      return "Record does not exist";
    case Error::kEinval:
      return "Invalid parameter";
    case Error::kRdonly:
      return "write not permitted";
  }
  return "Invalid error code";
}

Status::Status(Error code, std::string_view message) : code_(code) {
  if (code != Error::kSuccess && !message.empty()) {
    state_ = std::make_shared<const State>(State{std::string(message), false});
  }
}

Status Status::WouldBlock(std::string_view message) {
  Status st;
  st.code_ = Error::kLock;
  st.state_ = std::make_shared<const State>(State{std::string(message), true});
  return st;
}

std::string_view Status::message() const noexcept {
  return state_ ? std::string_view(state_->message) : std::string_view();
}

std::string Status::ToString() const {
  if (ok()) return "Success";
  std::string s = ErrorString(code());
  if (state_ != nullptr && !state_->message.empty()) s += ": " + state_->message;
  return s;
}

}  // namespace ptdb
