#include "services/survey_link/key_ring.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace fieldwork::survey_link {
namespace {

const std::string kHex(64, 'a');
const std::string kOtherHex(64, 'b');
// 32 bytes 0x00..0x1f in standard base64.
const std::string kBase64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

absl::Time At(const char* rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error)) << error;
  return t;
}

TEST(SurveyLinkKeyRingTest, FirstKeySealsAndOlderKeysOpenUntilTheirOverlapEnds) {
  absl::StatusOr<SurveyLinkKeyRing> ring = SurveyLinkKeyRing::Parse(
      absl::StrCat("# rotated in December\n\n3 ", kHex, "\n2 ", kBase64,
                   " until 2027-02-01T00:00:00Z\n"),
      "keys.txt");
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->sealing_key().id, 3);
  EXPECT_FALSE(ring->sealing_key().until.has_value());
  const SurveyLinkKey* old_key = ring->OpeningKey(2, At("2027-01-31T23:59:59Z"));
  ASSERT_NE(old_key, nullptr);
  EXPECT_EQ(old_key->secret[31], 0x1f);
  EXPECT_EQ(ring->OpeningKey(2, At("2027-02-01T00:00:00Z")), nullptr);
  EXPECT_NE(ring->OpeningKey(3, At("2099-01-01T00:00:00Z")), nullptr);
  EXPECT_EQ(ring->OpeningKey(7, At("2027-01-01T00:00:00Z")), nullptr);
}

TEST(SurveyLinkKeyRingTest, BadFilesNameTheLineAndReasonAndNeverEchoTheKey) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::string secretish = "c2VjcmV0LWJ1dC10b28tc2hvcnQ=";
  const Case cases[] = {
      {"", "keys.txt: no key"},
      {"# only a comment\n", "keys.txt: no key"},
      {absl::StrCat("1 ", secretish, "\n"), "keys.txt: line 1: key 1: expected 32 bytes"},
      {absl::StrCat("0 ", kHex), "line 1: the key id must be a whole number from 1 to 255"},
      {absl::StrCat("256 ", kHex), "from 1 to 255"},
      {absl::StrCat("1 ", kHex, "\n1 ", kOtherHex), "line 2: key id 1 appears twice"},
      {absl::StrCat("1 ", kHex, " until 2027-02-01T00:00:00Z"), "seals new links"},
      {absl::StrCat("1 ", kHex, "\n2 ", kOtherHex, " after 2027-02-01T00:00:00Z"),
       "line 2: key 2: expected `until`"},
      {absl::StrCat("1 ", kHex, "\n2 ", kOtherHex, " until yesterday"), "RFC 3339"},
      {absl::StrCat("1 ", kHex, " extra"), "line 1: expected `<key id> <key>`"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<SurveyLinkKeyRing> ring = SurveyLinkKeyRing::Parse(c.text, "keys.txt");
    ASSERT_FALSE(ring.ok()) << c.text;
    EXPECT_EQ(ring.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(ring.status().message(), c.expected))
        << ring.status() << " for " << c.text;
    EXPECT_FALSE(absl::StrContains(ring.status().message(), secretish)) << ring.status();
    EXPECT_FALSE(absl::StrContains(ring.status().message(), kOtherHex)) << ring.status();
  }
}

}  // namespace
}  // namespace fieldwork::survey_link
