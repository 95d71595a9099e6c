#include "services/messaging/domain/survey_link_url.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/survey_link/survey_link_token.h"
#include "tests/unit/messaging/test_campaigns.h"

namespace fieldwork::messaging {
namespace {

using ::testing::HasSubstr;
using survey_link::SurveyLinkKeyRing;

const absl::Time kExpires = absl::FromUnixSeconds(1796000000);  // 2026-11-30T00:53:20Z

SurveyLinkKeyRing Ring() {
  absl::StatusOr<SurveyLinkKeyRing> ring =
      SurveyLinkKeyRing::Parse(absl::StrCat("7 ", std::string(64, 'a')), "test keys");
  EXPECT_TRUE(ring.ok()) << ring.status();
  return *std::move(ring);
}

Campaign Hosted() {
  Campaign c = msgtest::SurveyWithReminders();
  c.survey.hosted = true;
  c.survey.expires = kExpires;
  return c;
}

// The token of a link "<base>/s/<token>" or "...?t=<token>".
std::string TokenOf(absl::string_view link, absl::string_view prefix) {
  EXPECT_TRUE(absl::StartsWith(link, prefix)) << link;
  return std::string(absl::StripPrefix(link, prefix));
}

TEST(SurveyLinkUrlTest, HostedLinkOpensToTheParticipantsClaimsAndHasNoReadableId) {
  const SurveyLinkKeyRing ring = Ring();
  const Campaign campaign = Hosted();
  absl::StatusOr<std::string> link =
      RenderSurveyLink(campaign, "P-0042", {&ring, "http://127.0.0.1:8081/"});
  ASSERT_TRUE(link.ok()) << link.status();
  for (const char* id : {"P-0042", "beneficiaries", "baseline"}) {
    EXPECT_FALSE(absl::StrContains(*link, id)) << *link;
  }
  absl::StatusOr<survey_link::SurveyLinkClaims> claims = survey_link::OpenSurveyLink(
      ring, TokenOf(*link, "http://127.0.0.1:8081/s/"), kExpires - absl::Seconds(1));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->trial_id, "beneficiaries");
  EXPECT_EQ(claims->wave_id, campaign.wave_id);
  EXPECT_EQ(claims->participant_id, "P-0042");
  EXPECT_EQ(claims->expires, kExpires);
}

TEST(SurveyLinkUrlTest, OneLinkPerParticipantWhicheverStepSendsIt) {
  const SurveyLinkKeyRing ring = Ring();
  const SurveyLinkSettings settings{&ring, "https://survey.example.org"};
  // Rendering depends on the campaign and the participant only: the invitation and each
  // reminder, rendered separately, carry the same link; another participant gets another.
  absl::StatusOr<std::string> invitation = RenderSurveyLink(Hosted(), "P-1", settings);
  absl::StatusOr<std::string> reminder = RenderSurveyLink(Hosted(), "P-1", settings);
  absl::StatusOr<std::string> other = RenderSurveyLink(Hosted(), "P-2", settings);
  ASSERT_TRUE(invitation.ok() && reminder.ok() && other.ok());
  EXPECT_EQ(*invitation, *reminder);
  EXPECT_NE(*invitation, *other);
}

TEST(SurveyLinkUrlTest, ExternalSurveyGetsTheTokenNotTheId) {
  const SurveyLinkKeyRing ring = Ring();
  Campaign campaign = msgtest::SurveyWithReminders();
  campaign.survey.url_template = "https://example.qualtrics.com/jfe/form/SV_x?t={survey_token}";
  campaign.survey.expires = kExpires;
  ASSERT_TRUE(ValidateCampaign(campaign).ok()) << ValidateCampaign(campaign);
  absl::StatusOr<std::string> link = RenderSurveyLink(campaign, "P-0042", {&ring, ""});
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_FALSE(absl::StrContains(*link, "P-0042")) << *link;
  absl::StatusOr<survey_link::SurveyLinkClaims> claims = survey_link::OpenSurveyLink(
      ring, TokenOf(*link, "https://example.qualtrics.com/jfe/form/SV_x?t="), kExpires - absl::Hours(1));
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->participant_id, "P-0042");
}

TEST(SurveyLinkUrlTest, OldParticipantIdTemplatesStillWorkWithoutKeys) {
  Campaign campaign = msgtest::SurveyWithReminders();
  campaign.survey.url_template = "https://survey.example.org/b?p={participant_id}";
  ASSERT_TRUE(ValidateCampaign(campaign).ok()) << ValidateCampaign(campaign);
  absl::StatusOr<std::string> link = RenderSurveyLink(campaign, "P-0042", {});
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_EQ(*link, "https://survey.example.org/b?p=P-0042");
}

TEST(SurveyLinkUrlTest, NoLinkWithoutTheKeyRingOrTheFormUrl) {
  const SurveyLinkKeyRing ring = Ring();
  absl::StatusOr<std::string> no_keys =
      RenderSurveyLink(Hosted(), "P-1", {nullptr, "https://survey.example.org"});
  EXPECT_EQ(no_keys.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(no_keys.status().message()), HasSubstr("--survey_link_keys"));
  EXPECT_THAT(std::string(no_keys.status().message()), HasSubstr("baseline-invite"));
  absl::StatusOr<std::string> no_base = RenderSurveyLink(Hosted(), "P-1", {&ring, ""});
  EXPECT_EQ(no_base.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(no_base.status().message()), HasSubstr("--survey_base_url"));
  EXPECT_EQ(CheckSurveyLinkSettings(Hosted(), {nullptr, ""}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(CheckSurveyLinkSettings(msgtest::SurveyWithReminders(), {nullptr, ""}).ok());
}

TEST(SurveyLinkUrlTest, BadSurveyFieldsAreRefusedNamingTheField) {
  Campaign both = Hosted();
  both.survey.url_template = "https://x.example.org/?t={survey_token}";
  EXPECT_THAT(std::string(ValidateCampaign(both).message()),
              HasSubstr("survey_url_template: give either hosted_survey"));
  Campaign no_expiry = Hosted();
  no_expiry.survey.expires.reset();
  EXPECT_THAT(std::string(ValidateCampaign(no_expiry).message()),
              HasSubstr("survey_link_expires: required"));
  Campaign expiry_without_token = msgtest::SurveyWithReminders();
  expiry_without_token.survey.url_template = "https://x.example.org/?p={participant_id}";
  expiry_without_token.survey.expires = kExpires;
  EXPECT_THAT(std::string(ValidateCampaign(expiry_without_token).message()),
              HasSubstr("survey_link_expires: only personal survey links expire"));
  Campaign intervention = msgtest::EightWeekIntervention();
  intervention.survey.hosted = true;
  EXPECT_THAT(std::string(ValidateCampaign(intervention).message()),
              HasSubstr("hosted_survey: only survey invitations"));
}

}  // namespace
}  // namespace fieldwork::messaging
