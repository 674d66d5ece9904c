// Hex text for keys and values given or printed with --hex.
#ifndef PTDB_TOOLS_HEX_H_
#define PTDB_TOOLS_HEX_H_

#include <string>
#include <string_view>

namespace ptdb::cli {

// Lower-case hex, two digits per byte.
std::string ToHex(std::string_view bytes);

// Decodes hex digits (either case). ASCII whitespace anywhere is ignored, so a value
// piped in with a trailing newline or grouped in columns decodes as meant. False on any
// other character or an odd number of digits; *error then says which.
bool ParseHex(std::string_view text, std::string* out, std::string* error);

}  // namespace ptdb::cli

#endif  // PTDB_TOOLS_HEX_H_
