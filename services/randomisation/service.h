// The gRPC adapter of the randomisation service: authenticates and authorises each call,
// translates between protos and the Randomiser, and records the service's metrics.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_SERVICE_H_
#define FIELDWORK_SERVICES_RANDOMISATION_SERVICE_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "fieldwork/v1/randomisation.grpc.pb.h"
#include "services/common/access.h"
#include "services/common/grpc_auth.h"
#include "services/randomisation/randomiser.h"

namespace fieldwork::randomisation {

// fieldwork_randomisation_enrolled_total{trial}, fieldwork_randomisation_allocations_total
// {trial,factor,arm} and the gauge fieldwork_randomisation_allocated_participants
// {trial,factor,arm,site}.
class RandomisationMetrics {
 public:
  explicit RandomisationMetrics(prometheus::Registry& registry);
  RandomiserObserver Observer();
  // Sets the gauges from what is stored (at start-up).
  void Seed(Randomiser& randomiser);

 private:
  void OnAllocated(const std::string& trial, const fieldwork::v1::Allocation& allocation, bool count);
  prometheus::Family<prometheus::Counter>& enrolled_;
  prometheus::Family<prometheus::Counter>& allocations_;
  prometheus::Family<prometheus::Gauge>& allocated_;
};

class RandomisationServiceImpl final : public fieldwork::v1::RandomisationService::Service {
 public:
  RandomisationServiceImpl(Randomiser& randomiser, const Authenticator& authenticator)
      : randomiser_(randomiser), authenticator_(authenticator) {}

  grpc::Status CreateTrial(grpc::ServerContext*, const fieldwork::v1::CreateTrialRequest*,
                           fieldwork::v1::CreateTrialResponse*) override;
  grpc::Status UpdateDesign(grpc::ServerContext*, const fieldwork::v1::UpdateDesignRequest*,
                            fieldwork::v1::UpdateDesignResponse*) override;
  grpc::Status GetTrial(grpc::ServerContext*, const fieldwork::v1::GetTrialRequest*,
                        fieldwork::v1::GetTrialResponse*) override;
  grpc::Status ListTrials(grpc::ServerContext*, const fieldwork::v1::ListTrialsRequest*,
                          fieldwork::v1::ListTrialsResponse*) override;
  grpc::Status LockDesign(grpc::ServerContext*, const fieldwork::v1::LockDesignRequest*,
                          fieldwork::v1::LockDesignResponse*) override;
  grpc::Status CloseTrial(grpc::ServerContext*, const fieldwork::v1::CloseTrialRequest*,
                          fieldwork::v1::CloseTrialResponse*) override;
  grpc::Status Enrol(grpc::ServerContext*, const fieldwork::v1::EnrolRequest*,
                     fieldwork::v1::EnrolResponse*) override;
  grpc::Status EnrolStream(grpc::ServerContext*, grpc::ServerReader<fieldwork::v1::EnrolRequest>*,
                           fieldwork::v1::EnrolResponse*) override;
  grpc::Status Randomise(grpc::ServerContext*, const fieldwork::v1::RandomiseRequest*,
                         fieldwork::v1::RandomiseResponse*) override;
  grpc::Status AllocateNext(grpc::ServerContext*, const fieldwork::v1::AllocateNextRequest*,
                            fieldwork::v1::AllocateNextResponse*) override;
  grpc::Status GetAllocation(grpc::ServerContext*, const fieldwork::v1::GetAllocationRequest*,
                             fieldwork::v1::GetAllocationResponse*) override;
  grpc::Status ListAllocations(grpc::ServerContext*, const fieldwork::v1::ListAllocationsRequest*,
                               grpc::ServerWriter<fieldwork::v1::ListAllocationsResponse>*) override;
  grpc::Status GetParticipant(grpc::ServerContext*, const fieldwork::v1::GetParticipantRequest*,
                              fieldwork::v1::GetParticipantResponse*) override;
  grpc::Status GetParticipants(grpc::ServerContext*, const fieldwork::v1::GetParticipantsRequest*,
                               fieldwork::v1::GetParticipantsResponse*) override;
  grpc::Status ListParticipants(grpc::ServerContext*, const fieldwork::v1::ListParticipantsRequest*,
                                grpc::ServerWriter<fieldwork::v1::ListParticipantsResponse>*) override;
  grpc::Status Withdraw(grpc::ServerContext*, const fieldwork::v1::WithdrawRequest*,
                        fieldwork::v1::WithdrawResponse*) override;
  grpc::Status RecordLeaver(grpc::ServerContext*, const fieldwork::v1::RecordLeaverRequest*,
                            fieldwork::v1::RecordLeaverResponse*) override;
  grpc::Status Balance(grpc::ServerContext*, const fieldwork::v1::BalanceRequest*,
                       fieldwork::v1::BalanceResponse*) override;
  grpc::Status AuditLog(grpc::ServerContext*, const fieldwork::v1::AuditLogRequest*,
                        grpc::ServerWriter<fieldwork::v1::AuditLogResponse>*) override;
  grpc::Status VerifyAuditLog(grpc::ServerContext*, const fieldwork::v1::VerifyAuditLogRequest*,
                              fieldwork::v1::VerifyAuditLogResponse*) override;
  grpc::Status GetAuditHead(grpc::ServerContext*, const fieldwork::v1::GetAuditHeadRequest*,
                            fieldwork::v1::GetAuditHeadResponse*) override;
  grpc::Status RevealSecret(grpc::ServerContext*, const fieldwork::v1::RevealSecretRequest*,
                            fieldwork::v1::RevealSecretResponse*) override;

 private:
  // The caller, if it holds one of `roles` on `trial` (and `site` when not empty).
  absl::StatusOr<Principal> Allow(grpc::ServerContext* context, std::initializer_list<Role> roles,
                                  const std::string& trial, const std::string& site = "");
  // Allow, for a call that acts on every site's participants (access.h).
  absl::StatusOr<Principal> AllowWholeTrial(grpc::ServerContext* context,
                                            std::initializer_list<Role> roles,
                                            const std::string& trial);
  // Allow, for a call reading participants one by one (GetAllocation, GetParticipant,
  // GetParticipants): their statuses are read by researchers, partners and analysts; their
  // arms (`with_allocations`) only by researchers and analysts.
  absl::StatusOr<Principal> AllowParticipantRead(grpc::ServerContext* context,
                                                 const std::string& trial, bool with_allocations);
  // Enrolment shared by Enrol and EnrolStream, for an authorised caller: a row at a site not
  // the caller's refuses the whole batch, and nothing is written once the call is cancelled.
  grpc::Status EnrolRows(grpc::ServerContext* context, const Principal& principal,
                         const std::string& trial,
                         const std::vector<fieldwork::v1::Participant>& rows, bool all_or_nothing,
                         fieldwork::v1::EnrolResponse* response);
  // The caller may act on this participant (its site is in the caller's scope); the denial
  // does not reveal the participant's site or existence.
  absl::Status AllowParticipant(const Principal& principal, const std::string& trial,
                                const std::string& participant_id);

  Randomiser& randomiser_;
  const Authenticator& authenticator_;
};

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_SERVICE_H_
