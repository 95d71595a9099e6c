// The roster and participants' allocations as the randomisation service tells them over gRPC,
// with this service's own bearer token: GetParticipants (roster_only) for the ids asked, up to
// kMaxBatchLookupIds a call (its version is the trial's audit head); GetAllocation for one
// participant's arms and orders.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_GRPC_ROSTER_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_GRPC_ROSTER_H_

#include <grpcpp/channel.h>

#include <memory>
#include <string>
#include <vector>

#include "fieldwork/v1/randomisation.grpc.pb.h"
#include "services/survey_ingest/allocations.h"
#include "services/survey_ingest/roster.h"

namespace fieldwork::survey_ingest {

class GrpcRoster final : public Roster {
 public:
  // `token` is the bearer token this service calls randomisation with (researcher or analyst
  // role on the trials it serves).
  GrpcRoster(std::shared_ptr<grpc::Channel> channel, std::string token,
             absl::Duration deadline = absl::Seconds(10));

  // Exactly the entries of `participant_ids` (one GetParticipants call per kMaxBatchLookupIds
  // of them): what it costs follows the batch, never the trial's size.
  absl::StatusOr<RosterEntries> Lookup(const std::string& trial,
                                       const std::vector<std::string>& participant_ids) override;
  // "<length>:<sha256>" of the trial's audit log (GetAuditHead): every enrolment and
  // withdrawal extends the log.
  absl::StatusOr<std::string> Version(const std::string& trial) override;

 private:
  // GetParticipant per id: for a slice the batch call refused as a whole.
  absl::StatusOr<RosterEntries> LookupOneByOne(const std::string& trial,
                                               const std::vector<std::string>& participant_ids);

  void Prepare(grpc::ClientContext& context) const;

  std::unique_ptr<fieldwork::v1::RandomisationService::Stub> stub_;
  std::string token_;
  absl::Duration deadline_;
};

// Allocations by GetAllocation, with the same channel and token as the roster.
class GrpcAllocations final : public Allocations {
 public:
  GrpcAllocations(std::shared_ptr<grpc::Channel> channel, std::string token,
                  absl::Duration deadline = absl::Seconds(10));

  absl::StatusOr<ParticipantAllocation> Get(const std::string& trial,
                                            const std::string& participant) override;

 private:
  std::unique_ptr<fieldwork::v1::RandomisationService::Stub> stub_;
  std::string token_;
  absl::Duration deadline_;
};

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_GRPC_ROSTER_H_
