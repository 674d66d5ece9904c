#include "tools/dump_format.h"

namespace ptdb::cli {
namespace {

constexpr std::string_view kEndPrefix = "# end ";

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string HexByte(unsigned char c) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string{'0', 'x', kDigits[c >> 4], kDigits[c & 15]};
}

// The decoder proper. On failure, *bad is the index in `text` of the offending byte and
// *why says what is wrong.
bool Decode(std::string_view text, std::string* out, size_t* bad, std::string* why) {
  out->clear();
  out->reserve(text.size());
  for (size_t i = 0; i < text.size(); i++) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c != '\\') {
      if (c < 0x20 || c > 0x7e) {
        *bad = i;
        *why = "byte " + HexByte(c) + " must be escaped";
        return false;
      }
      out->push_back(char(c));
      continue;
    }
    *bad = i;
    if (i + 1 == text.size()) {
      *why = "'\\' at the end of a field";
      return false;
    }
    switch (text[++i]) {
      case '\\':
        out->push_back('\\');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 'x': {
        const int hi = i + 1 < text.size() ? HexDigit(text[i + 1]) : -1;
        const int lo = i + 2 < text.size() ? HexDigit(text[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
          *why = "'\\x' must be followed by two hex digits";
          return false;
        }
        out->push_back(char(hi << 4 | lo));
        i += 2;
        break;
      }
      default: {
        const unsigned char e = static_cast<unsigned char>(text[i]);
        *why = e >= 0x20 && e <= 0x7e ? "unknown escape '\\" + std::string(1, char(e)) + "'"
                                      : "unknown escape: '\\' then byte " + HexByte(e);
        return false;
      }
    }
  }
  return true;
}

// A decimal count as the writer prints it: digits only, no sign, no leading zero.
bool ParseCount(std::string_view s, uint64_t* value) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = uint64_t(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *value = v;
  return true;
}

// The start of a line, escaped, for a message that must show what was found.
std::string Excerpt(std::string_view line) {
  constexpr size_t kMax = 40;
  std::string out;
  AppendEscaped(line.substr(0, kMax), &out);
  if (line.size() > kMax) out += "...";
  return "'" + out + "'";
}

}  // namespace

void AppendEscaped(std::string_view bytes, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c <= 0x7e && c != '\\') {
      out->push_back(char(c));
      continue;
    }
    out->push_back('\\');
    switch (c) {
      case '\\':
        out->push_back('\\');
        break;
      case '\n':
        out->push_back('n');
        break;
      case '\t':
        out->push_back('t');
        break;
      case '\r':
        out->push_back('r');
        break;
      default:
        out->push_back('x');
        out->push_back(kDigits[c >> 4]);
        out->push_back(kDigits[c & 15]);
    }
  }
}

Status Unescape(std::string_view text, size_t first_column, std::string* out) {
  size_t bad = 0;
  std::string why;
  if (Decode(text, out, &bad, &why)) return Status::OK();
  return Status(Error::kEinval, "column " + std::to_string(first_column + bad) + ": " + why);
}

void AppendDumpHeader(std::string* out) {
  out->append(kDumpHeaderLine);
  out->push_back('\n');
}

void AppendDumpRecord(std::string_view key, std::string_view data, std::string* out) {
  out->append("key=").append(std::to_string(key.size())).push_back(':');
  AppendEscaped(key, out);
  out->append("\ndata=").append(std::to_string(data.size())).push_back(':');
  AppendEscaped(data, out);
  out->push_back('\n');
}

void AppendDumpEnd(uint64_t records, std::string* out) {
  out->append(kEndPrefix).append(std::to_string(records)).push_back('\n');
}

Status DumpReader::Fail(const std::string& what) const {
  return Status(Error::kEinval, "line " + std::to_string(line_) + ": " + what);
}

Status DumpReader::ReadLine(const char* at_end, std::string_view* line) {
  line_++;
  if (pos_ == input_.size()) return Fail(at_end);
  const size_t nl = input_.find('\n', pos_);
  if (nl == std::string_view::npos) {
    return Fail("no newline at the end of the input (truncated dump?)");
  }
  *line = input_.substr(pos_, nl - pos_);
  pos_ = nl + 1;
  return Status::OK();
}

Status DumpReader::ParseField(std::string_view line, std::string_view name,
                              std::string* out) const {
  const std::string prefix = std::string(name) + "=";
  if (line.substr(0, prefix.size()) != prefix) {
    return Fail("expected '" + prefix + "<length>:<bytes>', found " + Excerpt(line));
  }
  const size_t colon = line.find(':', prefix.size());
  if (colon == std::string_view::npos) {
    return Fail("no ':' after the length in '" + prefix + "'");
  }
  const std::string_view digits = line.substr(prefix.size(), colon - prefix.size());
  uint64_t len = 0;
  if (!ParseCount(digits, &len)) {
    return Fail("bad length " + Excerpt(digits) + " in '" + prefix + "'");
  }
  // Columns are 1-based: the field's text starts at column colon + 2.
  if (Status st = Unescape(line.substr(colon + 1), colon + 2, out); !st.ok()) {
    return Status(Error::kEinval,
                  "line " + std::to_string(line_) + ", " + std::string(st.message()));
  }
  if (out->size() != len) {
    return Fail(std::string(name) + " length is " + std::to_string(len) + " but " +
                std::to_string(out->size()) + " bytes follow");
  }
  return Status::OK();
}

Status DumpReader::Next(std::string* key, std::string* data, bool* done) {
  *done = done_;
  if (done_) return Status::OK();
  std::string_view line;
  if (!started_) {
    if (Status s = ReadLine("the input is empty; a dump starts with '# ptdb dump v1'", &line);
        !s.ok()) {
      return s;
    }
    if (line != kDumpHeaderLine) {
      return Fail("expected '" + std::string(kDumpHeaderLine) + "', found " + Excerpt(line));
    }
    started_ = true;
  }
  if (Status s =
          ReadLine("the input ends without the '# end <count>' line (truncated dump?)", &line);
      !s.ok()) {
    return s;
  }
  if (line.substr(0, kEndPrefix.size()) == kEndPrefix) {
    uint64_t count = 0;
    if (!ParseCount(line.substr(kEndPrefix.size()), &count)) {
      return Fail("bad record count in the end line: " + Excerpt(line));
    }
    if (count != records_) {
      return Fail("the end line counts " + std::to_string(count) + " records but " +
                  std::to_string(records_) + " precede it");
    }
    if (pos_ != input_.size()) {
      line_++;
      return Fail("text after the end line");
    }
    done_ = true;
    *done = true;
    return Status::OK();
  }
  record_line_ = line_;
  if (Status s = ParseField(line, "key", key); !s.ok()) return s;
  if (Status s = ReadLine("the input ends inside a record (truncated dump?)", &line); !s.ok()) {
    return s;
  }
  if (Status s = ParseField(line, "data", data); !s.ok()) return s;
  records_++;
  return Status::OK();
}

}  // namespace ptdb::cli
