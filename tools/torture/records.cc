// The key names and the chunk layout behind records.h, in one place so that the writers
// and the checkers cannot disagree about them.
#include "tools/torture/records.h"

#include "tools/torture/config.h"

namespace ptdb::torture {
namespace {

std::string KeyName(unsigned i) {
  // Lengths vary, and a few keys are long enough to make records of their own sizes.
  std::string k = "k" + std::to_string(i);
  k.append(i % 97 == 0 ? 200 + i % 300 : i % 11, char('a' + i % 26));
  return k;
}

std::string CounterName(unsigned c) { return "#counter-" + std::to_string(c); }

// A chunk: 'C', payload length (4 bytes), key tag (4), nonce (4), payload. A value is one
// or more chunks, all tagged with the value's key.
constexpr char kChunkMark = 'C';
constexpr size_t kChunkHeader = 13;

uint32_t KeyTag(std::string_view key) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : key) h = (h ^ c) * 16777619u;
  return h;
}

uint8_t PayloadByte(uint32_t tag, uint32_t nonce, size_t i) {
  uint32_t x = (tag ^ nonce) + uint32_t(i) * 0x9E3779B9u;
  x ^= x >> 16;
  x *= 0x85EBCA6Bu;
  x ^= x >> 13;
  return uint8_t(x);
}

void PutU32(std::string* s, uint32_t v) {
  for (int i = 0; i < 4; i++) s->push_back(char(v >> (8 * i)));
}

uint32_t GetU32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= uint32_t(uint8_t(s[at + i])) << (8 * i);
  return v;
}

}  // namespace

KeySpace::KeySpace(unsigned keys) {
  for (unsigned i = 0; i < keys; i++) names_.push_back(KeyName(i));
  for (unsigned c = 0; c < kCounters; c++) counters_.push_back(CounterName(c));
  for (const std::string& n : names_) known_.emplace(n, true);
  for (const std::string& n : counters_) known_.emplace(n, false);
}

std::string MakeChunk(std::string_view key, uint32_t nonce, size_t len) {
  const uint32_t tag = KeyTag(key);
  std::string c(1, kChunkMark);
  PutU32(&c, uint32_t(len));
  PutU32(&c, tag);
  PutU32(&c, nonce);
  for (size_t i = 0; i < len; i++) c.push_back(char(PayloadByte(tag, nonce, i)));
  return c;
}

std::string ValueProblem(std::string_view key, std::string_view value) {
  if (value.empty()) return "empty value";
  const uint32_t tag = KeyTag(key);
  for (size_t at = 0; at < value.size();) {
    if (value.size() - at < kChunkHeader || value[at] != kChunkMark) {
      return "no chunk header at byte " + std::to_string(at);
    }
    const uint32_t len = GetU32(value, at + 1);
    if (GetU32(value, at + 5) != tag) {
      return "chunk at byte " + std::to_string(at) + " belongs to another key";
    }
    const uint32_t nonce = GetU32(value, at + 9);
    if (len > value.size() - at - kChunkHeader) {
      return "chunk at byte " + std::to_string(at) + " runs past the value's end";
    }
    for (size_t i = 0; i < len; i++) {
      if (uint8_t(value[at + kChunkHeader + i]) != PayloadByte(tag, nonce, i)) {
        return "payload byte " + std::to_string(i) + " of the chunk at byte " + std::to_string(at) +
               " is wrong";
      }
    }
    at += kChunkHeader + len;
  }
  return "";
}

bool ParseCounter(std::string_view v, uint64_t* n) {
  if (v.empty() || v.size() > 19) return false;
  uint64_t x = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    x = x * 10 + uint64_t(c - '0');
  }
  *n = x;
  return true;
}

Status CheckRecord(const KeySpace& keys, std::string_view key, std::string_view data) {
  if (!keys.Known(key)) return Status(Error::kCorrupt, "a key no worker writes");
  uint64_t n;
  if (keys.IsCounter(key)) {
    return ParseCounter(data, &n) ? Status::OK()
                                  : Status(Error::kCorrupt, "counter value is not a number");
  }
  const std::string why = ValueProblem(key, data);
  return why.empty() ? Status::OK() : Status(Error::kCorrupt, why);
}

}  // namespace ptdb::torture
