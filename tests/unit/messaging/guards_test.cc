#include "services/messaging/domain/guards.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/messaging/test_campaigns.h"

namespace fieldwork::messaging {
namespace {

using msgtest::EightWeekIntervention;
using msgtest::SurveyWithReminders;
using ::testing::HasSubstr;

const absl::Time kNow = msgtest::Utc(2024, 1, 8, 10);

SendFacts Treatment() {
  SendFacts facts;
  facts.current_arm = "treatment";
  facts.has_email = true;
  facts.has_phone = true;
  return facts;
}

SendDecision Decide(const Campaign& c, size_t step, const SendFacts& facts) {
  absl::StatusOr<SendDecision> decision = DecideSend(c, step, facts, kNow);
  EXPECT_TRUE(decision.ok()) << decision.status();
  return decision.value_or(SendDecision{});
}

TEST(GuardsTest, TreatmentParticipantIsSentTo) {
  SendDecision d = Decide(EightWeekIntervention(), 0, Treatment());
  EXPECT_TRUE(d.send);
  EXPECT_EQ(d.channel, DeliveryChannel::kEmail);
  EXPECT_EQ(d.reason, SkipReason::kNone);
}

TEST(GuardsTest, ControlParticipantIsNeverSentAnInterventionMessage) {
  SendFacts facts = Treatment();
  facts.current_arm = "control";
  SendDecision d = Decide(EightWeekIntervention(), 0, facts);
  EXPECT_FALSE(d.send);
  EXPECT_EQ(d.reason, SkipReason::kArmNotInAudience);
  EXPECT_THAT(d.detail, HasSubstr("message=control"));
}

TEST(GuardsTest, UnallocatedParticipantIsNotSentAnInterventionMessage) {
  SendFacts facts = Treatment();
  facts.current_arm.reset();
  EXPECT_EQ(Decide(EightWeekIntervention(), 0, facts).reason, SkipReason::kNotAllocated);
  facts.current_arm = "";
  EXPECT_EQ(Decide(EightWeekIntervention(), 0, facts).reason, SkipReason::kNotAllocated);
}

TEST(GuardsTest, WaitlistIsGuardedByArmToo) {
  Campaign c = msgtest::Waitlist();
  SendFacts facts = Treatment();
  EXPECT_EQ(Decide(c, 0, facts).reason, SkipReason::kArmNotInAudience);
  facts.current_arm = "waitlist";
  EXPECT_TRUE(Decide(c, 0, facts).send);
}

TEST(GuardsTest, WithdrawnNotEnrolledAndLeaversGetNothing) {
  SendFacts facts = Treatment();
  facts.enrolment = EnrolmentState::kWithdrawn;
  EXPECT_EQ(Decide(EightWeekIntervention(), 0, facts).reason, SkipReason::kWithdrawn);
  facts.enrolment = EnrolmentState::kNotEnrolled;
  EXPECT_EQ(Decide(EightWeekIntervention(), 0, facts).reason, SkipReason::kNotEnrolled);

  facts = Treatment();
  facts.left_at = kNow - absl::Hours(24);
  EXPECT_EQ(Decide(EightWeekIntervention(), 0, facts).reason, SkipReason::kLeft);
  facts.left_at = kNow;
  EXPECT_EQ(Decide(EightWeekIntervention(), 0, facts).reason, SkipReason::kLeft);
  facts.left_at = kNow + absl::Hours(24);  // leaving next week: still here today
  EXPECT_TRUE(Decide(EightWeekIntervention(), 0, facts).send);
}

TEST(GuardsTest, OptedOutOfEverythingGetsNothing) {
  SendFacts facts = Treatment();
  facts.opt_outs.all = true;
  EXPECT_EQ(Decide(EightWeekIntervention(), 0, facts).reason, SkipReason::kOptedOutAll);
}

TEST(GuardsTest, OptedOutOfTheCampaignsChannelGetsNothing) {
  Campaign c = EightWeekIntervention();
  SendFacts facts = Treatment();
  facts.opt_outs.email = true;
  EXPECT_EQ(Decide(c, 0, facts).reason, SkipReason::kOptedOutChannel);
  c.channel = Channel::kSms;
  SendDecision d = Decide(c, 0, facts);
  EXPECT_TRUE(d.send);
  EXPECT_EQ(d.channel, DeliveryChannel::kSms);
  facts.opt_outs.sms = true;
  EXPECT_EQ(Decide(c, 0, facts).reason, SkipReason::kOptedOutChannel);
}

TEST(GuardsTest, NoContactForTheChannel) {
  Campaign c = EightWeekIntervention();
  SendFacts facts = Treatment();
  facts.has_email = false;
  SendDecision d = Decide(c, 0, facts);
  EXPECT_EQ(d.reason, SkipReason::kNoContact);
  EXPECT_THAT(d.detail, HasSubstr("email"));
}

TEST(GuardsTest, ParticipantPreferenceAndItsFallback) {
  Campaign c = EightWeekIntervention();
  c.channel = Channel::kParticipantPreference;
  SendFacts facts = Treatment();
  EXPECT_EQ(Decide(c, 0, facts).channel, DeliveryChannel::kEmail);  // no preference: e-mail
  facts.preference = DeliveryChannel::kSms;
  EXPECT_EQ(Decide(c, 0, facts).channel, DeliveryChannel::kSms);
  facts.has_phone = false;  // preferred SMS, but no number: e-mail
  EXPECT_EQ(Decide(c, 0, facts).channel, DeliveryChannel::kEmail);
  facts.has_phone = true;
  facts.opt_outs.sms = true;  // preferred SMS, but sent STOP: e-mail
  EXPECT_EQ(Decide(c, 0, facts).channel, DeliveryChannel::kEmail);
  facts.opt_outs.email = true;
  EXPECT_EQ(Decide(c, 0, facts).reason, SkipReason::kOptedOutChannel);
  facts = Treatment();
  facts.has_email = false;
  facts.has_phone = false;
  EXPECT_EQ(Decide(c, 0, facts).reason, SkipReason::kNoContact);
}

TEST(GuardsTest, RemindersGoOnlyToNonResponders) {
  Campaign c = SurveyWithReminders();
  SendFacts facts;
  facts.has_email = true;
  facts.has_accepted_response = true;
  SendDecision d = Decide(c, 1, facts);
  EXPECT_EQ(d.reason, SkipReason::kAlreadyResponded);
  EXPECT_THAT(d.detail, HasSubstr("baseline"));
  facts.has_accepted_response = false;
  EXPECT_TRUE(Decide(c, 1, facts).send);
  EXPECT_TRUE(Decide(c, 2, facts).send);
}

TEST(GuardsTest, TheInvitationItselfIgnoresResponses) {
  Campaign c = SurveyWithReminders();
  SendFacts facts;
  facts.has_email = true;
  EXPECT_TRUE(Decide(c, 0, facts).send);  // no response fact needed
  facts.has_accepted_response = true;
  EXPECT_TRUE(Decide(c, 0, facts).send);
}

TEST(GuardsTest, AllEnrolledSurveyIgnoresAllocation) {
  Campaign c = SurveyWithReminders();
  SendFacts facts;
  facts.has_email = true;
  facts.current_arm = "control";
  EXPECT_TRUE(Decide(c, 0, facts).send);
  facts.current_arm.reset();
  EXPECT_TRUE(Decide(c, 0, facts).send);
}

TEST(GuardsTest, SurveyForOneArmChecksTheArm) {
  Campaign c = SurveyWithReminders();
  c.audience = Audience{};
  c.audience.factor = "message";
  c.audience.arms = {"treatment"};
  SendFacts facts;
  facts.has_email = true;
  facts.current_arm = "control";
  EXPECT_EQ(Decide(c, 0, facts).reason, SkipReason::kArmNotInAudience);
}

TEST(GuardsTest, SiteAndCohortFiltersAreRechecked) {
  Campaign c = EightWeekIntervention();
  c.audience.sites = {"la1"};
  c.audience.cohorts = {"c1"};
  SendFacts facts = Treatment();
  EXPECT_TRUE(Decide(c, 0, facts).send);  // unknown site/cohort: the plan's filter stands
  facts.site = "la2";
  EXPECT_EQ(Decide(c, 0, facts).reason, SkipReason::kSiteNotInAudience);
  facts.site = "la1";
  facts.cohort = "c2";
  EXPECT_EQ(Decide(c, 0, facts).reason, SkipReason::kCohortNotInAudience);
}

TEST(GuardsTest, BadCalls) {
  Campaign survey = SurveyWithReminders();
  SendFacts facts;
  facts.has_email = true;
  absl::StatusOr<SendDecision> missing = DecideSend(survey, 1, facts, kNow);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("has_accepted_response"));
  EXPECT_EQ(DecideSend(survey, 3, facts, kNow).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(GuardsTest, SkipReasonNames) {
  EXPECT_EQ(SkipReasonName(SkipReason::kArmNotInAudience), "arm_not_in_audience");
  EXPECT_EQ(SkipReasonName(SkipReason::kAlreadyResponded), "already_responded");
  EXPECT_EQ(SkipReasonName(SkipReason::kOptedOutChannel), "opted_out_channel");
}

}  // namespace
}  // namespace fieldwork::messaging
