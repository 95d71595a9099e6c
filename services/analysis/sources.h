// The data the analysis service reads from the other services, behind small interfaces so the
// join and the monitor can run over gRPC clients in production and in-memory data in tests.
#ifndef FIELDWORK_SERVICES_ANALYSIS_SOURCES_H_
#define FIELDWORK_SERVICES_ANALYSIS_SOURCES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fieldwork/v1/randomisation.pb.h"
#include "fieldwork/v1/survey_ingest.pb.h"

namespace fieldwork::analysis {

// Trials, participants and allocations (the randomisation service).
class AllocationSource {
 public:
  virtual ~AllocationSource() = default;
  // Every trial with its state (the monitor watches the LOCKED ones).
  virtual absl::StatusOr<std::vector<fieldwork::v1::Trial>> ListTrials() = 0;
  // NOT_FOUND for an unknown trial.
  virtual absl::StatusOr<fieldwork::v1::Trial> GetTrial(const std::string& trial) = 0;
  // Every enrolled participant with covariates, withdrawal and leaving date.
  virtual absl::StatusOr<std::vector<fieldwork::v1::ParticipantStatus>> ListParticipants(
      const std::string& trial) = 0;
  virtual absl::StatusOr<std::vector<fieldwork::v1::Allocation>> ListAllocations(
      const std::string& trial) = 0;
};

// Waves and scored responses (survey-ingest). Only counted responses are returned: one per
// participant and wave, chosen by the wave's response rule.
class ResponseSource {
 public:
  virtual ~ResponseSource() = default;
  virtual absl::StatusOr<std::vector<fieldwork::v1::Wave>> ListWaves(const std::string& trial) = 0;
  virtual absl::StatusOr<std::vector<fieldwork::v1::Response>> ListResponses(
      const std::string& trial) = 0;
};

// Administrative outcomes recorded by partners (survey-ingest).
class OutcomeSource {
 public:
  virtual ~OutcomeSource() = default;
  virtual absl::StatusOr<std::vector<fieldwork::v1::Outcome>> ListOutcomes(
      const std::string& trial) = 0;
};

// One engagement with a campaign's message by a participant (messaging).
struct EngagementEvent {
  std::string participant_id;
  std::string campaign;
  enum class Kind { kOpened, kClicked } kind = Kind::kOpened;
  absl::Time time;
};

// Opens and clicks (messaging).
class EngagementSource {
 public:
  virtual ~EngagementSource() = default;
  virtual absl::StatusOr<std::vector<EngagementEvent>> ListEngagement(const std::string& trial) = 0;
};

// The sources a service instance has; any but allocations may be null (not configured), in which
// case the join has no responses, outcomes or take-up and says so in its warnings.
struct Sources {
  AllocationSource* allocations = nullptr;
  ResponseSource* responses = nullptr;
  OutcomeSource* outcomes = nullptr;
  EngagementSource* engagement = nullptr;
};

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_SOURCES_H_
