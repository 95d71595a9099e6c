#include "services/common/access.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/quote.h"

namespace fieldwork {

absl::Status Authorize(const Principal& principal, std::initializer_list<Role> any_of,
                       absl::string_view trial, absl::string_view site) {
  if (principal.HasRole(Role::kAdmin)) return absl::OkStatus();
  bool has_role = false;
  for (Role role : any_of) has_role = has_role || principal.HasRole(role);
  if (!has_role) {
    std::vector<std::string> names;
    for (Role role : any_of) names.emplace_back(RoleName(role));
    return absl::PermissionDeniedError(absl::StrCat(
        principal.name, " lacks a role for this call (needs one of: ", absl::StrJoin(names, ", "),
        ")"));
  }
  if (!trial.empty() && !principal.MayTouchTrial(trial)) {
    return absl::PermissionDeniedError(
        absl::StrCat(principal.name, " may not touch trial ", Excerpt(trial)));
  }
  if (!site.empty() && !principal.MayTouchSite(site)) {
    return absl::PermissionDeniedError(
        absl::StrCat(principal.name, " may not touch site ", Excerpt(site)));
  }
  return absl::OkStatus();
}

absl::Status AuthorizeWholeTrial(const Principal& principal, std::initializer_list<Role> any_of,
                                 absl::string_view trial) {
  if (absl::Status allowed = Authorize(principal, any_of, trial); !allowed.ok()) return allowed;
  if (ParticipantScope::Of(principal).site_scoped()) {
    return absl::PermissionDeniedError(absl::StrCat(
        principal.name,
        " is scoped to some sites; this call acts on every site of the trial and needs a token "
        "for all sites"));
  }
  return absl::OkStatus();
}

ParticipantScope ParticipantScope::Of(const Principal& principal) {
  if (principal.HasRole(Role::kAdmin) || principal.sites.count("*") > 0) return {};
  return Sites(principal.sites);
}

ParticipantScope ParticipantScope::Sites(std::set<std::string> sites) {
  ParticipantScope scope;
  scope.sites_ = std::move(sites);
  return scope;
}

bool ParticipantScope::MayTouchSite(absl::string_view site) const {
  return !sites_.has_value() || sites_->count(std::string(site)) > 0;
}

absl::Status ParticipantScope::CheckParticipant(absl::string_view participant_id,
                                                const std::optional<std::string>& site) const {
  if (site.has_value() && MayTouchSite(*site)) return absl::OkStatus();
  if (site_scoped()) return NotPermitted(participant_id);
  return absl::NotFoundError(
      absl::StrCat("participant ", Excerpt(participant_id), " is not enrolled in the trial"));
}

absl::Status NotPermitted(absl::string_view participant_id) {
  return absl::PermissionDeniedError(absl::StrCat(
      "not permitted: participant ", Excerpt(participant_id), " is not one the caller may touch"));
}

}  // namespace fieldwork
