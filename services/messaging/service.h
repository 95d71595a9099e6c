// The gRPC adapter of MessagingService: authenticates and authorises each call, then hands it
// to the Messenger; absl::Status becomes grpc::Status through the shared helper.
#ifndef FIELDWORK_SERVICES_MESSAGING_SERVICE_H_
#define FIELDWORK_SERVICES_MESSAGING_SERVICE_H_

#include <initializer_list>
#include <string>

#include "fieldwork/v1/messaging.grpc.pb.h"
#include "services/common/access.h"
#include "services/common/grpc_auth.h"
#include "services/messaging/messenger.h"

namespace fieldwork::messaging {

class MessagingServiceImpl final : public fieldwork::v1::MessagingService::Service {
 public:
  MessagingServiceImpl(Messenger& messenger, const Authenticator& authenticator)
      : messenger_(messenger), authenticator_(authenticator) {}

  grpc::Status UpsertContacts(grpc::ServerContext* context,
                              const fieldwork::v1::UpsertContactsRequest* request,
                              fieldwork::v1::UpsertContactsResponse* response) override;
  grpc::Status OptOut(grpc::ServerContext* context, const fieldwork::v1::OptOutRequest* request,
                      fieldwork::v1::OptOutResponse* response) override;
  grpc::Status Forget(grpc::ServerContext* context, const fieldwork::v1::ForgetRequest* request,
                      fieldwork::v1::ForgetResponse* response) override;
  grpc::Status UpdateTemplate(grpc::ServerContext* context,
                              const fieldwork::v1::UpdateTemplateRequest* request,
                              fieldwork::v1::UpdateTemplateResponse* response) override;
  grpc::Status CreateCampaign(grpc::ServerContext* context,
                              const fieldwork::v1::CreateCampaignRequest* request,
                              fieldwork::v1::CreateCampaignResponse* response) override;
  grpc::Status StartCampaign(grpc::ServerContext* context,
                             const fieldwork::v1::StartCampaignRequest* request,
                             fieldwork::v1::StartCampaignResponse* response) override;
  grpc::Status PauseCampaign(grpc::ServerContext* context,
                             const fieldwork::v1::PauseCampaignRequest* request,
                             fieldwork::v1::PauseCampaignResponse* response) override;
  grpc::Status ResumeCampaign(grpc::ServerContext* context,
                              const fieldwork::v1::ResumeCampaignRequest* request,
                              fieldwork::v1::ResumeCampaignResponse* response) override;
  grpc::Status CancelCampaign(grpc::ServerContext* context,
                              const fieldwork::v1::CancelCampaignRequest* request,
                              fieldwork::v1::CancelCampaignResponse* response) override;
  grpc::Status GetCampaignStatus(grpc::ServerContext* context,
                                 const fieldwork::v1::GetCampaignStatusRequest* request,
                                 fieldwork::v1::GetCampaignStatusResponse* response) override;
  grpc::Status GetEngagementVersion(grpc::ServerContext* context,
                                    const fieldwork::v1::GetEngagementVersionRequest* request,
                                    fieldwork::v1::GetEngagementVersionResponse* response) override;
  grpc::Status ListEvents(grpc::ServerContext* context,
                          const fieldwork::v1::ListEventsRequest* request,
                          grpc::ServerWriter<fieldwork::v1::ListEventsResponse>* writer) override;
  grpc::Status ListDeadLetters(grpc::ServerContext* context,
                               const fieldwork::v1::ListDeadLettersRequest* request,
                               fieldwork::v1::ListDeadLettersResponse* response) override;
  grpc::Status RetryDeadLetters(grpc::ServerContext* context,
                                const fieldwork::v1::RetryDeadLettersRequest* request,
                                fieldwork::v1::RetryDeadLettersResponse* response) override;

 private:
  // The caller's participant scope, if it holds one of `roles` on `trial` (access.h).
  absl::StatusOr<ParticipantScope> AllowParticipants(grpc::ServerContext* context,
                                                     std::initializer_list<Role> roles,
                                                     const std::string& trial);
  // For calls over every site's participants: campaigns, templates, status, events, dead
  // letters (events and sends are not filtered by site, so a site-scoped caller is refused).
  absl::Status AllowWholeTrial(grpc::ServerContext* context, std::initializer_list<Role> roles,
                               const std::string& trial);

  Messenger& messenger_;
  const Authenticator& authenticator_;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_SERVICE_H_
