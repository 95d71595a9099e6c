// The one authorisation rule of the suite: which calls a principal may make on a trial, and
// which participants' data it may read or change. Every service asks these functions, once per
// request, with the trial and the participants involved; none decides on its own.
//
// The rule:
//  - admin may do everything;
//  - every other role needs one of the call's roles and the trial in its `trials`;
//  - a principal whose `sites` does not hold "*" is site-scoped, whatever its role: it touches
//    only participants of its sites (reads are filtered, writes refused), and calls that act
//    on the whole trial at once (designs, randomising, campaigns, aggregates, analyses, the
//    audit log) are refused to it, since they read or change every site's participants;
//  - a denial about a participant says "not permitted" and nothing else: never the
//    participant's site, nor whether the participant exists.
//
// What it cannot hide: participant ids are unique within a trial, so a site-scoped caller that
// enrols an id already enrolled at another site is told the id is taken (an answer other than
// success is unavoidable, and any answer other than success says the id exists). Trials should
// use opaque pseudonymous ids (never names, e-mail addresses or staff numbers), so that knowing
// an id is taken tells nothing about a person.
#ifndef FIELDWORK_SERVICES_COMMON_ACCESS_H_
#define FIELDWORK_SERVICES_COMMON_ACCESS_H_

#include <initializer_list>
#include <optional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/common/auth.h"

namespace fieldwork {

// OK when the principal holds one of `any_of` (admin always qualifies) and may touch `trial`
// (empty: no trial involved) and, when not empty, the site the caller itself named (a site to
// enrol into or withdraw); PERMISSION_DENIED naming the missing role, trial or site otherwise.
absl::Status Authorize(const Principal& principal, std::initializer_list<Role> any_of,
                       absl::string_view trial, absl::string_view site = "");

// Authorize, and the call acts on every site's participants at once: refused to a
// site-scoped principal.
absl::Status AuthorizeWholeTrial(const Principal& principal, std::initializer_list<Role> any_of,
                                 absl::string_view trial);

// The participants a principal may touch, as domain code needs it: no roles, no gRPC.
class ParticipantScope {
 public:
  // Every site (admin, or a token with sites ["*"]).
  ParticipantScope() = default;
  static ParticipantScope Of(const Principal& principal);
  static ParticipantScope Sites(std::set<std::string> sites);

  bool site_scoped() const { return sites_.has_value(); }
  bool MayTouchSite(absl::string_view site) const;

  // The participant `participant_id`, enrolled at `site` (nullopt: not enrolled in the trial).
  // OK when in scope. A site-scoped caller gets the same PERMISSION_DENIED "not permitted" for
  // a participant of another site and for one that does not exist; an unscoped caller gets
  // NOT_FOUND for one that does not exist.
  absl::Status CheckParticipant(absl::string_view participant_id,
                                const std::optional<std::string>& site) const;

 private:
  std::optional<std::set<std::string>> sites_;  // nullopt: every site
};

// The one wording of a participant-level denial.
absl::Status NotPermitted(absl::string_view participant_id);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_ACCESS_H_
