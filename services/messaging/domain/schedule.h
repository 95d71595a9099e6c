// Scheduling: send windows in local time (DST-correct), due times per participant and step,
// and the expansion of a campaign over its audience into due sends, each with the idempotency
// key that makes it "each message once" and the e-mail Message-ID derived from that key.
#ifndef FIELDWORK_SERVICES_MESSAGING_DOMAIN_SCHEDULE_H_
#define FIELDWORK_SERVICES_MESSAGING_DOMAIN_SCHEDULE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "services/messaging/domain/campaign.h"

namespace fieldwork::messaging {

// True when `t`, read on the local clock of `zone`, falls on one of the window's days with
// start_hour <= hour < end_hour. A local time that occurs twice (autumn fall-back) is inside
// both times.
bool InSendWindow(const SendWindow& window, const absl::TimeZone& zone, absl::Time t);

// The earliest instant >= `earliest` that is inside the window: `earliest` itself when it is
// inside. When the opening hour does not exist locally (spring forward skips it) the window
// opens at the transition; when it occurs twice, at its first occurrence. INVALID_ARGUMENT when
// the window has no days.
absl::StatusOr<absl::Time> NextWindowOpening(const SendWindow& window, const absl::TimeZone& zone,
                                             absl::Time earliest);

// The zone a participant's schedule is read in: their own (`participant_zone`, an IANA name,
// may be empty) when the window says so and it loads; the trial's otherwise.
absl::StatusOr<absl::TimeZone> ScheduleZone(const Campaign& campaign,
                                            absl::string_view participant_zone);

// start + steps[step].offset (added to the local wall-clock time in `zone`), moved to the next
// opening of the send window. OUT_OF_RANGE for a step index past the end.
absl::StatusOr<absl::Time> DueTime(const Campaign& campaign, size_t step, absl::Time start,
                                   const absl::TimeZone& zone);

// One member of the audience as the service found it (from randomisation and contacts).
struct Recipient {
  std::string participant_id;
  std::string arm;        // allocation for audience.factor; empty when not allocated
  std::string site;       // empty when unknown
  std::string cohort;     // empty when unknown
  std::string time_zone;  // the participant's IANA zone from contacts; empty when unknown
};

struct PlannedSend {
  std::string participant_id;
  size_t step = 0;
  std::string template_id;
  bool reminder = false;
  absl::Time due;
  std::string time_zone;        // the zone the window was read in
  std::string idempotency_key;  // IdempotencyKey(trial, campaign, step, participant)
};

// A recipient the plan leaves out, with the reason (the service records it as a skip).
struct PlanSkip {
  std::string participant_id;
  std::string reason;
};

struct Plan {
  std::vector<PlannedSend> sends;  // recipients in input order, each one's steps in order
  std::vector<PlanSkip> skipped;
};

// Expands a (valid) campaign over `recipients`: one send per step for every recipient who
// matches the audience (arm, site and cohort filters); recipients who do not match, appear
// twice, or have an unusable id are skipped with a reason. The send-time guards (guards.h)
// check everything again when each send is due: the plan is not trusted to be right.
absl::StatusOr<Plan> ExpandPlan(const Campaign& campaign, absl::Time start,
                                absl::Span<const Recipient> recipients);

// "<trial>:<campaign>:<step>:<participant>". Ids cannot contain ':' (ids.h), so distinct
// tuples give distinct keys. The service takes a record under this key (SET NX) before
// delivering, so a participant never gets the same step twice.
std::string IdempotencyKey(absl::string_view trial_id, absl::string_view campaign_id, size_t step,
                           absl::string_view participant_id);

// A deterministic RFC 5322 Message-ID for the send with `idempotency_key`:
// "<fw.<32 hex digits of SHA-256(key)>@<domain>>". Every retry of one send carries the same
// Message-ID, so a provider or a recipient's mail system can de-duplicate; it reveals neither
// the trial nor the participant. INVALID_ARGUMENT when `domain` is not a plain host name.
absl::StatusOr<std::string> EmailMessageId(absl::string_view idempotency_key,
                                           absl::string_view domain);

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_DOMAIN_SCHEDULE_H_
