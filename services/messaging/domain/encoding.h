// Byte encodings (hex, base64, URL-safe base64) and libsodium start-up for the messaging domain.
#ifndef FIELDWORK_SERVICES_MESSAGING_DOMAIN_ENCODING_H_
#define FIELDWORK_SERVICES_MESSAGING_DOMAIN_ENCODING_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fieldwork::messaging {

// Initialises libsodium once per process (thread-safe). Every function here that uses libsodium
// calls it; it fails only when the library cannot initialise (no entropy source).
absl::Status EnsureSodium();

// The bytes of `s` as libsodium takes them.
inline const unsigned char* SodiumBytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Lower-case hex of `bytes`.
std::string HexEncode(absl::string_view bytes);
// Strict hex decoding: an even number of hex digits, nothing else.
absl::StatusOr<std::string> HexDecode(absl::string_view hex);

// URL-safe base64 without padding (RFC 4648 §5): safe inside a URL path or query.
std::string Base64UrlEncode(absl::string_view bytes);
// Strict URL-safe base64 without padding; rejects '=', '+', '/', whitespace and non-canonical
// trailing bits, so one token has exactly one spelling.
absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text);

// Standard base64 (RFC 4648 §4) with padding, or URL-safe with or without padding: the forms a
// key file or an environment variable is likely to hold.
absl::StatusOr<std::string> Base64DecodeAnyVariant(absl::string_view text);

// SHA-256 of `bytes` (32 raw bytes).
std::string Sha256(absl::string_view bytes);

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_DOMAIN_ENCODING_H_
