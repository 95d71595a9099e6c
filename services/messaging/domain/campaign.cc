#include "services/messaging/domain/campaign.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/messaging/domain/ids.h"
#include "services/messaging/domain/survey_link_url.h"

namespace fieldwork::messaging {
namespace {

// Collects every problem with a definition, each as "<field>: <reason>".
class Problems {
 public:
  void Add(std::string problem) { problems_.push_back(std::move(problem)); }
  void Add(const absl::Status& status) {
    if (!status.ok()) problems_.emplace_back(status.message());
  }
  absl::Status ToStatus() const {
    if (problems_.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrJoin(problems_, "; "));
  }

 private:
  std::vector<std::string> problems_;
};

std::string Indexed(absl::string_view field, size_t i) { return absl::StrCat(field, "[", i, "]"); }

// Each entry a valid id, none repeated.
void CheckIdList(absl::string_view field, const std::vector<std::string>& ids, Problems& problems) {
  std::set<absl::string_view> seen;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string name = Indexed(field, i);
    absl::Status valid = ValidateId(name, ids[i]);
    problems.Add(valid);
    if (valid.ok() && !seen.insert(ids[i]).second) {
      problems.Add(absl::StrCat(name, ": \"", ids[i], "\" is listed twice"));
    }
  }
}

void CheckSteps(const Campaign& c, Problems& problems) {
  if (c.steps.empty()) {
    problems.Add("steps: at least one step is required");
    return;
  }
  if (c.steps.size() > kMaxSteps) {
    problems.Add(
        absl::StrCat("steps: ", c.steps.size(), " steps, more than the limit of ", kMaxSteps));
    return;
  }
  for (size_t i = 0; i < c.steps.size(); ++i) {
    const CampaignStep& step = c.steps[i];
    std::string name = Indexed("steps", i);
    problems.Add(ValidateId(absl::StrCat(name, ".template_id"), step.template_id));
    if (step.offset < absl::ZeroDuration()) {
      problems.Add(absl::StrCat(name, ".offset: must not be negative"));
    } else if (step.offset > kMaxStepOffset) {
      problems.Add(absl::StrCat(name, ".offset: more than ten years after the start"));
    } else if (step.offset != absl::Trunc(step.offset, absl::Seconds(1))) {
      problems.Add(absl::StrCat(name, ".offset: must be a whole number of seconds"));
    } else if (i > 0 && step.offset <= c.steps[i - 1].offset) {
      problems.Add(absl::StrCat(name, ".offset: must be later than steps[", i - 1,
                                "].offset (steps are listed in send order)"));
    }
    if (step.reminder && c.kind != CampaignKind::kSurveyInvitation) {
      problems.Add(absl::StrCat(name, ".reminder: only survey invitations have reminder steps"));
    }
  }
  if (c.kind == CampaignKind::kSurveyInvitation && c.steps.front().reminder) {
    problems.Add("steps[0].reminder: the first step of a survey invitation is the invitation");
  }
}

void CheckAudience(const Campaign& c, Problems& problems) {
  const Audience& a = c.audience;
  if (a.all_enrolled) {
    if (c.kind != CampaignKind::kSurveyInvitation && c.kind != CampaignKind::kUnspecified) {
      problems.Add(
          absl::StrCat("audience.all_enrolled: only survey invitations go to every "
                       "enrolled participant; a ",
                       CampaignKindName(c.kind), " campaign names a factor and arm(s)"));
    }
    if (!a.factor.empty()) {
      problems.Add("audience.factor: must be empty when audience.all_enrolled is set");
    }
    if (!a.arms.empty()) {
      problems.Add("audience.arms: must be empty when audience.all_enrolled is set");
    }
  } else {
    problems.Add(ValidateId("audience.factor", a.factor));
    if (a.arms.empty()) {
      problems.Add(
          "audience.arms: at least one arm is required (or set audience.all_enrolled "
          "for a survey invitation)");
    }
    CheckIdList("audience.arms", a.arms, problems);
  }
  CheckIdList("audience.sites", a.sites, problems);
  CheckIdList("audience.cohorts", a.cohorts, problems);
}

void CheckWindow(const SendWindow& w, Problems& problems) {
  if (w.days.empty()) problems.Add("window.days: at least one day is required");
  std::set<int> seen;
  for (size_t i = 0; i < w.days.size(); ++i) {
    int day = static_cast<int>(w.days[i]);
    if (day < 0 || day > 6) {
      problems.Add(absl::StrCat(Indexed("window.days", i), ": not a day of the week"));
    } else if (!seen.insert(day).second) {
      problems.Add(absl::StrCat(Indexed("window.days", i), ": day listed twice"));
    }
  }
  bool hours_ok = true;
  if (w.start_hour < 0 || w.start_hour > 23) {
    problems.Add("window.start_hour: must be 0..23");
    hours_ok = false;
  }
  if (w.end_hour < 1 || w.end_hour > 24) {
    problems.Add("window.end_hour: must be 1..24");
    hours_ok = false;
  }
  if (hours_ok && w.end_hour <= w.start_hour) {
    problems.Add(
        "window.end_hour: must be after window.start_hour (windows that cross "
        "midnight are not supported)");
  }
  if (w.zone == ZoneSource::kUnspecified) {
    problems.Add("window.zone: must be participant or trial");
  }
}

}  // namespace

