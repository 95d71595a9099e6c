#include "services/messaging/domain/campaign.h"

#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/messaging/test_campaigns.h"

namespace fieldwork::messaging {
namespace {

using msgtest::EightWeekIntervention;
using msgtest::SurveyWithReminders;
using msgtest::Waitlist;
using ::testing::HasSubstr;

TEST(CampaignTest, ExampleCampaignsAreValid) {
  EXPECT_TRUE(ValidateCampaign(EightWeekIntervention()).ok())
      << ValidateCampaign(EightWeekIntervention());
  EXPECT_TRUE(ValidateCampaign(SurveyWithReminders()).ok())
      << ValidateCampaign(SurveyWithReminders());
  EXPECT_TRUE(ValidateCampaign(Waitlist()).ok()) << ValidateCampaign(Waitlist());
}

struct BadCase {
  std::string name;
  std::function<Campaign()> make;
  std::string expected;  // a substring of the error: the field and the reason
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class CampaignBadInputTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(CampaignBadInputTest, RejectedNamingTheField) {
  absl::Status status = ValidateCampaign(GetParam().make());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr(GetParam().expected));
}

// Each case changes one thing in a valid campaign.
template <typename F>
std::function<Campaign()> Intervention(F change) {
  return [change] {
    Campaign c = EightWeekIntervention();
    change(c);
    return c;
  };
}
template <typename F>
std::function<Campaign()> Survey(F change) {
  return [change] {
    Campaign c = SurveyWithReminders();
    change(c);
    return c;
  };
}
template <typename F>
std::function<Campaign()> WaitlistWith(F change) {
  return [change] {
    Campaign c = Waitlist();
    change(c);
    return c;
  };
}

INSTANTIATE_TEST_SUITE_P(
    Fields, CampaignBadInputTest,
    ::testing::Values(
        BadCase{"NoTrial", Intervention([](Campaign& c) { c.trial_id.clear(); }),
                "trial_id: required"},
        BadCase{"TrialWithColon", Intervention([](Campaign& c) { c.trial_id = "a:b"; }),
                "trial_id: character 2 is not allowed"},
        BadCase{"CampaignTooLong",
                Intervention([](Campaign& c) { c.campaign_id = std::string(129, 'x'); }),
                "campaign_id: 129 characters"},
        BadCase{"NoKind", Intervention([](Campaign& c) { c.kind = CampaignKind::kUnspecified; }),
                "kind: must be"},
        BadCase{"NoSteps", Intervention([](Campaign& c) { c.steps.clear(); }),
                "steps: at least one step"},
        BadCase{"TooManySteps", Intervention([](Campaign& c) {
                  c.steps = RepeatingSteps(std::vector<std::string>(1001, "t"),
                                           absl::ZeroDuration(), absl::Hours(1));
                }),
                "steps: 1001 steps"},
        BadCase{"StepWithoutTemplate",
                Intervention([](Campaign& c) { c.steps[2].template_id.clear(); }),
                "steps[2].template_id: required"},
        BadCase{"NegativeOffset",
                Intervention([](Campaign& c) { c.steps[0].offset = absl::Seconds(-1); }),
                "steps[0].offset: must not be negative"},
        BadCase{"HugeOffset",
                Intervention([](Campaign& c) { c.steps[7].offset = absl::Hours(24 * 4000); }),
                "steps[7].offset: more than ten years"},
        BadCase{"SubSecondOffset",
                Intervention([](Campaign& c) { c.steps[1].offset += absl::Milliseconds(5); }),
                "steps[1].offset: must be a whole number of seconds"},
        BadCase{"OffsetsOutOfOrder",
                Intervention([](Campaign& c) { c.steps[3].offset = c.steps[2].offset; }),
                "steps[3].offset: must be later than steps[2].offset"},
        BadCase{"ReminderInIntervention",
                Intervention([](Campaign& c) { c.steps[1].reminder = true; }),
                "steps[1].reminder: only survey invitations"},
        BadCase{"SurveyStartsWithReminder", Survey([](Campaign& c) { c.steps[0].reminder = true; }),
                "steps[0].reminder: the first step"},
        BadCase{"NoFactor", Intervention([](Campaign& c) { c.audience.factor.clear(); }),
                "audience.factor: required"},
        BadCase{"NoArms", Intervention([](Campaign& c) { c.audience.arms.clear(); }),
                "audience.arms: at least one arm"},
        BadCase{"BadArm", Intervention([](Campaign& c) { c.audience.arms = {"treat ment"}; }),
                "audience.arms[0]: character 6"},
        BadCase{"DuplicateArm", Intervention([](Campaign& c) {
                  c.audience.arms = {"treatment", "treatment"};
                }),
                "audience.arms[1]: \"treatment\" is listed twice"},
        BadCase{"AllEnrolledIntervention", Intervention([](Campaign& c) {
                  c.audience = Audience{};
                  c.audience.all_enrolled = true;
                }),
                "audience.all_enrolled: only survey invitations"},
        BadCase{"AllEnrolledWithArms", Survey([](Campaign& c) { c.audience.arms = {"treatment"}; }),
                "audience.arms: must be empty when audience.all_enrolled"},
        BadCase{"AllEnrolledWithFactor", Survey([](Campaign& c) { c.audience.factor = "message"; }),
                "audience.factor: must be empty"},
        BadCase{"DuplicateSite", Intervention([](Campaign& c) {
                  c.audience.sites = {"la1", "la2", "la1"};
                }),
                "audience.sites[2]: \"la1\" is listed twice"},
        BadCase{"BadCohort", Intervention([](Campaign& c) { c.audience.cohorts = {""}; }),
                "audience.cohorts[0]: required"},
        BadCase{"NoChannel", Intervention([](Campaign& c) { c.channel = Channel::kUnspecified; }),
                "channel: must be email, sms or participant_preference"},
        BadCase{"NoDays", Intervention([](Campaign& c) { c.window.days.clear(); }),
                "window.days: at least one day"},
        BadCase{"DayTwice",
                Intervention([](Campaign& c) { c.window.days.push_back(absl::Weekday::monday); }),
                "window.days[5]: day listed twice"},
        BadCase{"NotADay",
                Intervention([](Campaign& c) { c.window.days[0] = static_cast<absl::Weekday>(9); }),
                "window.days[0]: not a day of the week"},
        BadCase{"StartHour24", Intervention([](Campaign& c) { c.window.start_hour = 24; }),
                "window.start_hour: must be 0..23"},
        BadCase{"EndHour0", Intervention([](Campaign& c) { c.window.end_hour = 0; }),
                "window.end_hour: must be 1..24"},
        BadCase{"EndBeforeStart", Intervention([](Campaign& c) {
                  c.window.start_hour = 20;
                  c.window.end_hour = 8;
                }),
                "window.end_hour: must be after window.start_hour"},
        BadCase{"NoWindowZone",
                Intervention([](Campaign& c) { c.window.zone = ZoneSource::kUnspecified; }),
                "window.zone: must be participant or trial"},
        BadCase{"NoTimeZone", Intervention([](Campaign& c) { c.trial_time_zone.clear(); }),
                "trial_time_zone: required"},
        BadCase{"UnknownTimeZone",
                Intervention([](Campaign& c) { c.trial_time_zone = "Europe/Atlantis"; }),
                "trial_time_zone: unknown time zone \"Europe/Atlantis\""},
        BadCase{"InterventionWithoutStart", Intervention([](Campaign& c) { c.start.reset(); }),
                "start: required for a campaign of kind intervention"},
        BadCase{"InfiniteStart",
                Intervention([](Campaign& c) { c.start = absl::InfiniteFuture(); }),
                "start: must be a finite time"},
        BadCase{"InterventionWithWave", Intervention([](Campaign& c) { c.wave_id = "endline"; }),
                "wave_id: only survey invitations and waitlist campaigns"},
        BadCase{"InterventionWithDelay",
                Intervention([](Campaign& c) { c.waitlist_delay = absl::Hours(1); }),
                "waitlist_delay: only waitlist campaigns"},
        BadCase{"SurveyWithoutWave", Survey([](Campaign& c) { c.wave_id.clear(); }),
                "wave_id: required (the wave the survey invitation is for)"},
        BadCase{"SurveyBadWave", Survey([](Campaign& c) { c.wave_id = "base line"; }),
                "wave_id: character 5"},
        BadCase{"WaitlistWithStart", WaitlistWith([](Campaign& c) { c.start = absl::UnixEpoch(); }),
                "start: a waitlist campaign starts when wave_id closes"},
        BadCase{"WaitlistWithoutWave", WaitlistWith([](Campaign& c) { c.wave_id.clear(); }),
                "wave_id: required (the wave whose closing starts the waitlist campaign)"},
        BadCase{"WaitlistNegativeDelay",
                WaitlistWith([](Campaign& c) { c.waitlist_delay = absl::Hours(-1); }),
                "waitlist_delay: must not be negative"}),
    [](const ::testing::TestParamInfo<BadCase>& param_info) { return param_info.param.name; });

TEST(CampaignTest, EveryProblemIsReportedNotOnlyTheFirst) {
  Campaign c = EightWeekIntervention();
  c.trial_id.clear();
  c.steps[1].offset = absl::Seconds(-5);
  c.window.end_hour = 25;
  absl::Status status = ValidateCampaign(c);
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("trial_id: required"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("steps[1].offset: must not be negative"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("window.end_hour: must be 1..24"));
}

TEST(CampaignTest, WaitlistStartsWhenItsWaveCloses) {
  Campaign c = Waitlist();
  absl::StatusOr<absl::Time> before = CampaignStart(c, std::nullopt);
  EXPECT_EQ(before.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(before.status().message()), HasSubstr("waits for wave endline"));

  absl::Time closed = msgtest::LondonTime(2024, 6, 3, 17);
  absl::StatusOr<absl::Time> after = CampaignStart(c, closed);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, closed + absl::Hours(24));
}

TEST(CampaignTest, InterventionStartsAtItsStart) {
  Campaign c = EightWeekIntervention();
  absl::StatusOr<absl::Time> start = CampaignStart(c, msgtest::LondonTime(2030, 1, 1, 0));
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(*start, *c.start);
}

TEST(CampaignTest, RepeatingStepsAreEvenlySpaced) {
  std::vector<CampaignStep> steps =
      RepeatingSteps({"a", "b", "c"}, absl::Hours(1), absl::Hours(24 * 7));
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].template_id, "a");
  EXPECT_EQ(steps[0].offset, absl::Hours(1));
  EXPECT_EQ(steps[2].offset, absl::Hours(1 + 24 * 14));
  EXPECT_FALSE(steps[2].reminder);
}

TEST(CampaignTest, NamesAreStable) {
  EXPECT_EQ(ChannelName(Channel::kParticipantPreference), "participant_preference");
  EXPECT_EQ(DeliveryChannelName(DeliveryChannel::kSms), "sms");
  EXPECT_EQ(CampaignKindName(CampaignKind::kSurveyInvitation), "survey_invitation");
}

}  // namespace
}  // namespace fieldwork::messaging
