#include "services/messaging/domain/guards.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"

namespace fieldwork::messaging {
namespace {

SendDecision Skip(SkipReason reason, std::string detail) {
  SendDecision decision;
  decision.reason = reason;
  decision.detail = std::move(detail);
  return decision;
}

bool Contains(const std::vector<std::string>& list, absl::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool HasContact(const SendFacts& facts, DeliveryChannel channel) {
  return channel == DeliveryChannel::kEmail ? facts.has_email : facts.has_phone;
}

bool OptedOut(const SendFacts& facts, DeliveryChannel channel) {
  return channel == DeliveryChannel::kEmail ? facts.opt_outs.email : facts.opt_outs.sms;
}

DeliveryChannel Other(DeliveryChannel channel) {
  return channel == DeliveryChannel::kEmail ? DeliveryChannel::kSms : DeliveryChannel::kEmail;
}

// Picks the channel, or the skip that explains why there is none.
SendDecision ChooseChannel(Channel campaign_channel, const SendFacts& facts) {
  std::vector<DeliveryChannel> candidates;
  switch (campaign_channel) {
    case Channel::kEmail:
      candidates = {DeliveryChannel::kEmail};
      break;
    case Channel::kSms:
      candidates = {DeliveryChannel::kSms};
      break;
    case Channel::kParticipantPreference:
    case Channel::kUnspecified: {
      DeliveryChannel first = facts.preference.value_or(DeliveryChannel::kEmail);
      candidates = {first, Other(first)};
      break;
    }
  }
  bool opted_out = false;
  for (DeliveryChannel channel : candidates) {
    if (!HasContact(facts, channel)) continue;
    if (OptedOut(facts, channel)) {
      opted_out = true;
      continue;
    }
    SendDecision decision;
    decision.send = true;
    decision.channel = channel;
    return decision;
  }
  std::string channels = candidates.size() == 1
                             ? std::string(DeliveryChannelName(candidates.front()))
                             : std::string("e-mail or SMS");
  if (opted_out) {
    return Skip(SkipReason::kOptedOutChannel, absl::StrCat("opted out of ", channels));
  }
  return Skip(SkipReason::kNoContact, absl::StrCat("no contact details for ", channels));
}

}  // namespace

absl::StatusOr<SendDecision> DecideSend(const Campaign& campaign, size_t step,
                                        const SendFacts& facts, absl::Time now) {
  if (step >= campaign.steps.size()) {
    return absl::OutOfRangeError(
        absl::StrCat("step ", step, ": the campaign has ", campaign.steps.size(), " steps"));
  }
  const bool reminder = campaign.steps[step].reminder;
  if (reminder && !facts.has_accepted_response.has_value()) {
    return absl::InvalidArgumentError(
        "has_accepted_response: required for a reminder step (ask survey-ingest)");
  }

  switch (facts.enrolment) {
    case EnrolmentState::kNotEnrolled:
      return Skip(SkipReason::kNotEnrolled, "not enrolled in the trial");
    case EnrolmentState::kWithdrawn:
      return Skip(SkipReason::kWithdrawn, "withdrawn from the trial");
    case EnrolmentState::kEnrolled:
      break;
  }
  if (facts.left_at.has_value() && *facts.left_at <= now) {
    return Skip(SkipReason::kLeft, "left the organisation");
  }
  const Audience& audience = campaign.audience;
  if (!audience.all_enrolled) {
    if (!facts.current_arm.has_value() || facts.current_arm->empty()) {
      return Skip(SkipReason::kNotAllocated,
                  absl::StrCat("not allocated on factor ", audience.factor));
    }
    if (!Contains(audience.arms, *facts.current_arm)) {
      return Skip(SkipReason::kArmNotInAudience,
                  absl::StrCat("allocated to ", audience.factor, "=", *facts.current_arm,
                               ", which this campaign is not for"));
    }
  }
  if (!audience.sites.empty() && facts.site.has_value() && !Contains(audience.sites, *facts.site)) {
    return Skip(SkipReason::kSiteNotInAudience,
                absl::StrCat("site ", *facts.site, " is not in the audience"));
  }
  if (!audience.cohorts.empty() && facts.cohort.has_value() &&
      !Contains(audience.cohorts, *facts.cohort)) {
    return Skip(SkipReason::kCohortNotInAudience,
                absl::StrCat("cohort ", *facts.cohort, " is not in the audience"));
  }
  if (reminder && *facts.has_accepted_response) {
    return Skip(SkipReason::kAlreadyResponded,
                absl::StrCat("already responded to wave ", campaign.wave_id));
  }
  if (facts.opt_outs.all) return Skip(SkipReason::kOptedOutAll, "opted out of all messages");
  return ChooseChannel(campaign.channel, facts);
}

absl::string_view SkipReasonName(SkipReason reason) {
  switch (reason) {
    case SkipReason::kNone:
      return "none";
    case SkipReason::kNotEnrolled:
      return "not_enrolled";
    case SkipReason::kWithdrawn:
      return "withdrawn";
    case SkipReason::kLeft:
      return "left";
    case SkipReason::kOptedOutAll:
      return "opted_out_all";
    case SkipReason::kOptedOutChannel:
      return "opted_out_channel";
    case SkipReason::kNoContact:
      return "no_contact";
    case SkipReason::kNotAllocated:
      return "not_allocated";
    case SkipReason::kArmNotInAudience:
      return "arm_not_in_audience";
    case SkipReason::kSiteNotInAudience:
      return "site_not_in_audience";
    case SkipReason::kCohortNotInAudience:
      return "cohort_not_in_audience";
    case SkipReason::kAlreadyResponded:
      return "already_responded";
  }
  return "unknown";
}

}  // namespace fieldwork::messaging
