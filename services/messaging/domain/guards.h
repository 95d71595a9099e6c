// Send-time guards: the last decision before a due send is delivered, made from facts the
// service fetches at that moment (allocation from randomisation, responses from survey-ingest,
// contacts and opt-outs from its own store). Pure: the same facts always give the same answer.
#ifndef FIELDWORK_SERVICES_MESSAGING_DOMAIN_GUARDS_H_
#define FIELDWORK_SERVICES_MESSAGING_DOMAIN_GUARDS_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/messaging/domain/campaign.h"

namespace fieldwork::messaging {

enum class EnrolmentState {
  kEnrolled,
  kNotEnrolled,  // randomisation does not know the participant in this trial
  kWithdrawn,
};

struct OptOuts {
  bool all = false;
  bool email = false;
  bool sms = false;
};

// What the service knows about the participant when the send is due.
struct SendFacts {
  EnrolmentState enrolment = EnrolmentState::kEnrolled;
  // Leavers get nothing from the day they left; a leaving date still in the future does not
  // stop sends yet.
  std::optional<absl::Time> left_at;
  // The participant's current allocation on the campaign's audience.factor; nullopt when not
  // allocated. Ignored for all-enrolled survey invitations.
  std::optional<std::string> current_arm;
  // Checked against the audience's site / cohort filters when known.
  std::optional<std::string> site;
  std::optional<std::string> cohort;
  OptOuts opt_outs;
  bool has_email = false;
  bool has_phone = false;
  // The participant's stated channel preference, if any (for participant-preference campaigns).
  std::optional<DeliveryChannel> preference;
  // Reminder steps only: whether survey-ingest holds an accepted response for the campaign's
  // wave. Required (INVALID_ARGUMENT when missing) for reminders, ignored otherwise.
  std::optional<bool> has_accepted_response;
};

enum class SkipReason {
  kNone = 0,
  kNotEnrolled,
  kWithdrawn,
  kLeft,
  kOptedOutAll,
  kOptedOutChannel,
  kNoContact,
  kNotAllocated,
  kArmNotInAudience,
  kSiteNotInAudience,
  kCohortNotInAudience,
  kAlreadyResponded,
};

struct SendDecision {
  bool send = false;
  DeliveryChannel channel = DeliveryChannel::kEmail;  // when send
  SkipReason reason = SkipReason::kNone;              // when !send
  std::string detail;  // a sentence for the skip record; never contains contact details
};

// Decides whether step `step` of `campaign` may be delivered now. Checks, in order:
// enrolment, withdrawal and leaving; for intervention and waitlist campaigns (and survey
// invitations that name arms) that the participant's *current* allocation is in the audience
// arms, so a control participant receives nothing even if the audience was built wrong; the
// site and cohort filters; for reminders, that there is no accepted response for the wave; an
// opt-out from everything; then the delivery channel: the campaign's fixed channel, or the
// participant's preference (e-mail when none is stated), falling back to the other channel
// when the preferred one has no contact details or was opted out of.
// Errors only for a bad call (step out of range, a reminder without has_accepted_response).
absl::StatusOr<SendDecision> DecideSend(const Campaign& campaign, size_t step,
                                        const SendFacts& facts, absl::Time now);

// Stable snake_case name for metrics and skip records, e.g. "arm_not_in_audience".
absl::string_view SkipReasonName(SkipReason reason);

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_DOMAIN_GUARDS_H_
