// The form's anti-forgery token: bound to one survey link, derived from the ring's sealing key.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "services/survey_ingest/form/csrf.h"

namespace fieldwork::survey_ingest::form {
namespace {

survey_link::SurveyLinkKeyRing Ring(const char* hex_key) {
  return *survey_link::SurveyLinkKeyRing::Parse(absl::StrCat("1 ", hex_key, "\n"), "test");
}

constexpr char kKeyA[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr char kKeyB[] = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

TEST(CsrfGuardTest, ATokenChecksOnlyForItsOwnLink) {
  const survey_link::SurveyLinkKeyRing ring = Ring(kKeyA);
  const CsrfGuard guard(ring);
  const std::string token = guard.TokenFor("link-one");
  EXPECT_EQ(token.size(), 43u);
  EXPECT_EQ(token, guard.TokenFor("link-one"));  // stable: any page of the link carries it
  EXPECT_TRUE(guard.Check("link-one", token));
  EXPECT_FALSE(guard.Check("link-two", token));
  EXPECT_FALSE(guard.Check("link-one", ""));
  EXPECT_FALSE(guard.Check("link-one", token.substr(0, 42)));
  std::string altered = token;
  altered[10] = altered[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(guard.Check("link-one", altered));
}

TEST(CsrfGuardTest, EveryReplicaWithTheSameRingAgreesAndAnotherRingDoesNot) {
  const survey_link::SurveyLinkKeyRing ring = Ring(kKeyA);
  const survey_link::SurveyLinkKeyRing same = Ring(kKeyA);
  const survey_link::SurveyLinkKeyRing other = Ring(kKeyB);
  EXPECT_EQ(CsrfGuard(ring).TokenFor("link"), CsrfGuard(same).TokenFor("link"));
  EXPECT_FALSE(CsrfGuard(other).Check("link", CsrfGuard(ring).TokenFor("link")));
}

}  // namespace
}  // namespace fieldwork::survey_ingest::form
