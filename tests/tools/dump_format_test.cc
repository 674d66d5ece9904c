// The dump codec: exact round trips of any bytes, and malformed input refused with the
// line (and column) at fault.
#include "tools/dump_format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tools/hex.h"

namespace ptdb::cli {
namespace {

using Records = std::vector<std::pair<std::string, std::string>>;

std::string Dump(const Records& records) {
  std::string out;
  AppendDumpHeader(&out);
  for (const auto& [key, data] : records) AppendDumpRecord(key, data, &out);
  AppendDumpEnd(records.size(), &out);
  return out;
}

// Parses a whole dump; on failure returns the error and leaves *records partial.
Status Parse(std::string_view text, Records* records) {
  DumpReader reader(text);
  std::string key, data;
  for (;;) {
    bool done = false;
    Status st = reader.Next(&key, &data, &done);
    if (!st.ok() || done) return st;
    records->emplace_back(key, data);
  }
}

std::string AllBytes() {
  std::string s;
  for (int c = 0; c < 256; c++) s.push_back(char(c));
  return s;
}

TEST(DumpFormatTest, AllByteValuesRoundTrip) {
  std::string reversed = AllBytes();
  std::reverse(reversed.begin(), reversed.end());
  const Records records = {{AllBytes(), reversed}};
  const std::string text = Dump(records);
  // The text is printable ASCII plus the line ends: one header, two fields, one end line.
  for (char c : text) EXPECT_TRUE(c == '\n' || (c >= 0x20 && c <= 0x7e)) << int(c);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4);
  Records parsed;
  ASSERT_TRUE(Parse(text, &parsed).ok());
  EXPECT_EQ(parsed, records);
}

TEST(DumpFormatTest, EachByteEscapesAndUnescapesAlone) {
  for (int c = 0; c < 256; c++) {
    const std::string byte(1, char(c));
    std::string escaped, back;
    AppendEscaped(byte, &escaped);
    ASSERT_TRUE(Unescape(escaped, 1, &back).ok()) << c;
    EXPECT_EQ(back, byte) << c;
  }
}

TEST(DumpFormatTest, EscapingIsTheDocumentedOne) {
  std::string out;
  AppendEscaped(std::string("a b~\\\n\t\r\x00\x7f\xff", 11), &out);
  EXPECT_EQ(out, "a b~\\\\\\n\\t\\r\\x00\\x7f\\xff");
  std::string back;
  ASSERT_TRUE(Unescape("\\xAB\\xab", 1, &back).ok());
  EXPECT_EQ(back, "\xab\xab");
}

TEST(DumpFormatTest, EmptyKeyAndValue) {
  const Records records = {{"", ""}, {"k", ""}, {"", "v"}};
  const std::string text = Dump(records);
  EXPECT_NE(text.find("key=0:\ndata=0:\n"), std::string::npos);
  Records parsed;
  ASSERT_TRUE(Parse(text, &parsed).ok());
  EXPECT_EQ(parsed, records);
}

TEST(DumpFormatTest, EmptyDump) {
  EXPECT_EQ(Dump({}), "# ptdb dump v1\n# end 0\n");
  Records parsed;
  ASSERT_TRUE(Parse(Dump({}), &parsed).ok());
  EXPECT_TRUE(parsed.empty());
}

TEST(DumpFormatTest, LongAndManyValuesRoundTrip) {
  std::mt19937_64 rng(42);
  Records records;
  std::string big(3 << 20, '\0');
  for (char& c : big) c = char(rng());
  records.emplace_back("big", big);
  for (int i = 0; i < 1000; i++) {
    std::string key(rng() % 40, '\0'), data(rng() % 300, '\0');
    for (char& c : key) c = char(rng());
    for (char& c : data) c = char(rng() % 4 == 0 ? '\n' : rng());
    records.emplace_back(key, data);
  }
  const std::string text = Dump(records);
  DumpReader reader(text);
  std::string key, data;
  bool done = false;
  size_t i = 0;
  for (;;) {
    ASSERT_TRUE(reader.Next(&key, &data, &done).ok()) << "record " << i;
    if (done) break;
    ASSERT_LT(i, records.size());
    EXPECT_EQ(key, records[i].first) << i;
    EXPECT_EQ(data, records[i].second) << i;
    EXPECT_EQ(reader.record_line(), 2 + 2 * i);
    i++;
  }
  EXPECT_EQ(i, records.size());
  EXPECT_EQ(reader.records(), records.size());
  EXPECT_EQ(reader.consumed(), text.size());
}

struct BadInput {
  const char* name;
  std::string text;
  const char* where;  // the expected start of the message
  const char* what;   // a part of the message that says what is wrong
};

class MalformedDumpTest : public testing::TestWithParam<BadInput> {};

TEST_P(MalformedDumpTest, IsRefusedWithItsLine) {
  const BadInput& bad = GetParam();
  Records parsed;
  const Status st = Parse(bad.text, &parsed);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Error::kEinval);
  const std::string message(st.message());
  EXPECT_EQ(message.rfind(bad.where, 0), 0u) << message;
  EXPECT_NE(message.find(bad.what), std::string::npos) << message;
}

