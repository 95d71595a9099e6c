#include "services/survey_link/survey_link_token.h"

#include <sodium.h>

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"

namespace fieldwork::survey_link {
namespace {

constexpr unsigned char kVersion = 1;
constexpr size_t kHeaderBytes = 2;  // version, key id
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr size_t kExpiryBytes = 8;
constexpr size_t kMaxPlaintextBytes = 3 * (1 + kMaxLinkIdBytes) + kExpiryBytes;
constexpr size_t kMaxTokenChars = 4 * (kHeaderBytes + kNonceBytes + kMaxPlaintextBytes +
                                       kTagBytes + 2) / 3;
constexpr absl::string_view kAdLabel{"fieldwork-survey-link-v1\0", 25};
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "fwsvlink";
enum SubkeyId : uint64_t { kEncryptionSubkey = 1, kNonceSubkey = 2 };

using Subkey = std::array<unsigned char, crypto_aead_xchacha20poly1305_ietf_KEYBYTES>;

// A key of its own per purpose, derived from the ring's key, so the nonce derivation and the
// cipher never share a key.
class Subkeys {
 public:
  explicit Subkeys(const SurveyLinkKey& key) {
    crypto_kdf_derive_from_key(encryption.data(), encryption.size(), kEncryptionSubkey,
                               kKdfContext, key.secret.data());
    crypto_kdf_derive_from_key(nonce.data(), nonce.size(), kNonceSubkey, kKdfContext,
                               key.secret.data());
  }
  ~Subkeys() {
    sodium_memzero(encryption.data(), encryption.size());
    sodium_memzero(nonce.data(), nonce.size());
  }
  Subkeys(const Subkeys&) = delete;
  Subkeys& operator=(const Subkeys&) = delete;

  Subkey encryption;
  Subkey nonce;
};

std::string AdditionalData(uint8_t key_id) {
  return absl::StrCat(kAdLabel, std::string(1, static_cast<char>(kVersion)),
                      std::string(1, static_cast<char>(key_id)));
}

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string Plaintext(const SurveyLinkClaims& claims) {
  std::string out;
  for (const std::string* id : {&claims.trial_id, &claims.wave_id, &claims.participant_id}) {
    out.push_back(static_cast<char>(id->size()));
    out += *id;
  }
  uint64_t seconds = static_cast<uint64_t>(absl::ToUnixSeconds(claims.expires));
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((seconds >> shift) & 0xff));
  }
  return out;
}

std::optional<SurveyLinkClaims> ParsePlaintext(absl::string_view text) {
  SurveyLinkClaims claims;
  for (std::string* id : {&claims.trial_id, &claims.wave_id, &claims.participant_id}) {
    if (text.empty()) return std::nullopt;
    const size_t n = static_cast<unsigned char>(text.front());
    text.remove_prefix(1);
    if (n == 0 || n > kMaxLinkIdBytes || text.size() < n) return std::nullopt;
    *id = std::string(text.substr(0, n));
    text.remove_prefix(n);
  }
  if (text.size() != kExpiryBytes) return std::nullopt;
  uint64_t seconds = 0;
  for (char c : text) seconds = (seconds << 8) | static_cast<unsigned char>(c);
  claims.expires = absl::FromUnixSeconds(static_cast<int64_t>(seconds));
  return claims;
}

absl::Status NotGenuine(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("survey link not valid: ", why));
}

}  // namespace

absl::StatusOr<std::string> SealSurveyLink(const SurveyLinkKeyRing& keys,
                                           const SurveyLinkClaims& claims) {
  for (const auto& [field, id] : {std::pair{"trial_id", &claims.trial_id},
                                  std::pair{"wave_id", &claims.wave_id},
                                  std::pair{"participant_id", &claims.participant_id}}) {
    if (id->empty() || id->size() > kMaxLinkIdBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": must be 1 to ", kMaxLinkIdBytes, " bytes, got ", id->size()));
    }
  }
  if (claims.expires <= absl::UnixEpoch()) {
    return absl::InvalidArgumentError("expires: must be after 1970-01-01");
  }
  const SurveyLinkKey& key = keys.sealing_key();
  const Subkeys subkeys(key);
  const std::string plaintext = Plaintext(claims);
  const std::string ad = AdditionalData(key.id);

  std::string token(kHeaderBytes + kNonceBytes + plaintext.size() + kTagBytes, '\0');
  token[0] = static_cast<char>(kVersion);
  token[1] = static_cast<char>(key.id);
  unsigned char* nonce = reinterpret_cast<unsigned char*>(token.data() + kHeaderBytes);
  // The synthetic nonce: a keyed hash of everything sealed, so equal claims give equal links
  // and different claims different nonces.
  const std::string hashed = plaintext + ad;
  crypto_generichash(nonce, kNonceBytes, Bytes(hashed), hashed.size(), subkeys.nonce.data(),
                     subkeys.nonce.size());
  unsigned long long sealed_bytes = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      reinterpret_cast<unsigned char*>(token.data() + kHeaderBytes + kNonceBytes), &sealed_bytes,
      Bytes(plaintext), plaintext.size(), Bytes(ad), ad.size(), nullptr, nonce,
      subkeys.encryption.data());

  std::string text(sodium_base64_ENCODED_LEN(token.size(),
                                             sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                   '\0');
  sodium_bin2base64(text.data(), text.size(), Bytes(token), token.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  text.resize(text.size() - 1);  // the terminating NUL
  return text;
}

absl::StatusOr<SurveyLinkClaims> OpenSurveyLink(const SurveyLinkKeyRing& keys,
                                                absl::string_view token, absl::Time now) {
  if (token.empty() || token.size() > kMaxTokenChars) return NotGenuine("malformed");
  std::vector<unsigned char> raw(token.size());
  size_t raw_bytes = 0;
  if (sodium_base642bin(raw.data(), raw.size(), token.data(), token.size(), nullptr, &raw_bytes,
                        nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      raw_bytes < kHeaderBytes + kNonceBytes + kTagBytes + 3 + kExpiryBytes) {
    return NotGenuine("malformed");
  }
  if (raw[0] != kVersion) return NotGenuine("unknown format");
  const SurveyLinkKey* key = keys.OpeningKey(raw[1], now);
  if (key == nullptr) return NotGenuine("its key is unknown or retired");
  const Subkeys subkeys(*key);
  const std::string ad = AdditionalData(key->id);
  const unsigned char* nonce = raw.data() + kHeaderBytes;
  const unsigned char* sealed = nonce + kNonceBytes;
  const size_t sealed_bytes = raw_bytes - kHeaderBytes - kNonceBytes;
  std::string plaintext(sealed_bytes - kTagBytes, '\0');
  unsigned long long plaintext_bytes = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plaintext.data()), &plaintext_bytes, nullptr, sealed,
          sealed_bytes, Bytes(ad), ad.size(), nonce, subkeys.encryption.data()) != 0) {
    return NotGenuine("forged or altered");
  }
  std::optional<SurveyLinkClaims> claims = ParsePlaintext(plaintext);
  if (!claims.has_value()) return NotGenuine("malformed");
  if (now >= claims->expires) {
    return absl::FailedPreconditionError(
        absl::StrCat("survey link expired at ",
                     absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", claims->expires, absl::UTCTimeZone())));
  }
  return *claims;
}

}  // namespace fieldwork::survey_link
