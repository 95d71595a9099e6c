// The send-time sources over gRPC: the RandomisationService (enrolment, current allocation,
// audience) and the SurveyIngestService (accepted responses), called with a service token.
// A worker's batch of sends costs one GetParticipants (and, for reminders, one
// GetResponseStatuses) per 1,000 participants rather than calls per send; nothing is cached,
// so a withdrawal or a response recorded just before the batch is read is honoured.
#ifndef FIELDWORK_SERVICES_MESSAGING_GRPC_SOURCES_H_
#define FIELDWORK_SERVICES_MESSAGING_GRPC_SOURCES_H_

#include <grpcpp/channel.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fieldwork/v1/randomisation.grpc.pb.h"
#include "fieldwork/v1/survey_ingest.grpc.pb.h"
#include "services/messaging/sources.h"

namespace fieldwork::messaging {

class GrpcAllocationSource final : public AllocationSource {
 public:
  // `token`: a bearer token with the analyst (or researcher) role for the trials served.
  GrpcAllocationSource(std::shared_ptr<grpc::Channel> channel, std::string token,
                       absl::Duration timeout = absl::Seconds(5));

  absl::StatusOr<std::map<std::string, ParticipantRecord>> LookupMany(
      absl::string_view trial_id, const std::vector<std::string>& participant_ids,
      absl::string_view factor) override;
  absl::StatusOr<std::vector<Recipient>> ListAudience(absl::string_view trial_id,
                                                      const Audience& audience) override;

 private:
  std::unique_ptr<fieldwork::v1::RandomisationService::Stub> stub_;
  std::string token_;
  absl::Duration timeout_;
};

class GrpcResponseLookup final : public ResponseLookup {
 public:
  GrpcResponseLookup(std::shared_ptr<grpc::Channel> channel, std::string token,
                     absl::Duration timeout = absl::Seconds(5));
  absl::StatusOr<std::set<std::string>> RespondedAmong(
      absl::string_view trial_id, absl::string_view wave_id,
      const std::vector<std::string>& participant_ids) override;
  absl::StatusOr<std::optional<absl::Time>> WaveClosesAt(absl::string_view trial_id,
                                                         absl::string_view wave_id) override;

 private:
  std::unique_ptr<fieldwork::v1::SurveyIngestService::Stub> stub_;
  std::string token_;
  absl::Duration timeout_;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_GRPC_SOURCES_H_
