// Quoting values that came from outside into error messages, statuses and proto string fields:
// a short prefix only (a huge bad value must not make the answer huge), and never bytes that
// are not UTF-8 (a proto `string` holding them fails to parse, taking the whole message down).
#ifndef FIELDWORK_SERVICES_COMMON_QUOTE_H_
#define FIELDWORK_SERVICES_COMMON_QUOTE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace fieldwork {

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points above
// U+10FFFF).
bool IsUtf8(absl::string_view text);

// `value` as UTF-8 text: valid characters as they are, every other byte and every ASCII control
// character as \xNN, a backslash as \\. Unchanged when it is valid UTF-8 without controls or
// backslashes.
std::string Escaped(absl::string_view value);

// Escaped(value) cut (between characters) to at most `max_bytes` bytes, with "... (N bytes)"
// appended when cut: for quoting a bad value in an error.
inline constexpr size_t kQuoteBytes = 64;
std::string Quoted(absl::string_view value, size_t max_bytes = kQuoteBytes);

// An id or name the caller sent, for a status message: escaped as Escaped (a double quote as
// \" too) inside double quotes, cut to kExcerptBytes with "... (N bytes)" after the closing
// quote. A status that echoed an 8 KB id whole outgrew gRPC's metadata limit, so the client saw
// RESOURCE_EXHAUSTED instead of the error.
inline constexpr size_t kExcerptBytes = 32;
std::string Excerpt(absl::string_view value);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_QUOTE_H_
