#include "services/survey_link/survey_link_token.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace fieldwork::survey_link {
namespace {

const std::string kKey1(64, '1');
const std::string kKey2(64, '2');
const absl::Time kNow = absl::FromUnixSeconds(1796000000);  // 2026-11-30T00:53:20Z

SurveyLinkKeyRing Ring(const std::string& text) {
  absl::StatusOr<SurveyLinkKeyRing> ring = SurveyLinkKeyRing::Parse(text, "test keys");
  EXPECT_TRUE(ring.ok()) << ring.status();
  return *std::move(ring);
}

SurveyLinkClaims Claims(const std::string& participant = "P-0042") {
  return {"swing", "baseline", participant, kNow + absl::Hours(24 * 14)};
}

TEST(SurveyLinkTokenTest, OpensToTheSealedClaimsAndCarriesNoReadableId) {
  const SurveyLinkKeyRing ring = Ring(absl::StrCat("1 ", kKey1));
  absl::StatusOr<std::string> token = SealSurveyLink(ring, Claims());
  ASSERT_TRUE(token.ok()) << token.status();
  absl::StatusOr<SurveyLinkClaims> opened = OpenSurveyLink(ring, *token, kNow);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, Claims());
  // URL-safe without escaping, and no id readable in it, even after base64 decoding.
  for (char c : *token) EXPECT_TRUE(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << *token;
  for (const char* id : {"P-0042", "swing", "baseline"}) {
    EXPECT_FALSE(absl::StrContains(*token, id));
    std::string decoded;
    ASSERT_TRUE(absl::WebSafeBase64Unescape(*token, &decoded));
    EXPECT_FALSE(absl::StrContains(decoded, id)) << id;
  }
}

TEST(SurveyLinkTokenTest, SameClaimsGiveTheSameLinkAndDifferentClaimsDifferentLinks) {
  const SurveyLinkKeyRing ring = Ring(absl::StrCat("1 ", kKey1));
  EXPECT_EQ(*SealSurveyLink(ring, Claims()), *SealSurveyLink(ring, Claims()));
  std::set<std::string> tokens;
  for (int i = 0; i < 200; ++i) tokens.insert(*SealSurveyLink(ring, Claims(absl::StrCat("P", i))));
  EXPECT_EQ(tokens.size(), 200u);
}

TEST(SurveyLinkTokenTest, EveryAlteredByteIsRefusedAsNotGenuine) {
  const SurveyLinkKeyRing ring = Ring(absl::StrCat("1 ", kKey1));
  const std::string token = *SealSurveyLink(ring, Claims());
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  for (size_t i = 0; i < raw.size(); ++i) {
    for (int flip : {0x01, 0x80}) {
      std::string altered = raw;
      altered[i] = static_cast<char>(static_cast<unsigned char>(altered[i]) ^ flip);
      std::string text;
      absl::WebSafeBase64Escape(altered, &text);
      absl::StatusOr<SurveyLinkClaims> opened = OpenSurveyLink(ring, text, kNow);
      ASSERT_FALSE(opened.ok()) << "byte " << i;
      EXPECT_EQ(opened.status().code(), absl::StatusCode::kUnauthenticated) << opened.status();
    }
  }
  // Truncated, extended, empty, oversized, not base64.
  for (const std::string& bad :
       {token.substr(0, token.size() - 1), token + "A", std::string(), std::string(5000, 'A'),
        std::string("not a token!"), token.substr(0, 10)}) {
    absl::StatusOr<SurveyLinkClaims> opened = OpenSurveyLink(ring, bad, kNow);
    ASSERT_FALSE(opened.ok()) << bad;
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kUnauthenticated) << opened.status();
  }
}

TEST(SurveyLinkTokenTest, ALinkSealedUnderAnotherKeyIsRefused) {
  const std::string token = *SealSurveyLink(Ring(absl::StrCat("1 ", kKey2)), Claims());
  absl::StatusOr<SurveyLinkClaims> opened =
      OpenSurveyLink(Ring(absl::StrCat("1 ", kKey1)), token, kNow);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(opened.status().message(), "forged or altered"));
}

TEST(SurveyLinkTokenTest, ExpiresAtItsExpiryWithAReasonOfItsOwn) {
  const SurveyLinkKeyRing ring = Ring(absl::StrCat("1 ", kKey1));
  const SurveyLinkClaims claims = Claims();
  const std::string token = *SealSurveyLink(ring, claims);
  EXPECT_TRUE(OpenSurveyLink(ring, token, claims.expires - absl::Seconds(1)).ok());
  absl::StatusOr<SurveyLinkClaims> opened = OpenSurveyLink(ring, token, claims.expires);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(opened.status().message()), "survey link expired at 2026-12-14T00:53:20Z");
}

TEST(SurveyLinkTokenTest, RotationKeepsOldLinksValidUntilTheOverlapEnds) {
  const std::string old_link = *SealSurveyLink(Ring(absl::StrCat("1 ", kKey1)), Claims());
  const SurveyLinkKeyRing rotated =
      Ring(absl::StrCat("2 ", kKey2, "\n1 ", kKey1, " until 2026-12-01T00:00:00Z\n"));
  EXPECT_TRUE(OpenSurveyLink(rotated, old_link, kNow).ok());
  const std::string new_link = *SealSurveyLink(rotated, Claims());
  EXPECT_NE(new_link, old_link);
  EXPECT_TRUE(OpenSurveyLink(rotated, new_link, kNow).ok());
  absl::StatusOr<SurveyLinkClaims> after = OpenSurveyLink(
      rotated, old_link, absl::FromUnixSeconds(1796083200));  // 2026-12-01T00:00:00Z
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(after.status().message(), "unknown or retired"));
  // The key id is authenticated: relabelling a link as sealed by key 2 does not open it.
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(old_link, &raw));
  raw[1] = 2;
  std::string relabelled;
  absl::WebSafeBase64Escape(raw, &relabelled);
  EXPECT_EQ(OpenSurveyLink(rotated, relabelled, kNow).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(SurveyLinkTokenTest, SealingRefusesIdsItCannotCarry) {
  const SurveyLinkKeyRing ring = Ring(absl::StrCat("1 ", kKey1));
  SurveyLinkClaims claims = Claims("");
  EXPECT_EQ(SealSurveyLink(ring, claims).status().message(),
            "participant_id: must be 1 to 128 bytes, got 0");
  claims = Claims(std::string(129, 'x'));
  EXPECT_EQ(SealSurveyLink(ring, claims).status().code(), absl::StatusCode::kInvalidArgument);
  claims = Claims(std::string(128, 'x'));
  claims.trial_id = std::string(128, 't');
  claims.wave_id = std::string(128, 'w');
  absl::StatusOr<std::string> longest = SealSurveyLink(ring, claims);
  ASSERT_TRUE(longest.ok()) << longest.status();
  EXPECT_EQ(*OpenSurveyLink(ring, *longest, kNow), claims);
  claims.expires = absl::UnixEpoch();
  EXPECT_EQ(SealSurveyLink(ring, claims).status().message(), "expires: must be after 1970-01-01");
}

}  // namespace
}  // namespace fieldwork::survey_link
