#include "services/common/quote.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fieldwork {
namespace {

bool Continuation(absl::string_view text, size_t at) {
  return at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80;
}

// The length of the well-formed UTF-8 sequence starting at `at`, or 0 when there is none.
size_t SequenceLength(absl::string_view text, size_t at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (at + 1 >= text.size() || byte(at + 1) < low || byte(at + 1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (!Continuation(text, at + i)) return 0;
  }
  return length;
}

// Appends `value` escaped until `out` would pass `limit` bytes; returns the bytes of `value`
// used. `quote`, when set, is escaped with a backslash too.
size_t AppendEscaped(absl::string_view value, size_t limit, std::string& out, char quote = 0) {
  size_t at = 0;
  while (at < value.size()) {
    const size_t length = SequenceLength(value, at);
    const unsigned char c = static_cast<unsigned char>(value[at]);
    std::string piece;
    if (length == 0 || c < 0x20 || c == 0x7F) {
      piece = absl::StrFormat("\\x%02x", c);
    } else if (c == '\\' || (quote != 0 && c == static_cast<unsigned char>(quote))) {
      piece = {'\\', static_cast<char>(c)};
    } else {
      piece = std::string(value.substr(at, length));
    }
    if (out.size() + piece.size() > limit) break;
    out += piece;
    at += length == 0 ? 1 : length;
  }
  return at;
}

}  // namespace

bool IsUtf8(absl::string_view text) {
  for (size_t at = 0; at < text.size();) {
    const size_t length = SequenceLength(text, at);
    if (length == 0) return false;
    at += length;
  }
  return true;
}

std::string Escaped(absl::string_view value) {
  std::string out;
  AppendEscaped(value, std::string::npos, out);
  return out;
}

std::string Quoted(absl::string_view value, size_t max_bytes) {
  std::string out;
  if (AppendEscaped(value, max_bytes, out) < value.size()) {
    absl::StrAppend(&out, "... (", value.size(), " bytes)");
  }
  return out;
}

std::string Excerpt(absl::string_view value) {
  std::string escaped;
  const size_t used = AppendEscaped(value, kExcerptBytes, escaped, '"');
  if (used == value.size()) return absl::StrCat("\"", escaped, "\"");
  return absl::StrCat("\"", escaped, "\"... (", value.size(), " bytes)");
}

}  // namespace fieldwork
