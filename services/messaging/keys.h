// The messaging service's Redis keys. All of a trial's keys share the {trial} hash tag, so the
// queue's multi-key Lua scripts stay atomic (and legal on a Redis Cluster).
#ifndef FIELDWORK_SERVICES_MESSAGING_KEYS_H_
#define FIELDWORK_SERVICES_MESSAGING_KEYS_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace fieldwork::messaging::keys {

inline std::string Prefix(absl::string_view trial) { return absl::StrCat("fw:{", trial, "}:msg:"); }

// ZSET idempotency key -> due time (ms since the epoch): sends waiting to be due.
inline std::string Due(absl::string_view trial) { return Prefix(trial) + "due"; }
// STREAM of due sends (fields k = idempotency key, d = due ms); consumer group kGroup.
inline std::string Stream(absl::string_view trial) { return Prefix(trial) + "stream"; }
// HASH: the idempotency record of one send (state, owner, attempt, lease, ...).
inline std::string Record(absl::string_view trial, absl::string_view idempotency_key) {
  return absl::StrCat(Prefix(trial), "rec:", idempotency_key);
}
// STREAM of dead letters (k, error, attempts, channel, t).
inline std::string Dead(absl::string_view trial) { return Prefix(trial) + "dead"; }
// STREAM of events (MessageEvent fields, see queue_scripts.h).
inline std::string Events(absl::string_view trial) { return Prefix(trial) + "events"; }
// STREAM: a copy of every opened and clicked event of Events, under the same entry id (so a
// cursor means the same in both), for reading take-up without reading every send's events.
// Kept only where EngagementLogged is set.
inline std::string EngagementLog(absl::string_view trial) { return Prefix(trial) + "engagement"; }
// STRING "1": EngagementLog holds every opened and clicked event of the trial. Set by the first
// planning, before the trial has any event; a trial whose events began before 6 Dec 2026 has no
// log, and its take-up is read from Events.
inline std::string EngagementLogged(absl::string_view trial) {
  return Prefix(trial) + "engagement_logged";
}
// STRING: a campaign's state ("draft", "running", "paused", "cancelled").
inline std::string CampaignState(absl::string_view trial, absl::string_view campaign) {
  return absl::StrCat(Prefix(trial), "cstate:", campaign);
}
// STRING: fieldwork.v1.CampaignDefinition.
inline std::string Campaign(absl::string_view trial, absl::string_view campaign) {
  return absl::StrCat(Prefix(trial), "campaign:", campaign);
}
// ZSET of a paused campaign's sends that came due while paused (scored by their due time).
inline std::string Held(absl::string_view trial, absl::string_view campaign) {
  return absl::StrCat(Prefix(trial), "held:", campaign);
}
// HASH "<step>|<arm>|<kind>" -> count: the campaign's status counters.
inline std::string Counts(absl::string_view trial, absl::string_view campaign) {
  return absl::StrCat(Prefix(trial), "counts:", campaign);
}
// HASH participant -> arm at planning time, for the per-arm counters.
inline std::string PlannedArms(absl::string_view trial, absl::string_view campaign) {
  return absl::StrCat(Prefix(trial), "arms:", campaign);
}
// HASH version -> fieldwork.v1.TemplateContent; field "latest" -> newest version number.
inline std::string Template(absl::string_view trial, absl::string_view template_id) {
  return absl::StrCat(Prefix(trial), "template:", template_id);
}
// HASH participant -> sealed contact record (contact_crypto.h).
inline std::string Contacts(absl::string_view trial) { return Prefix(trial) + "contacts"; }
// HASH participant -> opt-out flags ("a" all, "e" e-mail, "s" SMS, concatenated).
inline std::string OptOuts(absl::string_view trial) { return Prefix(trial) + "optouts"; }
// HASH phone-number hash -> participant, for the SMS gateway's inbound STOP replies.
inline std::string PhoneIndex(absl::string_view trial) { return Prefix(trial) + "phones"; }
// STRING counter raised after every opened or clicked event is added to Events (in the same
// pipeline): GetEngagementVersion's answer.
inline std::string EngagementVersion(absl::string_view trial) {
  return Prefix(trial) + "engagement_version";
}
// HASH "<campaign>|<step>|<participant>|<kind>" -> 1: engagement de-duplication.
inline std::string Engaged(absl::string_view trial) { return Prefix(trial) + "engaged"; }
// Token bucket of one delivery channel, shared by all workers ("email" or "sms").
inline std::string Bucket(absl::string_view channel) {
  return absl::StrCat("fw:{ratelimit}:msg:bucket:", channel);
}
// SET of trials with a send queue: what the scheduler and workers poll (one key, not trial-scoped).
inline std::string Trials() { return "fw:{index}:msg:trials"; }
// HASH phone-number hash -> trial, for inbound SMS that do not name a trial.
inline std::string PhoneTrials() { return "fw:{index}:msg:phones"; }

inline constexpr absl::string_view kGroup = "workers";

}  // namespace fieldwork::messaging::keys

#endif  // FIELDWORK_SERVICES_MESSAGING_KEYS_H_
