#include "services/messaging/service.h"

#include "services/common/enum_check.h"
#include "services/common/grpc_status.h"

namespace fieldwork::messaging {

namespace v1 = ::fieldwork::v1;

absl::StatusOr<ParticipantScope> MessagingServiceImpl::AllowParticipants(
    grpc::ServerContext* context, std::initializer_list<Role> roles, const std::string& trial) {
  absl::StatusOr<Principal> principal = authenticator_.Authenticate(*context);
  if (!principal.ok()) return principal.status();
  if (absl::Status allowed = Authorize(*principal, roles, trial); !allowed.ok()) return allowed;
  return ParticipantScope::Of(*principal);
}

absl::Status MessagingServiceImpl::AllowWholeTrial(grpc::ServerContext* context,
                                                   std::initializer_list<Role> roles,
                                                   const std::string& trial) {
  absl::StatusOr<Principal> principal = authenticator_.Authenticate(*context);
  if (!principal.ok()) return principal.status();
  return AuthorizeWholeTrial(*principal, roles, trial);
}

grpc::Status MessagingServiceImpl::UpsertContacts(grpc::ServerContext* context,
                                                  const v1::UpsertContactsRequest* request,
                                                  v1::UpsertContactsResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(scope, AllowParticipants(context, {Role::kPartner, Role::kResearcher},
                                                    request->trial_id()));
  FW_GRPC_RETURN_IF_ERROR(CheckEnumValuesKnown(*request));
  FW_GRPC_ASSIGN_OR_RETURN(result, messenger_.UpsertContacts(*request, scope));
  *response = std::move(result);
  return grpc::Status::OK;
}

grpc::Status MessagingServiceImpl::OptOut(grpc::ServerContext* context,
                                          const v1::OptOutRequest* request,
                                          v1::OptOutResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(scope, AllowParticipants(context, {Role::kPartner, Role::kResearcher},
                                                    request->trial_id()));
  FW_GRPC_RETURN_IF_ERROR(CheckEnumValuesKnown(*request));
  FW_GRPC_ASSIGN_OR_RETURN(result, messenger_.OptOut(*request, scope));
  *response = std::move(result);
  return grpc::Status::OK;
}

grpc::Status MessagingServiceImpl::Forget(grpc::ServerContext* context,
                                          const v1::ForgetRequest* request,
                                          v1::ForgetResponse* response) {
  FW_GRPC_ASSIGN_OR_RETURN(scope, AllowParticipants(context, {Role::kPartner, Role::kResearcher},
                                                    request->trial_id()));
  FW_GRPC_ASSIGN_OR_RETURN(result, messenger_.Forget(*request, scope));
  *response = std::move(result);
  return grpc::Status::OK;
}

grpc::Status MessagingServiceImpl::UpdateTemplate(grpc::ServerContext* context,
                                                  const v1::UpdateTemplateRequest* request,
                                                  v1::UpdateTemplateResponse* response) {
  FW_GRPC_RETURN_IF_ERROR(AllowWholeTrial(context, {Role::kResearcher}, request->trial_id()));
  FW_GRPC_ASSIGN_OR_RETURN(result, messenger_.UpdateTemplate(*request));
  *response = std::move(result);
  return grpc::Status::OK;
}

grpc::Status MessagingServiceImpl::CreateCampaign(grpc::ServerContext* context,
                                                  const v1::CreateCampaignRequest* request,
                                                  v1::CreateCampaignResponse* response) {
  FW_GRPC_RETURN_IF_ERROR(AllowWholeTrial(context, {Role::kResearcher}, request->trial_id()));
  FW_GRPC_RETURN_IF_ERROR(CheckEnumValuesKnown(*request));
  FW_GRPC_ASSIGN_OR_RETURN(result, messenger_.CreateCampaign(*request));
  *response = std::move(result);
  return grpc::Status::OK;
}

grpc::Status MessagingServiceImpl::StartCampaign(grpc::ServerContext* context,
                                                 const v1::StartCampaignRequest* request,
                                                 v1::StartCampaignResponse* response) {
  FW_GRPC_RETURN_IF_ERROR(AllowWholeTrial(context, {Role::kResearcher}, request->trial_id()));
  FW_GRPC_ASSIGN_OR_RETURN(result, messenger_.StartCampaign(*request));
  *response = std::move(result);
  return grpc::Status::OK;
}

grpc::Status MessagingServiceImpl::PauseCampaign(grpc::ServerContext* context,
                                                 const v1::PauseCampaignRequest* request,
                                                 v1::PauseCampaignResponse*) {
  FW_GRPC_RETURN_IF_ERROR(AllowWholeTrial(context, {Role::kResearcher}, request->trial_id()));
  FW_GRPC_RETURN_IF_ERROR(messenger_.PauseCampaign(request->trial_id(), request->campaign_id()));
  return grpc::Status::OK;
}

grpc::Status MessagingServiceImpl::ResumeCampaign(grpc::ServerContext* context,
                                                  const v1::ResumeCampaignRequest* request,
                                                  v1::ResumeCampaignResponse*) {
  FW_GRPC_RETURN_IF_ERROR(AllowWholeTrial(context, {Role::kResearcher}, request->trial_id()));
  FW_GRPC_RETURN_IF_ERROR(messenger_.ResumeCampaign(request->trial_id(), request->campaign_id()));
  return grpc::Status::OK;
}

grpc::Status MessagingServiceImpl::CancelCampaign(grpc::ServerContext* context,
                                                  const v1::CancelCampaignRequest* request,
                                                  v1::CancelCampaignResponse* response) {
  FW_GRPC_RETURN_IF_ERROR(AllowWholeTrial(context, {Role::kResearcher}, request->trial_id()));
  FW_GRPC_ASSIGN_OR_RETURN(result, messenger_.CancelCampaign(*request));
  *response = std::move(result);
  return grpc::Status::OK;
}

grpc::Status MessagingServiceImpl::GetCampaignStatus(grpc::ServerContext* context,
                                                     const v1::GetCampaignStatusRequest* request,
                                                     v1::GetCampaignStatusResponse* response) {
  FW_GRPC_RETURN_IF_ERROR(AllowWholeTrial(context, {Role::kResearcher, Role::kAnalyst}, request->trial_id()));
  FW_GRPC_ASSIGN_OR_RETURN(result, messenger_.GetCampaignStatus(*request));
  *response = std::move(result);
  return grpc::Status::OK;
}

grpc::Status MessagingServiceImpl::GetEngagementVersion(
    grpc::ServerContext* context, const v1::GetEngagementVersionRequest* request,
    v1::GetEngagementVersionResponse* response) {
  FW_GRPC_RETURN_IF_ERROR(
      AllowWholeTrial(context, {Role::kResearcher, Role::kAnalyst}, request->trial_id()));
  FW_GRPC_ASSIGN_OR_RETURN(version, messenger_.GetEngagementVersion(*request));
  *response = std::move(version);
  return grpc::Status::OK;
}

grpc::Status MessagingServiceImpl::ListEvents(grpc::ServerContext* context,
                                              const v1::ListEventsRequest* request,
                                              grpc::ServerWriter<v1::ListEventsResponse>* writer) {
  FW_GRPC_RETURN_IF_ERROR(AllowWholeTrial(context, {Role::kResearcher, Role::kAnalyst}, request->trial_id()));
  FW_GRPC_RETURN_IF_ERROR(CheckEnumValuesKnown(*request));
  FW_GRPC_RETURN_IF_ERROR(messenger_.ListEvents(*request, [&](const v1::ListEventsResponse& page) {
    return !context->IsCancelled() && writer->Write(page);
  }));
  return grpc::Status::OK;
}

grpc::Status MessagingServiceImpl::ListDeadLetters(grpc::ServerContext* context,
                                                   const v1::ListDeadLettersRequest* request,
                                                   v1::ListDeadLettersResponse* response) {
  FW_GRPC_RETURN_IF_ERROR(AllowWholeTrial(context, {Role::kResearcher}, request->trial_id()));
  FW_GRPC_ASSIGN_OR_RETURN(result, messenger_.ListDeadLetters(*request));
  *response = std::move(result);
  return grpc::Status::OK;
}

grpc::Status MessagingServiceImpl::RetryDeadLetters(grpc::ServerContext* context,
                                                    const v1::RetryDeadLettersRequest* request,
                                                    v1::RetryDeadLettersResponse* response) {
  FW_GRPC_RETURN_IF_ERROR(AllowWholeTrial(context, {Role::kResearcher}, request->trial_id()));
  FW_GRPC_ASSIGN_OR_RETURN(result, messenger_.RetryDeadLetters(*request));
  *response = std::move(result);
  return grpc::Status::OK;
}

}  // namespace fieldwork::messaging