absl::Status ValidateCampaign(const Campaign& c) {
  Problems problems;
  problems.Add(ValidateId("trial_id", c.trial_id));
  problems.Add(ValidateId("campaign_id", c.campaign_id));
  if (c.kind == CampaignKind::kUnspecified) {
    problems.Add("kind: must be intervention, survey_invitation or waitlist");
  }
  CheckSteps(c, problems);
  CheckAudience(c, problems);
  if (c.channel == Channel::kUnspecified) {
    problems.Add("channel: must be email, sms or participant_preference");
  }
  CheckWindow(c.window, problems);

  absl::TimeZone zone;
  if (c.trial_time_zone.empty()) {
    problems.Add("trial_time_zone: required (an IANA name such as Europe/London)");
  } else if (!absl::LoadTimeZone(c.trial_time_zone, &zone)) {
    problems.Add(absl::StrCat("trial_time_zone: unknown time zone \"", c.trial_time_zone,
                              "\" (is the tzdata package installed?)"));
  }

  switch (c.kind) {
    case CampaignKind::kIntervention:
    case CampaignKind::kSurveyInvitation:
      if (!c.start.has_value()) {
        problems.Add(
            absl::StrCat("start: required for a campaign of kind ", CampaignKindName(c.kind)));
      } else if (*c.start == absl::InfiniteFuture() || *c.start == absl::InfinitePast()) {
        problems.Add("start: must be a finite time");
      }
      if (c.waitlist_delay != absl::ZeroDuration()) {
        problems.Add("waitlist_delay: only waitlist campaigns have one");
      }
      break;
    case CampaignKind::kWaitlist:
      if (c.start.has_value()) {
        problems.Add("start: a waitlist campaign starts when wave_id closes; leave start unset");
      }
      if (c.waitlist_delay < absl::ZeroDuration()) {
        problems.Add("waitlist_delay: must not be negative");
      } else if (c.waitlist_delay > kMaxStepOffset) {
        problems.Add("waitlist_delay: more than ten years");
      }
      break;
    case CampaignKind::kUnspecified:
      break;
  }
  if (c.kind == CampaignKind::kIntervention) {
    if (!c.wave_id.empty()) {
      problems.Add("wave_id: only survey invitations and waitlist campaigns name a wave");
    }
  } else if (c.kind != CampaignKind::kUnspecified) {
    absl::Status wave = ValidateId("wave_id", c.wave_id);
    if (!wave.ok() && c.wave_id.empty()) {
      problems.Add(c.kind == CampaignKind::kWaitlist
                       ? "wave_id: required (the wave whose closing starts the waitlist campaign)"
                       : "wave_id: required (the wave the survey invitation is for)");
    } else {
      problems.Add(wave);
    }
  }
  for (std::string& problem : SurveyLinkProblems(c)) problems.Add(std::move(problem));
  return problems.ToStatus();
}

absl::StatusOr<absl::Time> CampaignStart(const Campaign& campaign,
                                         std::optional<absl::Time> wave_closed_at) {
  if (campaign.kind == CampaignKind::kWaitlist) {
    if (!wave_closed_at.has_value()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "campaign ", campaign.campaign_id, ": waits for wave ", campaign.wave_id, " to close"));
    }
    return *wave_closed_at + campaign.waitlist_delay;
  }
  if (!campaign.start.has_value()) {
    return absl::InvalidArgumentError("start: required");
  }
  return *campaign.start;
}

std::vector<CampaignStep> RepeatingSteps(const std::vector<std::string>& template_ids,
                                         absl::Duration first_offset, absl::Duration interval) {
  std::vector<CampaignStep> steps;
  steps.reserve(template_ids.size());
  for (size_t i = 0; i < template_ids.size(); ++i) {
    steps.push_back(
        CampaignStep{template_ids[i], first_offset + interval * static_cast<int64_t>(i), false});
  }
  return steps;
}

absl::string_view ChannelName(Channel channel) {
  switch (channel) {
    case Channel::kEmail:
      return "email";
    case Channel::kSms:
      return "sms";
    case Channel::kParticipantPreference:
      return "participant_preference";
    case Channel::kUnspecified:
      break;
  }
  return "unspecified";
}

absl::string_view DeliveryChannelName(DeliveryChannel channel) {
  return channel == DeliveryChannel::kEmail ? "email" : "sms";
}

absl::string_view CampaignKindName(CampaignKind kind) {
  switch (kind) {
    case CampaignKind::kIntervention:
      return "intervention";
    case CampaignKind::kSurveyInvitation:
      return "survey_invitation";
    case CampaignKind::kWaitlist:
      return "waitlist";
    case CampaignKind::kUnspecified:
      break;
  }
  return "unspecified";
}

}  // namespace fieldwork::messaging
