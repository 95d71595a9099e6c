// Personal survey links: the token in a participant's link to the hosted questionnaire
// (https://<form host>/s/<token>). messaging signs one per (trial, wave, participant) when it
// renders {{survey_link}}; survey-ingest verifies it before showing the form. The token is the
// participant's only credential, so:
//  - it is encrypted, not just signed: the URL carries no readable participant, trial or wave
//    id (a link forwarded or logged by a proxy tells nobody whose it is);
//  - it is authenticated: a forged or altered token is refused, whatever byte changed;
//  - it expires (the wave's close plus the protocol's grace), and verification needs no Redis
//    lookup, so a flood of forged links costs the form no storage round trip;
//  - the keys rotate: SurveyLinkKeyRing signs with its newest key and accepts older ones until
//    their overlap ends, so links already sent stay valid across a rotation.
//
// Layout (then URL-safe base64 without padding):
//   version 0x01 | key id (1 byte) | 24-byte nonce | XChaCha20-Poly1305 ciphertext with tag
// Additional data: "fieldwork-survey-link-v1" NUL | version | key id, so a token cannot be
// replayed under another key id or format. Plaintext: trial, wave and participant ids, each a
// length byte and the bytes, then the expiry as 8 bytes (Unix seconds, big-endian).
// The nonce is derived from the plaintext under a key of its own (a synthetic IV), so the same
// claims always give the same link — an invitation and its reminders carry one link — and two
// different claims never share a nonce.
#ifndef FIELDWORK_SERVICES_SURVEY_LINK_SURVEY_LINK_TOKEN_H_
#define FIELDWORK_SERVICES_SURVEY_LINK_SURVEY_LINK_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/survey_link/key_ring.h"

namespace fieldwork::survey_link {

struct SurveyLinkClaims {
  std::string trial_id;
  std::string wave_id;
  std::string participant_id;
  absl::Time expires;  // whole seconds; the link is refused from this moment on

  bool operator==(const SurveyLinkClaims&) const = default;
};

// The longest id a link carries (bytes): ids are short ([A-Za-z0-9._-], at most 128 in the
// services), and a bound keeps every link well inside what mail clients wrap and browsers take.
inline constexpr size_t kMaxLinkIdBytes = 128;

// The token for `claims`, sealed under the ring's signing key. INVALID_ARGUMENT naming the
// field when an id is empty or over kMaxLinkIdBytes, or the expiry is not after the epoch.
absl::StatusOr<std::string> SealSurveyLink(const SurveyLinkKeyRing& keys,
                                           const SurveyLinkClaims& claims);

// The claims of a genuine token that has not expired at `now`. UNAUTHENTICATED when the token
// is malformed, forged, altered, or sealed under a key the ring does not hold or no longer
// accepts at `now`; FAILED_PRECONDITION "survey link expired ..." when it is genuine but
// expired (the form says so differently: the participant did nothing wrong). Messages never
// contain the token, the key or an id.
absl::StatusOr<SurveyLinkClaims> OpenSurveyLink(const SurveyLinkKeyRing& keys,
                                                absl::string_view token, absl::Time now);

}  // namespace fieldwork::survey_link

#endif  // FIELDWORK_SERVICES_SURVEY_LINK_SURVEY_LINK_TOKEN_H_
