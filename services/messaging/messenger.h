// The messaging service's operations behind the gRPC adapter: contacts and opt-outs,
// templates, campaign definition and planning, pause/resume/cancel, status, events and dead
// letters. Takes and returns the wire messages (the adapter adds authentication only); the
// decisions themselves are the domain library's.
#ifndef FIELDWORK_SERVICES_MESSAGING_MESSENGER_H_
#define FIELDWORK_SERVICES_MESSAGING_MESSENGER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fieldwork/v1/messaging.pb.h"
#include "services/common/clock.h"
#include "services/messaging/message_store.h"
#include "services/messaging/send_queue.h"
#include "services/messaging/sources.h"

namespace fieldwork::messaging {

class Messenger {
 public:
  // `waves` (survey-ingest) is needed only to start waitlist campaigns; may be null.
  Messenger(MessageStore& store, SendQueue& queue, AllocationSource& allocations,
            const Clock& clock, ResponseLookup* waves = nullptr)
      : store_(store), queue_(queue), allocations_(allocations), clock_(clock), waves_(waves) {}

  absl::StatusOr<fieldwork::v1::UpsertContactsResponse> UpsertContacts(
      const fieldwork::v1::UpsertContactsRequest& request);
  absl::StatusOr<fieldwork::v1::OptOutResponse> OptOut(const fieldwork::v1::OptOutRequest& request);
  absl::StatusOr<fieldwork::v1::ForgetResponse> Forget(const fieldwork::v1::ForgetRequest& request);
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

  MessageStore& store_;
  SendQueue& queue_;
  AllocationSource& allocations_;
  const Clock& clock_;
  ResponseLookup* waves_;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_MESSENGER_H_
