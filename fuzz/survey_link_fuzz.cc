// Fuzzes the personal survey-link token (services/survey_link): what opens a participant's
// questionnaire. The first byte picks the mode:
//   even: the rest is a token as a forger would send it. If it opens, it must be exactly the
//         token SealSurveyLink makes of its claims (no second spelling of a link opens), and a
//         refusal is UNAUTHENTICATED (or FAILED_PRECONDITION for a genuine expired link).
//   odd:  the rest is claims, one a line (trial, wave, participant, expiry in Unix seconds).
//         A sealed link must open to the same claims before its expiry and be refused from
//         it; with any one character changed, cut short or lengthened it must be refused.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fuzz/check.h"
#include "services/survey_link/survey_link_token.h"

namespace fieldwork::survey_link {
namespace {

using fuzz::Check;

constexpr absl::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const absl::Time kNow = absl::FromUnixSeconds(1796000000);

const SurveyLinkKeyRing& Keys() {
  static const SurveyLinkKeyRing* keys = [] {
    absl::StatusOr<SurveyLinkKeyRing> ring = SurveyLinkKeyRing::Parse(
        absl::StrCat("2 ", std::string(64, '2'), "\n1 ", std::string(64, '1'),
                     " until 2027-01-01T00:00:00Z\n"),
        "fuzz keys");
    Check(ring.ok(), "the fuzz keys parse", ring.status().ToString());
    return new SurveyLinkKeyRing(*std::move(ring));
  }();
  return *keys;
}

void OpenForged(absl::string_view token) {
  absl::StatusOr<SurveyLinkClaims> claims = OpenSurveyLink(Keys(), token, kNow);
  if (!claims.ok()) {
    Check(claims.status().code() == absl::StatusCode::kUnauthenticated ||
              claims.status().code() == absl::StatusCode::kFailedPrecondition,
          "a refused link is UNAUTHENTICATED or expired", claims.status().ToString());
    return;
  }
  absl::StatusOr<std::string> sealed = SealSurveyLink(Keys(), *claims);
  Check(sealed.ok() && *sealed == token, "an opened link is the one SealSurveyLink makes",
        token);
}

bool Opens(absl::string_view token) { return OpenSurveyLink(Keys(), token, kNow).ok(); }

void SealAndTamper(absl::string_view rest) {
  std::vector<absl::string_view> lines = absl::StrSplit(rest, '\n');
  lines.resize(4);
  SurveyLinkClaims claims{std::string(lines[0]), std::string(lines[1]), std::string(lines[2]),
                          kNow + absl::Hours(1)};
  int64_t expiry = 0;
  if (absl::SimpleAtoi(lines[3], &expiry)) claims.expires = absl::FromUnixSeconds(expiry);
  absl::StatusOr<std::string> sealed = SealSurveyLink(Keys(), claims);
  if (!sealed.ok()) {
    Check(sealed.status().code() == absl::StatusCode::kInvalidArgument,
          "claims that cannot be carried are INVALID_ARGUMENT", sealed.status().ToString());
    return;
  }
  const std::string& token = *sealed;
  absl::StatusOr<SurveyLinkClaims> opened = OpenSurveyLink(Keys(), token, kNow);
  if (kNow < claims.expires) {
    Check(opened.ok() && *opened == claims, "a sealed link opens to its claims", token);
  } else {
    Check(opened.status().code() == absl::StatusCode::kFailedPrecondition,
          "a sealed link is refused as expired from its expiry", opened.status().ToString());
    return;
  }
  std::string changed = token;
  for (size_t i = 0; i < token.size(); ++i) {
    const size_t at = kBase64Url.find(token[i]);
    changed[i] = at == absl::string_view::npos ? 'A' : kBase64Url[(at + 1 + i % 63) % 64];
    Check(!Opens(changed), "a link with one character changed is refused",
          absl::StrCat(token, " with character ", i, " changed: ", changed));
    changed[i] = token[i];
  }
  Check(!Opens(token.substr(0, token.size() - 1)), "a link cut short is refused");
  Check(!Opens(token + "A"), "a lengthened link is refused");
}

}  // namespace
}  // namespace fieldwork::survey_link

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    fieldwork::survey_link::OpenForged(rest);
  } else {
    fieldwork::survey_link::SealAndTamper(rest);
  }
  return 0;
}
