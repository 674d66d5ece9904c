#include "tools/hex.h"

#include <cstdio>

namespace ptdb::cli {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

bool ParseHex(std::string_view text, std::string* out, std::string* error) {
  out->clear();
  int high = -1;
  for (size_t i = 0; i < text.size(); i++) {
    if (IsSpace(text[i])) continue;
    const int d = HexDigit(text[i]);
    if (d < 0) {
      const unsigned char c = static_cast<unsigned char>(text[i]);
      char what[16];
      snprintf(what, sizeof(what), c >= 0x20 && c < 0x7f ? "'%c'" : "byte 0x%02x", c);
      *error = std::string(what) + " at position " + std::to_string(i + 1) + " is not a hex digit";
      return false;
    }
    if (high < 0) {
      high = d;
    } else {
      out->push_back(char(high << 4 | d));
      high = -1;
    }
  }
  if (high >= 0) {
    *error = "odd number of hex digits";
    return false;
  }
  return true;
}

}  // namespace ptdb::cli
