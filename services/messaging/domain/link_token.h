// Signed tokens for tracked links, the open pixel and unsubscribe links. A token is
// "<payload>.<mac>", both URL-safe base64 without padding, where mac = HMAC-SHA-256 (libsodium
// crypto_auth_hmacsha256) over a domain-separation label and the payload. Verification
// recomputes the MAC and compares in constant time before reading any field, so a forged or
// altered token is refused without revealing which byte was wrong.
#ifndef FIELDWORK_SERVICES_MESSAGING_DOMAIN_LINK_TOKEN_H_
#define FIELDWORK_SERVICES_MESSAGING_DOMAIN_LINK_TOKEN_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fieldwork::messaging {

enum class LinkTokenKind : uint8_t {
  kClick = 1,        // a tracked link: record the click, then redirect
  kOpen = 2,         // the open pixel
  kUnsubscribe = 3,  // the unsubscribe link
};

struct LinkClaims {
  LinkTokenKind kind = LinkTokenKind::kClick;
  std::string trial_id;
  std::string campaign_id;
  uint32_t step = 0;
  std::string participant_id;
  // kClick: the link's index in the template version's tracked_links.
  uint32_t link_index = 0;
  // kClick: the template version the link came from, so an index-only token resolves against
  // the version that was sent even after the template is edited.
  uint32_t template_version = 0;
  // kClick: the redirect target. Empty means "resolve link_index in template_version" (shorter
  // URLs, at the cost of a lookup); otherwise an absolute http(s) URL.
  std::string target_url;

  bool operator==(const LinkClaims&) const = default;
};

inline constexpr size_t kLinkKeyBytes = 32;

class LinkSigner {
 public:
  // `key` is exactly 32 raw bytes (see ParseKey32 in contact_crypto.h to read one from hex or
  // base64). Use a key of its own, not the contact encryption key.
  static absl::StatusOr<LinkSigner> Create(absl::string_view key);

  LinkSigner(const LinkSigner&) = default;
  LinkSigner& operator=(const LinkSigner&) = default;
  ~LinkSigner();

  // INVALID_ARGUMENT naming the field when a claim cannot be carried: ids as in ids.h, a
  // target_url that is not an absolute http(s) URL (or on a non-click token), URLs over 2048
  // characters.
  absl::StatusOr<std::string> Sign(const LinkClaims& claims) const;

  // The claims of a genuine token of kind `expected`. UNAUTHENTICATED when the token is
  // malformed, forged, altered, or of another kind; the message says which, never the key.
  absl::StatusOr<LinkClaims> Verify(absl::string_view token, LinkTokenKind expected) const;

 private:
  LinkSigner() = default;
  std::string Mac(absl::string_view payload) const;

  std::array<unsigned char, kLinkKeyBytes> key_{};
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_DOMAIN_LINK_TOKEN_H_
