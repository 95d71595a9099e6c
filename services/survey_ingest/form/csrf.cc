#include "services/survey_ingest/form/csrf.h"

namespace fieldwork::survey_ingest::form {
namespace {

constexpr char kLabel[] = "fieldwork-form-csrf-v1";

}  // namespace

CsrfGuard::CsrfGuard(const survey_link::SurveyLinkKeyRing& keys) {
  static_assert(crypto_auth_hmacsha256_BYTES == crypto_auth_hmacsha256_KEYBYTES);
  const auto& secret = keys.sealing_key().secret;
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, secret.data(), secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(kLabel),
                                sizeof(kLabel) - 1);
  crypto_auth_hmacsha256_final(&state, key_.data());
  sodium_memzero(&state, sizeof(state));
}

CsrfGuard::~CsrfGuard() { sodium_memzero(key_.data(), key_.size()); }

std::string CsrfGuard::TokenFor(absl::string_view survey_token) const {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key_.data(), key_.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(survey_token.data()),
                                survey_token.size());
  crypto_auth_hmacsha256_final(&state, mac);
  char encoded[sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES,
                                         sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(encoded, sizeof(encoded), mac, sizeof(mac),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return encoded;
}

bool CsrfGuard::Check(absl::string_view survey_token, absl::string_view csrf) const {
  const std::string expected = TokenFor(survey_token);
  return csrf.size() == expected.size() &&
         sodium_memcmp(csrf.data(), expected.data(), expected.size()) == 0;
}

}  // namespace fieldwork::survey_ingest::form
