// The {{survey_link}} of one survey invitation send: a personal link to Fieldwork's hosted form,
// or an external survey's URL carrying the participant's sealed token, never a readable id
// unless an old protocol still asks for "{participant_id}".
#ifndef FIELDWORK_SERVICES_MESSAGING_DOMAIN_SURVEY_LINK_URL_H_
#define FIELDWORK_SERVICES_MESSAGING_DOMAIN_SURVEY_LINK_URL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/messaging/domain/campaign.h"
#include "services/survey_link/key_ring.h"

namespace fieldwork::messaging {

inline constexpr absl::string_view kSurveyTokenPlaceholder = "{survey_token}";
inline constexpr absl::string_view kParticipantIdPlaceholder = "{participant_id}";

// What this messaging process can put in a personal survey link (its flags).
struct SurveyLinkSettings {
  const survey_link::SurveyLinkKeyRing* keys = nullptr;  // --survey_link_keys; null: none
  std::string base_url;  // --survey_base_url, e.g. "https://survey.example.org"; empty: none
};

// Whether the campaign's links carry a sealed token (hosted, or "{survey_token}" in the URL).
bool UsesSurveyLinkToken(const SurveyLinkSpec& survey);

// The problems with a campaign's survey fields, each "<field>: <reason>" under the proto's
// names (ValidateCampaign reports them with the rest).
std::vector<std::string> SurveyLinkProblems(const Campaign& campaign);

// OK when `settings` can render the campaign's survey links; FAILED_PRECONDITION naming the
// missing flag otherwise (StartCampaign refuses such a campaign, the worker dead-letters).
absl::Status CheckSurveyLinkSettings(const Campaign& campaign, const SurveyLinkSettings& settings);

// {{survey_link}} for `participant_id`: "<base_url>/s/<token>" for a hosted survey, the URL
// template with its placeholders replaced otherwise, "" when the campaign has no survey link.
// The token is sealed for (trial, wave, participant, expires) and deterministic, so an
// invitation and its reminders carry the same link. FAILED_PRECONDITION as
// CheckSurveyLinkSettings; INVALID_ARGUMENT from SealSurveyLink (an id too long for a link).
absl::StatusOr<std::string> RenderSurveyLink(const Campaign& campaign,
                                             absl::string_view participant_id,
                                             const SurveyLinkSettings& settings);

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_DOMAIN_SURVEY_LINK_URL_H_
