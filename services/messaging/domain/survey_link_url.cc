#include "services/messaging/domain/survey_link_url.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "services/survey_link/survey_link_token.h"

namespace fieldwork::messaging {

bool UsesSurveyLinkToken(const SurveyLinkSpec& survey) {
  return survey.hosted || absl::StrContains(survey.url_template, kSurveyTokenPlaceholder);
}

std::vector<std::string> SurveyLinkProblems(const Campaign& c) {
  std::vector<std::string> problems;
  const SurveyLinkSpec& survey = c.survey;
  if (c.kind != CampaignKind::kSurveyInvitation) {
    if (survey.hosted) problems.push_back("hosted_survey: only survey invitations link to a survey");
    if (!survey.url_template.empty()) {
      problems.push_back("survey_url_template: only survey invitations link to a survey");
    }
    if (survey.expires.has_value()) {
      problems.push_back("survey_link_expires: only survey invitations link to a survey");
    }
    return problems;
  }
  if (survey.hosted && !survey.url_template.empty()) {
    problems.push_back(
        "survey_url_template: give either hosted_survey (Fieldwork's form) or "
        "survey_url_template (an external survey), not both");
  }
  if (UsesSurveyLinkToken(survey) && !survey.expires.has_value()) {
    problems.push_back(
        "survey_link_expires: required for a personal survey link (hosted_survey or "
        "{survey_token}): the wave's close plus its grace");
  } else if (!UsesSurveyLinkToken(survey) && survey.expires.has_value()) {
    problems.push_back(
        "survey_link_expires: only personal survey links expire (hosted_survey or "
        "{survey_token} in survey_url_template)");
  } else if (survey.expires.has_value() &&
             (*survey.expires <= absl::UnixEpoch() || *survey.expires == absl::InfiniteFuture())) {
    problems.push_back("survey_link_expires: must be a finite time after 1970");
  }
  return problems;
}

absl::Status CheckSurveyLinkSettings(const Campaign& campaign, const SurveyLinkSettings& settings) {
  if (!UsesSurveyLinkToken(campaign.survey)) return absl::OkStatus();
  if (settings.keys == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "survey_link: campaign ", campaign.campaign_id,
        " sends personal survey links, but messaging has no survey link key ring "
        "(--survey_link_keys)"));
  }
  if (campaign.survey.hosted && settings.base_url.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "survey_link: campaign ", campaign.campaign_id,
        " links to the hosted survey form, but messaging has no --survey_base_url"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RenderSurveyLink(const Campaign& campaign,
                                             absl::string_view participant_id,
                                             const SurveyLinkSettings& settings) {
  const SurveyLinkSpec& survey = campaign.survey;
  if (!UsesSurveyLinkToken(survey)) {
    return absl::StrReplaceAll(survey.url_template, {{kParticipantIdPlaceholder, participant_id}});
  }
  if (absl::Status s = CheckSurveyLinkSettings(campaign, settings); !s.ok()) return s;
  if (!survey.expires.has_value()) {
    return absl::InvalidArgumentError("survey_link_expires: required for a personal survey link");
  }
  absl::StatusOr<std::string> token = survey_link::SealSurveyLink(
      *settings.keys, {campaign.trial_id, campaign.wave_id, std::string(participant_id),
                       absl::FromUnixSeconds(absl::ToUnixSeconds(*survey.expires))});
  if (!token.ok()) return token.status();
  if (survey.hosted) {
    return absl::StrCat(absl::StripSuffix(settings.base_url, "/"), "/s/", *token);
  }
  return absl::StrReplaceAll(survey.url_template, {{kSurveyTokenPlaceholder, *token},
                                                   {kParticipantIdPlaceholder, participant_id}});
}

}  // namespace fieldwork::messaging
