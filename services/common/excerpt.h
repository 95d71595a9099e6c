// How an error message shows a value the caller sent: never all of a long one.
#ifndef FIELDWORK_SERVICES_COMMON_EXCERPT_H_
#define FIELDWORK_SERVICES_COMMON_EXCERPT_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace fieldwork {

// The longest prefix of a bad value an error message quotes.
inline constexpr size_t kExcerptBytes = 32;

// `value` in double quotes, with bytes outside printable ASCII escaped (\x..); a value longer
// than kExcerptBytes is cut there and followed by "... (N bytes)". A status that echoed an
// 8 KB id whole outgrew gRPC's metadata limit, so the client saw RESOURCE_EXHAUSTED instead of
// the error.
std::string Excerpt(absl::string_view value);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_EXCERPT_H_
