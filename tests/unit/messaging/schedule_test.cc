#include "services/messaging/domain/schedule.h"

#include <regex>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/messaging/test_campaigns.h"

namespace fieldwork::messaging {
namespace {

using msgtest::EightWeekIntervention;
using msgtest::London;
using msgtest::LondonTime;
using msgtest::Utc;
using msgtest::Weekdays;
using ::testing::HasSubstr;

TEST(SendWindowTest, InsideAndOutside) {
  SendWindow window = Weekdays(9, 17);
  EXPECT_TRUE(InSendWindow(window, London(), LondonTime(2024, 1, 8, 9)));       // Monday 09:00
  EXPECT_TRUE(InSendWindow(window, London(), LondonTime(2024, 1, 8, 16, 59)));  // Monday 16:59
  EXPECT_FALSE(InSendWindow(window, London(), LondonTime(2024, 1, 8, 17)));     // end excluded
  EXPECT_FALSE(InSendWindow(window, London(), LondonTime(2024, 1, 8, 8, 59)));
  EXPECT_FALSE(InSendWindow(window, London(), LondonTime(2024, 1, 13, 12)));  // Saturday
}

TEST(SendWindowTest, DueInsideTheWindowGoesAtOnce) {
  absl::Time t = LondonTime(2024, 1, 9, 11, 23);
  absl::StatusOr<absl::Time> opening = NextWindowOpening(Weekdays(9, 17), London(), t);
  ASSERT_TRUE(opening.ok());
  EXPECT_EQ(*opening, t);
}

TEST(SendWindowTest, EarlyMorningWaitsForTheOpening) {
  absl::StatusOr<absl::Time> opening =
      NextWindowOpening(Weekdays(9, 17), London(), LondonTime(2024, 1, 9, 3));
  ASSERT_TRUE(opening.ok());
  EXPECT_EQ(*opening, LondonTime(2024, 1, 9, 9));
}

TEST(SendWindowTest, FridayEveningWaitsForMonday) {
  absl::StatusOr<absl::Time> opening =
      NextWindowOpening(Weekdays(9, 17), London(), LondonTime(2024, 1, 12, 17, 30));
  ASSERT_TRUE(opening.ok());
  EXPECT_EQ(*opening, LondonTime(2024, 1, 15, 9));
}

TEST(SendWindowTest, OneDayAWeekWaitsUpToAWeek) {
  SendWindow window = Weekdays(10, 11);
  window.days = {absl::Weekday::wednesday};
  // Wednesday 11:00, just after the window: next Wednesday.
  absl::StatusOr<absl::Time> opening =
      NextWindowOpening(window, London(), LondonTime(2024, 1, 10, 11));
  ASSERT_TRUE(opening.ok());
  EXPECT_EQ(*opening, LondonTime(2024, 1, 17, 10));
}

TEST(SendWindowTest, NoDaysIsAnError) {
  SendWindow window = Weekdays(9, 17);
  window.days.clear();
  EXPECT_EQ(NextWindowOpening(window, London(), LondonTime(2024, 1, 9, 3)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// UK clocks went forward at 01:00 GMT on Sunday 31 March 2024 (01:00 local became 02:00 BST)
// and back at 01:00 GMT on Sunday 27 October 2024 (02:00 BST became 01:00 GMT).
SendWindow Sundays(int start_hour, int end_hour) {
  SendWindow window = Weekdays(start_hour, end_hour);
  window.days = {absl::Weekday::sunday};
  return window;
}

TEST(DstTest, WindowOpeningInTheSkippedHourOpensAtTheJump) {
  // 01:00-03:00 local on the spring-forward Sunday: 01:00-02:00 does not exist, so the window
  // opens at the transition, 01:00 UTC = 02:00 BST.
  absl::StatusOr<absl::Time> opening =
      NextWindowOpening(Sundays(1, 3), London(), Utc(2024, 3, 30, 12));
  ASSERT_TRUE(opening.ok());
  EXPECT_EQ(*opening, Utc(2024, 3, 31, 1));
  EXPECT_EQ(absl::ToCivilSecond(*opening, London()), absl::CivilSecond(2024, 3, 31, 2, 0, 0));
  EXPECT_TRUE(InSendWindow(Sundays(1, 3), London(), *opening));
}

TEST(DstTest, WindowEntirelySkippedWaitsForTheNextDay) {
  // 01:00-02:00 local never happens on 31 March 2024: the next opening is a week later, 01:00
  // BST = 00:00 UTC.
  absl::StatusOr<absl::Time> opening =
      NextWindowOpening(Sundays(1, 2), London(), Utc(2024, 3, 30, 12));
  ASSERT_TRUE(opening.ok());
  EXPECT_EQ(*opening, Utc(2024, 4, 7, 0));
}

TEST(DstTest, WindowOpeningInTheRepeatedHourOpensAtTheFirstOccurrence) {
  // 01:00 local happens twice on 27 October 2024: first at 00:00 UTC (BST), then 01:00 UTC.
  absl::StatusOr<absl::Time> opening =
      NextWindowOpening(Sundays(1, 3), London(), Utc(2024, 10, 26, 12));
  ASSERT_TRUE(opening.ok());
  EXPECT_EQ(*opening, Utc(2024, 10, 27, 0));
}

TEST(DstTest, StepLandingOnASkippedLocalTimeGoesAtTheJump) {
  // Sunday 01:30 GMT + 7 days is Sunday 31 March 01:30, a local time that does not exist: the
  // first instant the clock reads 01:30 or later is the jump itself, 02:00 BST = 01:00 UTC.
  Campaign c = EightWeekIntervention();
  c.window = Weekdays(0, 24);
  c.window.days.push_back(absl::Weekday::saturday);
  c.window.days.push_back(absl::Weekday::sunday);
  c.start = Utc(2024, 3, 24, 1, 30);
  absl::StatusOr<absl::Time> week2 = DueTime(c, 1, *c.start, London());
  ASSERT_TRUE(week2.ok());
  EXPECT_EQ(*week2, Utc(2024, 3, 31, 1));
  // The repeated 01:30 in October is taken at its first occurrence (BST).
  c.start = Utc(2024, 10, 20, 0, 30);  // Sunday 01:30 BST
  absl::StatusOr<absl::Time> autumn = DueTime(c, 1, *c.start, London());
  ASSERT_TRUE(autumn.ok());
  EXPECT_EQ(*autumn, Utc(2024, 10, 27, 0, 30));
}

TEST(DstTest, WeeklyStepKeepsItsLocalTimeAcrossSpringForward) {
  Campaign c = EightWeekIntervention();
  c.start = LondonTime(2024, 3, 28, 9);  // Thursday 09:00 GMT = 09:00 UTC
  ASSERT_EQ(*c.start, Utc(2024, 3, 28, 9));
  absl::StatusOr<absl::Time> week2 = DueTime(c, 1, *c.start, London());
  ASSERT_TRUE(week2.ok());
  EXPECT_EQ(*week2, Utc(2024, 4, 4, 8));  // Thursday 09:00 BST, an hour earlier in UTC
  EXPECT_EQ(*week2 - *c.start, absl::Hours(24 * 7 - 1));
}

TEST(DstTest, WeeklyStepKeepsItsLocalTimeAcrossFallBack) {
  Campaign c = EightWeekIntervention();
  c.start = LondonTime(2024, 10, 24, 9);  // Thursday 09:00 BST = 08:00 UTC
  absl::StatusOr<absl::Time> week2 = DueTime(c, 1, *c.start, London());
  ASSERT_TRUE(week2.ok());
  EXPECT_EQ(*week2, Utc(2024, 10, 31, 9));  // Thursday 09:00 GMT
  EXPECT_EQ(*week2 - *c.start, absl::Hours(24 * 7 + 1));
}

TEST(DstTest, EveryWeeklySendOfACampaignAcrossTheChangeIsInTheWindow) {
  Campaign c = EightWeekIntervention();
  c.start = LondonTime(2024, 3, 18, 16, 30);  // Monday, half an hour before closing
  std::vector<Recipient> audience = {{"p1", "treatment", "", "", ""}};
  absl::StatusOr<Plan> plan = ExpandPlan(c, *c.start, audience);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->sends.size(), 8u);
  for (const PlannedSend& send : plan->sends) {
    EXPECT_TRUE(InSendWindow(c.window, London(), send.due));
    EXPECT_EQ(absl::ToCivilSecond(send.due, London()).hour(), 16);
    EXPECT_EQ(absl::ToCivilSecond(send.due, London()).minute(), 30);
  }
}

TEST(ScheduleZoneTest, ParticipantZoneWhenTheWindowSaysSo) {
  Campaign c = EightWeekIntervention();
  c.window.zone = ZoneSource::kParticipant;
  absl::StatusOr<absl::TimeZone> zone = ScheduleZone(c, "America/New_York");
  ASSERT_TRUE(zone.ok());
  EXPECT_EQ(zone->name(), "America/New_York");

  // 07:00 London on Monday 8 Jan is 02:00 in New York: the send waits for 09:00 New York.
  absl::StatusOr<absl::Time> due = DueTime(c, 0, *c.start, *zone);
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(*due, Utc(2024, 1, 8, 14));
}

TEST(ScheduleZoneTest, TrialZoneWhenTheWindowSaysSoOrTheParticipantsIsUnknown) {
  Campaign c = EightWeekIntervention();
  c.window.zone = ZoneSource::kTrial;
  EXPECT_EQ(ScheduleZone(c, "America/New_York")->name(), "Europe/London");
  c.window.zone = ZoneSource::kParticipant;
  EXPECT_EQ(ScheduleZone(c, "")->name(), "Europe/London");
  EXPECT_EQ(ScheduleZone(c, "Mars/Olympus_Mons")->name(), "Europe/London");
  c.trial_time_zone = "Nowhere/Nothing";
  EXPECT_EQ(ScheduleZone(c, "").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DueTimeTest, OffsetZeroInsideTheWindowIsExactlyTheStart) {
  Campaign c = EightWeekIntervention();
  absl::Time start = LondonTime(2024, 1, 9, 10) + absl::Milliseconds(250);
  EXPECT_EQ(*DueTime(c, 0, start, London()), start);
  EXPECT_EQ(*DueTime(c, 1, start, London()), start + absl::Hours(24 * 7));
}

TEST(DueTimeTest, StepOutOfRange) {
  Campaign c = EightWeekIntervention();
  EXPECT_EQ(DueTime(c, 8, *c.start, London()).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(ExpandPlanTest, FiltersTheAudienceAndSaysWhy) {
  Campaign c = EightWeekIntervention();
  c.audience.sites = {"la1"};
  c.audience.cohorts = {"c1"};
  std::vector<Recipient> recipients = {
      {"ok", "treatment", "la1", "c1", ""},
      {"control", "control", "la1", "c1", ""},
      {"unalloc", "", "la1", "c1", ""},
      {"othersite", "treatment", "la2", "c1", ""},
      {"othercohort", "treatment", "la1", "c2", ""},
      {"ok", "treatment", "la1", "c1", ""},
      {"bad id", "treatment", "la1", "c1", ""},
  };
  absl::StatusOr<Plan> plan = ExpandPlan(c, *c.start, recipients);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->sends.size(), 8u);
  for (const PlannedSend& send : plan->sends) EXPECT_EQ(send.participant_id, "ok");
  ASSERT_EQ(plan->skipped.size(), 6u);
  EXPECT_THAT(plan->skipped[0].reason, HasSubstr("arm control is not in the audience"));
  EXPECT_THAT(plan->skipped[1].reason, HasSubstr("not allocated on factor message"));
  EXPECT_THAT(plan->skipped[2].reason, HasSubstr("site"));
  EXPECT_THAT(plan->skipped[3].reason, HasSubstr("cohort"));
  EXPECT_THAT(plan->skipped[4].reason, HasSubstr("listed twice"));
  EXPECT_THAT(plan->skipped[5].reason, HasSubstr("participant_id: character 4"));
}

TEST(ExpandPlanTest, SurveyInvitationGoesToEveryoneWithStepsInOrder) {
  Campaign c = msgtest::SurveyWithReminders();
  std::vector<Recipient> recipients = {{"a", "treatment", "", "", "Europe/London"},
                                       {"b", "control", "", "", "America/New_York"},
                                       {"c", "", "", "", ""}};
  absl::StatusOr<Plan> plan = ExpandPlan(c, *c.start, recipients);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->sends.size(), 9u);
  EXPECT_TRUE(plan->skipped.empty());
  EXPECT_FALSE(plan->sends[0].reminder);
  EXPECT_TRUE(plan->sends[1].reminder);
  EXPECT_EQ(plan->sends[2].template_id, "reminder2");
  EXPECT_EQ(plan->sends[3].time_zone, "America/New_York");
  EXPECT_EQ(plan->sends[6].time_zone, "Europe/London");
  for (size_t i = 0; i + 1 < plan->sends.size(); ++i) {
    if (plan->sends[i].participant_id == plan->sends[i + 1].participant_id) {
      EXPECT_LT(plan->sends[i].due, plan->sends[i + 1].due);
    }
  }
}

TEST(ExpandPlanTest, InvalidCampaignIsRefused) {
  Campaign c = EightWeekIntervention();
  c.steps.clear();
  EXPECT_EQ(ExpandPlan(c, absl::UnixEpoch(), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ExpandPlanTest, IdempotencyKeysAreUniquePerCampaignStepAndParticipant) {
  Campaign c = EightWeekIntervention();
  std::vector<Recipient> recipients;
  for (int i = 0; i < 50; ++i)
    recipients.push_back({absl::StrCat("p", i), "treatment", "", "", ""});
  absl::StatusOr<Plan> plan = ExpandPlan(c, *c.start, recipients);
  ASSERT_TRUE(plan.ok());
  std::set<std::string> keys;
  for (const PlannedSend& send : plan->sends) {
    EXPECT_EQ(send.idempotency_key,
              IdempotencyKey(c.trial_id, c.campaign_id, send.step, send.participant_id));
    keys.insert(send.idempotency_key);
  }
  EXPECT_EQ(keys.size(), 400u);
  // Expanding again gives the same keys: a re-planned campaign does not resend.
  absl::StatusOr<Plan> again = ExpandPlan(c, *c.start, recipients);
  ASSERT_TRUE(again.ok());
  for (size_t i = 0; i < plan->sends.size(); ++i) {
    EXPECT_EQ(plan->sends[i].idempotency_key, again->sends[i].idempotency_key);
    EXPECT_EQ(plan->sends[i].due, again->sends[i].due);
  }
}

TEST(IdempotencyKeyTest, Format) {
  EXPECT_EQ(IdempotencyKey("moding", "weekly", 3, "p-17"), "moding:weekly:3:p-17");
}

TEST(MessageIdTest, DeterministicPerSendAndOpaque) {
  std::string key = IdempotencyKey("moding", "weekly", 3, "p-17");
  absl::StatusOr<std::string> id = EmailMessageId(key, "mail.example.org");
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(std::regex_match(*id, std::regex("<fw\\.[0-9a-f]{32}@mail\\.example\\.org>"))) << *id;
  EXPECT_EQ(*id, *EmailMessageId(key, "mail.example.org"));
  EXPECT_NE(*id,
            *EmailMessageId(IdempotencyKey("moding", "weekly", 4, "p-17"), "mail.example.org"));
  EXPECT_THAT(*id, ::testing::Not(HasSubstr("p-17")));
  EXPECT_THAT(*id, ::testing::Not(HasSubstr("moding")));
}

TEST(MessageIdTest, BadInput) {
  for (const char* domain :
       {"", "a b.org", "x@y.org", ".example.org", "example.org.", "-a.org", "<a>.org"}) {
    EXPECT_EQ(EmailMessageId("k", domain).status().code(), absl::StatusCode::kInvalidArgument)
        << domain;
  }
  EXPECT_EQ(EmailMessageId("", "example.org").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fieldwork::messaging
