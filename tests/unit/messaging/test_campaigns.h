// Campaigns and zones shared by the messaging domain tests.
#ifndef FIELDWORK_TESTS_UNIT_MESSAGING_TEST_CAMPAIGNS_H_
#define FIELDWORK_TESTS_UNIT_MESSAGING_TEST_CAMPAIGNS_H_

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "services/messaging/domain/campaign.h"

namespace fieldwork::messaging::msgtest {

// Loads an IANA zone, failing the test loudly when tzdata is missing.
inline absl::TimeZone Zone(const std::string& name) {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone(name, &zone))
      << "cannot load time zone " << name << ": install the Debian package tzdata";
  return zone;
}

inline absl::TimeZone London() { return Zone("Europe/London"); }

inline absl::Time LondonTime(int y, int mo, int d, int h, int mi = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), London());
}

inline absl::Time Utc(int y, int mo, int d, int h, int mi = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), absl::UTCTimeZone());
}

inline SendWindow Weekdays(int start_hour, int end_hour, ZoneSource zone = ZoneSource::kTrial) {
  SendWindow window;
  window.days = {absl::Weekday::monday, absl::Weekday::tuesday, absl::Weekday::wednesday,
                 absl::Weekday::thursday, absl::Weekday::friday};
  window.start_hour = start_hour;
  window.end_hour = end_hour;
  window.zone = zone;
  return window;
}

inline std::vector<std::string> WeekTemplates(int n) {
  std::vector<std::string> ids;
  for (int i = 1; i <= n; ++i) ids.push_back(absl::StrCat("week", i));
  return ids;
}

// MoD-ING-like: 8 weekly e-mails to the treatment arm, weekdays 09-17 London time, starting
// Monday 8 January 2024 at 07:00 (before the window opens).
inline Campaign EightWeekIntervention() {
  Campaign c;
  c.trial_id = "moding";
  c.campaign_id = "weekly-emails";
  c.kind = CampaignKind::kIntervention;
  c.steps = RepeatingSteps(WeekTemplates(8), absl::ZeroDuration(), absl::Hours(24 * 7));
  c.audience.factor = "message";
  c.audience.arms = {"treatment"};
  c.channel = Channel::kEmail;
  c.window = Weekdays(9, 17);
  c.trial_time_zone = "Europe/London";
  c.start = LondonTime(2024, 1, 8, 7);
  return c;
}

// A baseline survey invitation to everyone, with reminders after 3 and 7 days.
inline Campaign SurveyWithReminders() {
  Campaign c;
  c.trial_id = "beneficiaries";
  c.campaign_id = "baseline-invite";
  c.kind = CampaignKind::kSurveyInvitation;
  c.steps = {{"invite", absl::ZeroDuration(), false},
             {"reminder1", absl::Hours(24 * 3), true},
             {"reminder2", absl::Hours(24 * 7), true}};
  c.audience.all_enrolled = true;
  c.channel = Channel::kParticipantPreference;
  c.window = Weekdays(9, 17, ZoneSource::kParticipant);
  c.trial_time_zone = "Europe/London";
  c.start = LondonTime(2024, 2, 5, 10);
  c.wave_id = "baseline";
  return c;
}

// The waitlist arm's video, starting a day after the endline wave closes.
inline Campaign Waitlist() {
  Campaign c;
  c.trial_id = "beneficiaries";
  c.campaign_id = "waitlist-video";
  c.kind = CampaignKind::kWaitlist;
  c.steps = {{"video", absl::ZeroDuration(), false}};
  c.audience.factor = "video";
  c.audience.arms = {"waitlist"};
  c.channel = Channel::kEmail;
  c.window = Weekdays(9, 17);
  c.trial_time_zone = "Europe/London";
  c.wave_id = "endline";
  c.waitlist_delay = absl::Hours(24);
  return c;
}

}  // namespace fieldwork::messaging::msgtest

#endif  // FIELDWORK_TESTS_UNIT_MESSAGING_TEST_CAMPAIGNS_H_
