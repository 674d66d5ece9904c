// The ptdb dump format (tools/DUMP_FORMAT.md): a line-based text form of every record that
// round-trips arbitrary binary keys and values exactly.
//
//   # ptdb dump v1
//   key=<length>:<escaped key>
//   data=<length>:<escaped value>
//   ...
//   # end <number of records>
//
// Escaped text is printable ASCII only, so a dump survives mail, diff and editors; the
// lengths and the final record count catch any truncation or damage on the way back in.
#ifndef PTDB_TOOLS_DUMP_FORMAT_H_
#define PTDB_TOOLS_DUMP_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ptdb/status.h"

namespace ptdb::cli {

inline constexpr std::string_view kDumpHeaderLine = "# ptdb dump v1";

// Appends `bytes` escaped: bytes 0x20..0x7e stand for themselves except '\', which is
// written "\\"; newline, tab and carriage return are "\n", "\t", "\r"; every other byte
// is "\xHH" (two lower-case hex digits).
void AppendEscaped(std::string_view bytes, std::string* out);

// Decodes escaped text (hex digits of "\xHH" in either case). Anything an encoder never
// writes is refused: a raw byte outside 0x20..0x7e, an unknown escape, a short "\x".
// Errors are kEinval, "column N: ..." with columns counted from `first_column` for text[0].
Status Unescape(std::string_view text, size_t first_column, std::string* out);

void AppendDumpHeader(std::string* out);
void AppendDumpRecord(std::string_view key, std::string_view data, std::string* out);
void AppendDumpEnd(uint64_t records, std::string* out);

// Parses a whole dump held in memory, one record per call.
class DumpReader {
 public:
  explicit DumpReader(std::string_view input) : input_(input) {}

  // Fills *key and *data with the next record and sets *done = false; at the end line,
  // verifies the record count and that nothing follows, and sets *done = true.
  // Malformed input is kEinval with a message starting "line N: " (1-based).
  Status Next(std::string* key, std::string* data, bool* done);

  // Input bytes parsed so far.
  size_t consumed() const { return pos_; }
  uint64_t records() const { return records_; }
  // The line the last record started on (for messages about a record that parsed well).
  uint64_t record_line() const { return record_line_; }

 private:
  // Reads one '\n'-terminated line; `at_end` is the complaint if the input has ended.
  Status ReadLine(const char* at_end, std::string_view* line);
  Status ParseField(std::string_view line, std::string_view name, std::string* out) const;
  Status Fail(const std::string& what) const;

  std::string_view input_;
  size_t pos_ = 0;
  uint64_t line_ = 0;  // the last line read
  uint64_t records_ = 0;
  uint64_t record_line_ = 0;
  bool started_ = false;
  bool done_ = false;
};

}  // namespace ptdb::cli

#endif  // PTDB_TOOLS_DUMP_FORMAT_H_
