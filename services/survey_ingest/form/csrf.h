// The hosted form's anti-forgery token: an HMAC of the survey link's token, so a page posted
// from anywhere but a form this service rendered for that very link is refused.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_FORM_CSRF_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_FORM_CSRF_H_

#include <sodium.h>

#include <array>
#include <string>

#include "absl/strings/string_view.h"
#include "services/survey_link/key_ring.h"

namespace fieldwork::survey_ingest::form {

// Its key is derived from the survey-link ring's sealing key (under a label of its own), so
// every replica of the service agrees without another secret to deploy; a rotation of that
// key refuses the forms open at that moment once (the page is shown again with a fresh token).
class CsrfGuard {
 public:
  explicit CsrfGuard(const survey_link::SurveyLinkKeyRing& keys);
  ~CsrfGuard();  // wipes the key
  CsrfGuard(const CsrfGuard&) = delete;
  CsrfGuard& operator=(const CsrfGuard&) = delete;

  // The token a form for `survey_token` carries (URL-safe base64, 43 characters).
  std::string TokenFor(absl::string_view survey_token) const;
  // Whether `csrf` is TokenFor(survey_token), compared in constant time.
  bool Check(absl::string_view survey_token, absl::string_view csrf) const;

 private:
  std::array<unsigned char, crypto_auth_hmacsha256_KEYBYTES> key_{};
};

}  // namespace fieldwork::survey_ingest::form

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_FORM_CSRF_H_
