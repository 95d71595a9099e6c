// The campaign model: what is sent (steps), to whom (audience), how (channel), when (start and
// send window), and the campaign kinds; plus validation of a campaign definition.
#ifndef FIELDWORK_SERVICES_MESSAGING_DOMAIN_CAMPAIGN_H_
#define FIELDWORK_SERVICES_MESSAGING_DOMAIN_CAMPAIGN_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace fieldwork::messaging {

// How a campaign reaches participants. kParticipantPreference uses each participant's stated
// preference (see guards.h for the fallback rules).
enum class Channel { kUnspecified = 0, kEmail, kSms, kParticipantPreference };

// The channel one send actually goes out on.
enum class DeliveryChannel { kEmail, kSms };

enum class CampaignKind {
  kUnspecified = 0,
  // Messages meant for one or more arms of a randomisation factor. Hard guard: the participant's
  // allocation is re-checked at send time (guards.h).
  kIntervention,
  // An invitation to a survey wave (step 0) and reminder steps that go only to participants
  // with no accepted response for that wave at send time.
  kSurveyInvitation,
  // The intervention for a waitlist arm: starts when the named wave closes.
  kWaitlist,
};

// Whose clock the send window is read on.
enum class ZoneSource {
  kUnspecified = 0,
  kParticipant,  // the participant's own time zone (from contacts), the trial's when unknown
  kTrial,        // the trial's time zone for everyone
};

struct CampaignStep {
  std::string template_id;
  // From the campaign start, applied to the local wall-clock time in the schedule's time zone,
  // so "+7 days" from Monday 09:00 is the next Monday 09:00 even across a DST change.
  absl::Duration offset = absl::ZeroDuration();
  // Survey invitations only: a reminder goes only to participants who have not responded.
  bool reminder = false;
};

struct Audience {
  // Survey invitations only: every enrolled participant, whatever their allocation.
  bool all_enrolled = false;
  // Otherwise: the randomisation factor and the arm(s) of it the campaign is meant for.
  std::string factor;
  std::vector<std::string> arms;
  // Optional filters; empty means every site / cohort.
  std::vector<std::string> sites;
  std::vector<std::string> cohorts;
};

// When sends may go out: local time on the listed days, start_hour <= hour < end_hour. A send
// due outside the window waits for the next opening. Windows that cross midnight are not
// supported (use two campaigns or a wider window).
struct SendWindow {
  std::vector<absl::Weekday> days;
  int start_hour = 0;
  int end_hour = 24;
  ZoneSource zone = ZoneSource::kParticipant;
};

// How a survey invitation links to its questionnaire; survey_link_url.h checks and renders it.
struct SurveyLinkSpec {
  // Fieldwork's own form: {{survey_link}} is <--survey_base_url>/s/<sealed token>.
  bool hosted = false;
  // An external survey's URL, "{survey_token}" and "{participant_id}" replaced per participant.
  std::string url_template;
  // When a sealed token expires (the wave's close plus the protocol's grace); required when the
  // link carries one (hosted, or "{survey_token}" in url_template).
  std::optional<absl::Time> expires;
};

struct Campaign {
  std::string trial_id;
  std::string campaign_id;
  CampaignKind kind = CampaignKind::kUnspecified;
  std::vector<CampaignStep> steps;
  Audience audience;
  Channel channel = Channel::kUnspecified;
  SendWindow window;
  // IANA name (e.g. "Europe/London"): the window's zone for ZoneSource::kTrial, and the
  // fallback for participants whose own zone is unknown.
  std::string trial_time_zone;
  // Intervention and survey invitation: when step offsets count from. Waitlist: unset.
  std::optional<absl::Time> start;
  // Survey invitation: the wave invited to. Waitlist: the wave whose closing starts it.
  std::string wave_id;
  // Waitlist only: the campaign starts this long after the wave closes.
  absl::Duration waitlist_delay = absl::ZeroDuration();
  // Survey invitations only: the {{survey_link}} of each participant.
  SurveyLinkSpec survey;
};

inline constexpr size_t kMaxSteps = 1000;
inline constexpr absl::Duration kMaxStepOffset = absl::Hours(24 * 3660);  // ten years

// Checks a campaign definition. Every problem is reported, not only the first, in one
// INVALID_ARGUMENT whose message is "<field>: <reason>" items joined by "; " (field paths such
// as "steps[3].offset", "audience.arms[1]", "window.end_hour"). Loads trial_time_zone, so the
// tzdata files must be installed.
absl::Status ValidateCampaign(const Campaign& campaign);

// When the campaign's step offsets count from. Waitlist: `wave_closed_at` + waitlist_delay,
// FAILED_PRECONDITION while the wave has not closed. Others: `start`.
absl::StatusOr<absl::Time> CampaignStart(const Campaign& campaign,
                                         std::optional<absl::Time> wave_closed_at);

// `template_ids.size()` steps, the first at `first_offset`, then one every `interval`
// (e.g. 8 weekly messages: RepeatingSteps({"w1", ..., "w8"}, absl::ZeroDuration(),
// absl::Hours(24 * 7))).
std::vector<CampaignStep> RepeatingSteps(const std::vector<std::string>& template_ids,
                                         absl::Duration first_offset, absl::Duration interval);

absl::string_view ChannelName(Channel channel);
absl::string_view DeliveryChannelName(DeliveryChannel channel);
absl::string_view CampaignKindName(CampaignKind kind);

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_DOMAIN_CAMPAIGN_H_
