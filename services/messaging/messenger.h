// The messaging service's operations behind the gRPC adapter: contacts and opt-outs,
// templates, campaign definition and planning, pause/resume/cancel, status, events and dead
// letters. Takes and returns the wire messages (the adapter adds authentication only); the
// decisions themselves are the domain library's.
#ifndef FIELDWORK_SERVICES_MESSAGING_MESSENGER_H_
#define FIELDWORK_SERVICES_MESSAGING_MESSENGER_H_

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "fieldwork/v1/messaging.pb.h"
#include "services/common/access.h"
#include "services/common/clock.h"
#include "services/messaging/domain/survey_link_url.h"
#include "services/messaging/message_store.h"
#include "services/messaging/send_queue.h"
#include "services/messaging/sources.h"

namespace fieldwork::messaging {

class Messenger {
 public:
  // `waves` (survey-ingest) is needed only to start waitlist campaigns; may be null.
  // `survey_links` is what the workers sign personal survey links with: a campaign that needs
  // what it lacks is refused at start.
  Messenger(MessageStore& store, SendQueue& queue, AllocationSource& allocations,
            const Clock& clock, ResponseLookup* waves = nullptr,
            SurveyLinkSettings survey_links = {})
      : store_(store),
        queue_(queue),
        allocations_(allocations),
        clock_(clock),
        waves_(waves),
        survey_links_(std::move(survey_links)) {}

  // Contacts, opt-outs and erasure act on participants the caller may touch (`scope`), asked
  // of randomisation at call time. A contact is stored only for a participant enrolled in the
  // trial (a row error otherwise); a site-scoped caller naming any participant outside its
  // sites (or unknown) is refused the whole request with PERMISSION_DENIED, nothing stored.
  absl::StatusOr<fieldwork::v1::UpsertContactsResponse> UpsertContacts(
      const fieldwork::v1::UpsertContactsRequest& request, const ParticipantScope& scope);
  absl::StatusOr<fieldwork::v1::OptOutResponse> OptOut(const fieldwork::v1::OptOutRequest& request,
                                                       const ParticipantScope& scope);
  absl::StatusOr<fieldwork::v1::ForgetResponse> Forget(const fieldwork::v1::ForgetRequest& request,
                                                       const ParticipantScope& scope);
  absl::StatusOr<fieldwork::v1::UpdateTemplateResponse> UpdateTemplate(
      const fieldwork::v1::UpdateTemplateRequest& request);
  absl::StatusOr<fieldwork::v1::CreateCampaignResponse> CreateCampaign(
      const fieldwork::v1::CreateCampaignRequest& request);
  absl::StatusOr<fieldwork::v1::StartCampaignResponse> StartCampaign(
      const fieldwork::v1::StartCampaignRequest& request);
  absl::Status PauseCampaign(const std::string& trial, const std::string& campaign);
  absl::Status ResumeCampaign(const std::string& trial, const std::string& campaign);
  absl::StatusOr<fieldwork::v1::CancelCampaignResponse> CancelCampaign(
      const fieldwork::v1::CancelCampaignRequest& request);
  absl::StatusOr<fieldwork::v1::GetCampaignStatusResponse> GetCampaignStatus(
      const fieldwork::v1::GetCampaignStatusRequest& request);
  absl::StatusOr<fieldwork::v1::GetEngagementVersionResponse> GetEngagementVersion(
      const fieldwork::v1::GetEngagementVersionRequest& request);
  // Calls `sink` with pages of events until the end of the log or until it returns false.
  absl::Status ListEvents(
      const fieldwork::v1::ListEventsRequest& request,
      const std::function<bool(const fieldwork::v1::ListEventsResponse&)>& sink);
  absl::StatusOr<fieldwork::v1::ListDeadLettersResponse> ListDeadLetters(
      const fieldwork::v1::ListDeadLettersRequest& request);
  absl::StatusOr<fieldwork::v1::RetryDeadLettersResponse> RetryDeadLetters(
      const fieldwork::v1::RetryDeadLettersRequest& request);

 private:
  absl::Status CheckCampaignExists(const std::string& trial, const std::string& campaign);
  // The participant's site as randomisation holds it now; nullopt when not enrolled.
  absl::StatusOr<std::optional<std::string>> SiteOf(const std::string& trial,
                                                    const std::string& participant_id);
  // OK when `scope` covers the participant; an unscoped caller passes without a lookup.
  absl::Status CheckScope(const std::string& trial, const std::string& participant_id,
                          const ParticipantScope& scope);

  MessageStore& store_;
  SendQueue& queue_;
  AllocationSource& allocations_;
  const Clock& clock_;
  ResponseLookup* waves_;
  SurveyLinkSettings survey_links_;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_MESSENGER_H_