const std::string kHead = "# ptdb dump v1\n";
const std::string kRecord = "key=1:a\ndata=2:bc\n";

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedDumpTest,
    testing::Values(
        BadInput{"Empty", "", "line 1: ", "empty"},
        BadInput{"OtherVersion", "# ptdb dump v2\n# end 0\n", "line 1: ", "'# ptdb dump v1'"},
        BadInput{"HeaderWithCr", "# ptdb dump v1\r\n# end 0\n", "line 1: ", "\\r"},
        BadInput{"NoEndLine", kHead + kRecord, "line 4: ", "truncated"},
        BadInput{"CutInsideRecord", kHead + kRecord + "key=1:b\n", "line 5: ", "inside a record"},
        BadInput{"NoFinalNewline", kHead + kRecord + "# end 1", "line 4: ", "no newline"},
        BadInput{"CutMidField", kHead + "key=3:ab", "line 2: ", "no newline"},
        BadInput{"KeyTooShort", kHead + "key=3:ab\ndata=0:\n# end 1\n",
                 "line 2: ", "key length is 3 but 2 bytes follow"},
        BadInput{"DataTooLong", kHead + kRecord + "key=1:b\ndata=1:xy\n# end 2\n",
                 "line 5: ", "data length is 1 but 2"},
        BadInput{"WrongFieldOrder", kHead + "data=1:a\nkey=1:b\n# end 1\n",
                 "line 2: ", "expected 'key="},
        BadInput{"MissingDataLine", kHead + "key=1:a\nkey=1:b\n# end 1\n",
                 "line 3: ", "expected 'data="},
        BadInput{"NoColon", kHead + "key=1a\ndata=0:\n# end 1\n", "line 2: ", "no ':'"},
        BadInput{"LeadingZero", kHead + "key=01:a\ndata=0:\n# end 1\n", "line 2: ", "bad length"},
        BadInput{"SignedLength", kHead + "key=+1:a\ndata=0:\n# end 1\n", "line 2: ", "bad length"},
        BadInput{"HugeLength", kHead + "key=99999999999999999999999:a\ndata=0:\n# end 1\n",
                 "line 2: ", "bad length"},
        BadInput{"UnknownEscape", kHead + kRecord + "key=1:x\ndata=2:a\\q\n# end 2\n",
                 "line 5, column 9: ", "unknown escape '\\q'"},
        BadInput{"ShortHexEscape", kHead + "key=1:\\x4\ndata=0:\n# end 1\n",
                 "line 2, column 7: ", "two hex digits"},
        BadInput{"BadHexEscape", kHead + "key=1:\\xg0\ndata=0:\n# end 1\n",
                 "line 2, column 7: ", "two hex digits"},
        BadInput{"TrailingBackslash", kHead + "key=1:\\\ndata=0:\n# end 1\n",
                 "line 2, column 7: ", "at the end"},
        BadInput{"RawTab", kHead + "key=1:\t\ndata=0:\n# end 1\n",
                 "line 2, column 7: ", "0x09 must be escaped"},
        BadInput{"RawHighByte", kHead + "key=2:a\xc3\ndata=0:\n# end 1\n",
                 "line 2, column 8: ", "0xc3 must be escaped"},
        BadInput{"CountTooHigh", kHead + kRecord + "# end 2\n",
                 "line 4: ", "counts 2 records but 1 precede"},
        BadInput{"CountNotANumber", kHead + kRecord + "# end one\n", "line 4: ", "bad record"},
        BadInput{"TextAfterEnd", kHead + kRecord + "# end 1\nkey=1:a\n",
                 "line 5: ", "after the end line"},
        BadInput{"BlankLine", kHead + "\n" + kRecord + "# end 1\n", "line 2: ", "expected 'key="}),
    [](const testing::TestParamInfo<BadInput>& info) { return std::string(info.param.name); });

TEST(DumpFormatTest, UnescapeCountsColumnsFromTheGivenStart) {
  std::string out;
  const Status st = Unescape("ab\\z", 10, &out);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(std::string(st.message()).rfind("column 12: ", 0), 0u) << st.message();
}

TEST(HexTest, RoundTripAndWhitespace) {
  const std::string all = AllBytes();
  const std::string hex = ToHex(all);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.size(), 512u);
  std::string back, error;
  ASSERT_TRUE(ParseHex(hex, &back, &error)) << error;
  EXPECT_EQ(back, all);
  ASSERT_TRUE(ParseHex(" DE ad\nbe\tEF\n", &back, &error)) << error;
  EXPECT_EQ(back, "\xde\xad\xbe\xef");
  ASSERT_TRUE(ParseHex("", &back, &error));
  EXPECT_EQ(back, "");
}

TEST(HexTest, RefusesBadDigits) {
  std::string out, error;
  EXPECT_FALSE(ParseHex("abc", &out, &error));
  EXPECT_NE(error.find("odd"), std::string::npos) << error;
  EXPECT_FALSE(ParseHex("0g", &out, &error));
  EXPECT_NE(error.find("'g' at position 2"), std::string::npos) << error;
  EXPECT_FALSE(ParseHex("0x12", &out, &error));
  EXPECT_FALSE(ParseHex(std::string("\x01", 1), &out, &error));
  EXPECT_NE(error.find("byte 0x01"), std::string::npos) << error;
}

}  // namespace
}  // namespace ptdb::cli
