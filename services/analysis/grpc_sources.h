// The sources over gRPC: the randomisation service (trials, participants, allocations) and the
// survey-ingest service (waves, counted responses, administrative outcomes). Each call carries
// the analysis service's own bearer token; and the messaging service (opens and clicks).
#ifndef FIELDWORK_SERVICES_ANALYSIS_GRPC_SOURCES_H_
#define FIELDWORK_SERVICES_ANALYSIS_GRPC_SOURCES_H_

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "fieldwork/v1/messaging.grpc.pb.h"
#include "fieldwork/v1/randomisation.grpc.pb.h"
#include "fieldwork/v1/survey_ingest.grpc.pb.h"
#include "services/analysis/sources.h"

namespace fieldwork::analysis {

// The receive window of each stream from the other services. The export holds one stream per
// source open at once (export_join.h); a fixed window keeps what gRPC buffers ahead of the join
// to this much per stream (gRPC's bandwidth-delay probe grew it until, on loopback, streams
// buffered most of a 100,000-participant trial).
inline constexpr int kStreamWindowBytes = 256 << 10;

// fieldwork::UpstreamChannel (services/common/grpc_client.h), insecure or TLS with the system
// roots when `tls` (tests).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, bool tls);

class GrpcAllocationSource final : public AllocationSource {
 public:
  GrpcAllocationSource(std::shared_ptr<grpc::Channel> channel, std::string token,
                       absl::Duration deadline = absl::Seconds(120));
  absl::StatusOr<std::vector<fieldwork::v1::Trial>> ListTrials() override;
  absl::StatusOr<fieldwork::v1::Trial> GetTrial(const std::string& trial) override;
  absl::StatusOr<MessageList<fieldwork::v1::ParticipantStatus>> ListParticipants(
      const std::string& trial) override;
  std::unique_ptr<ItemStream<fieldwork::v1::ParticipantStatus>> StreamParticipants(
      const std::string& trial) override;
  std::unique_ptr<ItemStream<fieldwork::v1::Allocation>> StreamAllocations(
      const std::string& trial) override;
  // The audit log's head (GetAuditHead): every enrolment, allocation, withdrawal and leaver
  // appends to the log.
  absl::StatusOr<std::string> DataVersion(const std::string& trial) override;

 private:
  std::unique_ptr<fieldwork::v1::RandomisationService::Stub> stub_;
  std::string token_;
  absl::Duration deadline_;
};

class GrpcSurveyIngestSource final : public ResponseSource, public OutcomeSource {
 public:
  GrpcSurveyIngestSource(std::shared_ptr<grpc::Channel> channel, std::string token,
                         absl::Duration deadline = absl::Seconds(120));
  absl::StatusOr<std::vector<fieldwork::v1::Wave>> ListWaves(const std::string& trial) override;
  absl::Status ForEachResponse(const std::string& trial,
                               absl::FunctionRef<void(fieldwork::v1::Response&)> each) override;
  absl::StatusOr<MessageList<fieldwork::v1::Outcome>> ListOutcomes(
      const std::string& trial) override;
  std::unique_ptr<ItemStream<fieldwork::v1::Response>> StreamResponses(
      const std::string& trial, const std::string& wave) override;
  std::unique_ptr<ItemStream<fieldwork::v1::Outcome>> StreamOutcomes(
      const std::string& trial) override;
  // GetDataVersion, for responses and outcomes alike (it moves with both).
  absl::StatusOr<std::string> DataVersion(const std::string& trial) override;

 private:
  std::unique_ptr<fieldwork::v1::SurveyIngestService::Stub> stub_;
  std::string token_;
  absl::Duration deadline_;
};

// Take-up: the OPENED and CLICKED events of every campaign of a trial (ListEvents).
class GrpcEngagementSource final : public EngagementSource {
 public:
  GrpcEngagementSource(std::shared_ptr<grpc::Channel> channel, std::string token,
                       absl::Duration deadline = absl::Seconds(120));
  absl::StatusOr<std::vector<EngagementEvent>> ListEngagement(const std::string& trial) override;
  absl::Status ForEachEngagement(const std::string& trial,
                                 const std::function<void(const EngagementEvent&)>& visit) override;
  // GetEngagementVersion.
  absl::StatusOr<std::string> DataVersion(const std::string& trial) override;

 private:
  std::unique_ptr<fieldwork::v1::MessagingService::Stub> stub_;
  std::string token_;
  absl::Duration deadline_;
};

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_GRPC_SOURCES_H_
