#include "services/messaging/domain/link_token.h"

#include <sodium.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/messaging/domain/encoding.h"
#include "services/messaging/domain/ids.h"

namespace fieldwork::messaging {
namespace {

constexpr uint8_t kFormatVersion = 1;
constexpr absl::string_view kMacLabel{"fieldwork-link-token-v1\0", 24};
constexpr size_t kMaxTargetUrl = 2048;

void PutU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xFFu));
  }
}

void PutString(std::string& out, absl::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out.append(s.data(), s.size());
}

// Reads the payload layout written by Sign; every read is bounds-checked.
class Reader {
 public:
  explicit Reader(absl::string_view data) : data_(data) {}

  bool U8(uint8_t& v) {
    if (pos_ + 1 > data_.size()) return false;
    v = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool U32(uint32_t& v) {
    if (pos_ + 4 > data_.size()) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(data_[pos_++]);
    return true;
  }
  bool String(std::string& s, size_t max) {
    uint32_t len = 0;
    if (!U32(len) || len > max || pos_ + len > data_.size()) return false;
    s.assign(data_.data() + pos_, len);
    pos_ += len;
    return true;
  }
  bool AtEnd() const { return pos_ == data_.size(); }

 private:
  absl::string_view data_;
  size_t pos_ = 0;
};

bool IsHttpUrl(absl::string_view url) {
  std::string lower = absl::AsciiStrToLower(url.substr(0, 8));
  size_t scheme = absl::StartsWith(lower, "https://")  ? 8
                  : absl::StartsWith(lower, "http://") ? 7
                                                       : 0;
  if (scheme == 0 || url.size() == scheme) return false;
  for (char c : url) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F || c == '"' || c == '<' || c == '>' || c == '\\') return false;
  }
  return true;
}

absl::Status Refuse(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("link token refused: ", why));
}

}  // namespace

absl::StatusOr<LinkSigner> LinkSigner::Create(absl::string_view key) {
  if (absl::Status s = EnsureSodium(); !s.ok()) return s;
  if (key.size() != kLinkKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("link signing key: must be ", kLinkKeyBytes, " bytes, got ", key.size()));
  }
  LinkSigner signer;
  std::memcpy(signer.key_.data(), key.data(), kLinkKeyBytes);
  return signer;
}

LinkSigner::~LinkSigner() { sodium_memzero(key_.data(), key_.size()); }

std::string LinkSigner::Mac(absl::string_view payload) const {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key_.data(), key_.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(kMacLabel.data()),
                                kMacLabel.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(payload.data()),
                                payload.size());
  std::string mac(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(mac.data()));
  sodium_memzero(&state, sizeof state);
  return mac;
}

absl::StatusOr<std::string> LinkSigner::Sign(const LinkClaims& c) const {
  for (auto [field, id] : {std::pair<absl::string_view, absl::string_view>{"trial_id", c.trial_id},
                           {"campaign_id", c.campaign_id},
                           {"participant_id", c.participant_id}}) {
    if (absl::Status s = ValidateId(field, id); !s.ok()) return s;
  }
  switch (c.kind) {
    case LinkTokenKind::kClick:
      if (!c.target_url.empty() &&
          (c.target_url.size() > kMaxTargetUrl || !IsHttpUrl(c.target_url))) {
        return absl::InvalidArgumentError(
            "target_url: must be an absolute http(s) URL of at most 2048 characters");
      }
      break;
    case LinkTokenKind::kOpen:
    case LinkTokenKind::kUnsubscribe:
      if (!c.target_url.empty() || c.link_index != 0 || c.template_version != 0) {
        return absl::InvalidArgumentError(
            "target_url: only click tokens carry a link (target_url, link_index, "
            "template_version)");
      }
      break;
    default:
      return absl::InvalidArgumentError("kind: must be click, open or unsubscribe");
  }
  std::string payload;
  payload.push_back(static_cast<char>(kFormatVersion));
  payload.push_back(static_cast<char>(c.kind));
  PutString(payload, c.trial_id);
  PutString(payload, c.campaign_id);
  PutU32(payload, c.step);
  PutString(payload, c.participant_id);
  PutU32(payload, c.link_index);
  PutU32(payload, c.template_version);
  PutString(payload, c.target_url);
  return absl::StrCat(Base64UrlEncode(payload), ".", Base64UrlEncode(Mac(payload)));
}

absl::StatusOr<LinkClaims> LinkSigner::Verify(absl::string_view token,
                                              LinkTokenKind expected) const {
  if (token.size() > 8192) return Refuse("too long");
  size_t dot = token.find('.');
  if (dot == absl::string_view::npos || token.find('.', dot + 1) != absl::string_view::npos) {
    return Refuse("malformed (expected <payload>.<signature>)");
  }
  absl::StatusOr<std::string> payload = Base64UrlDecode(token.substr(0, dot));
  absl::StatusOr<std::string> mac = Base64UrlDecode(token.substr(dot + 1));
  if (!payload.ok() || !mac.ok() || mac->size() != crypto_auth_hmacsha256_BYTES) {
    return Refuse("malformed (not URL-safe base64)");
  }
  std::string expected_mac = Mac(*payload);
  if (sodium_memcmp(expected_mac.data(), mac->data(), expected_mac.size()) != 0) {
    return Refuse("signature does not match (forged or altered)");
  }
  // Only a genuine payload is parsed; a parse failure now means a format this code does not
  // know (a newer version signed with the same key).
  Reader reader(*payload);
  LinkClaims claims;
  uint8_t version = 0;
  uint8_t kind = 0;
  if (!reader.U8(version) || version != kFormatVersion) return Refuse("unknown format version");
  if (!reader.U8(kind) || !reader.String(claims.trial_id, kMaxIdLength) ||
      !reader.String(claims.campaign_id, kMaxIdLength) || !reader.U32(claims.step) ||
      !reader.String(claims.participant_id, kMaxIdLength) || !reader.U32(claims.link_index) ||
      !reader.U32(claims.template_version) || !reader.String(claims.target_url, kMaxTargetUrl) ||
      !reader.AtEnd()) {
    return Refuse("malformed payload");
  }
  claims.kind = static_cast<LinkTokenKind>(kind);
  if (claims.kind != expected) return Refuse("a token of another kind");
  return claims;
}

}  // namespace fieldwork::messaging
