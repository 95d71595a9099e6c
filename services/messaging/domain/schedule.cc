#include "services/messaging/domain/schedule.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/messaging/domain/encoding.h"
#include "services/messaging/domain/ids.h"

namespace fieldwork::messaging {
namespace {

bool DayAllowed(const SendWindow& window, absl::Weekday day) {
  return std::find(window.days.begin(), window.days.end(), day) != window.days.end();
}

// The first instant at which the local clock reads `civil` or later.
absl::Time FirstInstantAtOrAfter(const absl::TimeZone& zone, absl::CivilSecond civil) {
  absl::TimeZone::TimeInfo info = zone.At(civil);
  switch (info.kind) {
    case absl::TimeZone::TimeInfo::SKIPPED:
      return info.trans;  // the clock jumps over `civil`: the jump is the first later reading
    case absl::TimeZone::TimeInfo::REPEATED:
    case absl::TimeZone::TimeInfo::UNIQUE:
      break;
  }
  return info.pre;  // for a repeated time, the earlier of the two instants
}

bool Contains(const std::vector<std::string>& list, absl::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

bool InSendWindow(const SendWindow& window, const absl::TimeZone& zone, absl::Time t) {
  absl::CivilSecond local = absl::ToCivilSecond(t, zone);
  return DayAllowed(window, absl::GetWeekday(local)) && local.hour() >= window.start_hour &&
         local.hour() < window.end_hour;
}

absl::StatusOr<absl::Time> NextWindowOpening(const SendWindow& window, const absl::TimeZone& zone,
                                             absl::Time earliest) {
  if (window.days.empty()) return absl::InvalidArgumentError("window.days: no days in the window");
  if (InSendWindow(window, zone, earliest)) return earliest;
  absl::CivilDay day = absl::ToCivilDay(earliest, zone);
  // Eight days reach the same weekday next week; a few more cover a window whose every hour
  // was skipped by a DST jump on its only day.
  for (int i = 0; i < 16; ++i, ++day) {
    if (!DayAllowed(window, absl::GetWeekday(day))) continue;
    absl::Time opening = FirstInstantAtOrAfter(
        zone, absl::CivilSecond(day.year(), day.month(), day.day(), window.start_hour, 0, 0));
    if (opening > earliest && InSendWindow(window, zone, opening)) return opening;
  }
  return absl::InvalidArgumentError("window: no opening within two weeks");
}

absl::StatusOr<absl::TimeZone> ScheduleZone(const Campaign& campaign,
                                            absl::string_view participant_zone) {
  absl::TimeZone zone;
  if (campaign.window.zone == ZoneSource::kParticipant && !participant_zone.empty() &&
      absl::LoadTimeZone(participant_zone, &zone)) {
    return zone;
  }
  if (!absl::LoadTimeZone(campaign.trial_time_zone, &zone)) {
    return absl::InvalidArgumentError(
        absl::StrCat("trial_time_zone: unknown time zone \"", campaign.trial_time_zone, "\""));
  }
  return zone;
}

absl::StatusOr<absl::Time> DueTime(const Campaign& campaign, size_t step, absl::Time start,
                                   const absl::TimeZone& zone) {
  if (step >= campaign.steps.size()) {
    return absl::OutOfRangeError(
        absl::StrCat("step ", step, ": the campaign has ", campaign.steps.size(), " steps"));
  }
  // Zone offsets are whole seconds, so the sub-second part of `start` survives the trip
  // through civil time unchanged: offset zero gives exactly `start`.
  absl::Duration since_epoch = start - absl::UnixEpoch();
  absl::Duration sub_second = since_epoch - absl::Floor(since_epoch, absl::Seconds(1));
  absl::CivilSecond nominal =
      absl::ToCivilSecond(start, zone) + absl::ToInt64Seconds(campaign.steps[step].offset);
  absl::Time earliest = campaign.steps[step].offset == absl::ZeroDuration()
                            ? start
                            : FirstInstantAtOrAfter(zone, nominal) + sub_second;
  return NextWindowOpening(campaign.window, zone, earliest);
}

absl::StatusOr<Plan> ExpandPlan(const Campaign& campaign, absl::Time start,
                                absl::Span<const Recipient> recipients) {
  if (absl::Status valid = ValidateCampaign(campaign); !valid.ok()) return valid;
  const Audience& audience = campaign.audience;
  Plan plan;
  std::set<absl::string_view> seen;
  for (const Recipient& r : recipients) {
    if (!IsValidId(r.participant_id)) {
      plan.skipped.push_back(
          {r.participant_id,
           std::string(ValidateId("participant_id", r.participant_id).message())});
      continue;
    }
    if (!seen.insert(r.participant_id).second) {
      plan.skipped.push_back({r.participant_id, "listed twice in the audience"});
      continue;
    }
    if (!audience.all_enrolled) {
      if (r.arm.empty()) {
        plan.skipped.push_back(
            {r.participant_id, absl::StrCat("not allocated on factor ", audience.factor)});
        continue;
      }
      if (!Contains(audience.arms, r.arm)) {
        plan.skipped.push_back(
            {r.participant_id, absl::StrCat("arm ", r.arm, " is not in the audience")});
        continue;
      }
    }
    if (!audience.sites.empty() && !Contains(audience.sites, r.site)) {
      plan.skipped.push_back({r.participant_id, "site is not in the audience"});
      continue;
    }
    if (!audience.cohorts.empty() && !Contains(audience.cohorts, r.cohort)) {
      plan.skipped.push_back({r.participant_id, "cohort is not in the audience"});
      continue;
    }
    absl::StatusOr<absl::TimeZone> zone = ScheduleZone(campaign, r.time_zone);
    if (!zone.ok()) return zone.status();
    for (size_t step = 0; step < campaign.steps.size(); ++step) {
      absl::StatusOr<absl::Time> due = DueTime(campaign, step, start, *zone);
      if (!due.ok()) return due.status();
      plan.sends.push_back(PlannedSend{
          r.participant_id, step, campaign.steps[step].template_id, campaign.steps[step].reminder,
          *due, zone->name(),
          IdempotencyKey(campaign.trial_id, campaign.campaign_id, step, r.participant_id)});
    }
  }
  return plan;
}

std::string IdempotencyKey(absl::string_view trial_id, absl::string_view campaign_id, size_t step,
                           absl::string_view participant_id) {
  return absl::StrCat(trial_id, ":", campaign_id, ":", step, ":", participant_id);
}

absl::StatusOr<std::string> EmailMessageId(absl::string_view idempotency_key,
                                           absl::string_view domain) {
  bool domain_ok =
      !domain.empty() && domain.size() <= 253 && domain.front() != '.' && domain.back() != '.' &&
      domain.front() != '-' && std::all_of(domain.begin(), domain.end(), [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
      });
  if (!domain_ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("message_id_domain: \"", domain, "\" is not a host name"));
  }
  if (idempotency_key.empty()) {
    return absl::InvalidArgumentError("idempotency_key: required");
  }
  std::string digest =
      Sha256(absl::StrCat("fieldwork-message-id-v1", absl::string_view("\0", 1), idempotency_key));
  return absl::StrCat("<fw.", HexEncode(absl::string_view(digest).substr(0, 16)), "@", domain, ">");
}

}  // namespace fieldwork::messaging
