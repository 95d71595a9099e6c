// What status and report read about one trial from the randomisation and survey-ingest services
// (allocations with withdrawals and leavers, counted responses with their submission times, the
// waves), and the figures derived from it on the client side: response rate by arm and wave,
// cumulative response rate over time, and the CV experiment's progression rates. The loading
// talks to the services; everything else here is pure.
#ifndef FIELDWORK_SERVICES_CLI_TRIAL_SNAPSHOT_H_
#define FIELDWORK_SERVICES_CLI_TRIAL_SNAPSHOT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fieldwork/v1/randomisation.pb.h"
#include "fieldwork/v1/survey_ingest.pb.h"
#include "grpcpp/support/status.h"
#include "services/cli/cli_context.h"
#include "services/cli/report_html.h"

namespace fieldwork::cli {

// Who has a counted response to a wave.
struct Respondent {
  std::string wave_id;
  std::string participant_id;
};

struct TrialSnapshot {
  fieldwork::v1::Trial trial;
  std::vector<fieldwork::v1::Allocation> allocations;
  bool allocations_read = false;  // `allocations` holds every one (LoadAllocations)
  std::vector<fieldwork::v1::Response> responses;  // counted ones (LoadResponses)
  std::vector<Respondent> respondents;             // LoadRespondents or LoadResponses
  std::vector<fieldwork::v1::Wave> waves;
};

// Reads the trial, its allocations (randomisation).
grpc::Status LoadAllocations(CliContext& cli, const std::string& trial_id, TrialSnapshot& snapshot);
// Reads the trial record alone (randomisation) — the part status cannot do without.
grpc::Status LoadTrialRecord(CliContext& cli, const std::string& trial_id, TrialSnapshot& snapshot);
// Reads the allocations of the snapshot's trial unless they were read already: for status,
// which needs them only to give messages and form progress an arm (a large trial has many).
grpc::Status EnsureAllocations(CliContext& cli, TrialSnapshot& snapshot);
// Reads the waves and the counted responses (survey-ingest), and who they are from.
grpc::Status LoadResponses(CliContext& cli, const std::string& trial_id, TrialSnapshot& snapshot);
// Reads the waves and who has a counted response to which (survey-ingest ListRespondents, many
// times faster than the responses) into `respondents` — enough for ResponseByArmAndWave, not
// for the times ResponseOverTime needs.
grpc::Status LoadRespondents(CliContext& cli, const std::string& trial_id,
                             TrialSnapshot& snapshot);

// The factor arms are compared on: `preferred` when it is a factor of the design with arms, else
// the design's first factor with arms (order factors — Latin square, random order — have none).
std::string ComparisonFactor(const fieldwork::v1::TrialDesign& design,
                             const std::string& preferred);

// The arms of `factor` in design order (none when the design has no such factor).
std::vector<std::string> ArmsOf(const fieldwork::v1::TrialDesign& design, const std::string& factor);

// The arm of `factor` of one allocation ("" when it has none).
std::string ArmOf(const fieldwork::v1::Allocation& allocation, const std::string& factor);

struct ArmCount {
  int64_t randomised = 0;  // allocated, not withdrawn
  int64_t responded = 0;
};

// wave → arm → counts, from `respondents`; every arm of the factor and every wave appear,
// responses or not.
std::map<std::string, std::map<std::string, ArmCount>> ResponseByArmAndWave(
    const TrialSnapshot& snapshot, const std::string& factor);

// Cumulative response rate by arm, per wave, by days since the wave opened (or its first response
// when the wave has no opening time). One point per day on which someone responded.
std::vector<ReportResponseSeries> ResponseOverTime(const TrialSnapshot& snapshot,
                                                   const std::string& factor);

// The CV experiment: every answer "progress_cvNN" of a participant is one decision about CV NN,
// whose candidate name is position NN of the participant's order in the design's Latin-square
// factor. The decision's group is `candidate_groups[name]` (the name itself when unmapped) and its
// condition the participant's arm of `condition_factor` (default: the first factor with arms).
// Empty when the design has no Latin-square factor or no such answers. SE = sqrt(p(1-p)/n).
std::vector<ReportProgression> ProgressionRates(
    const TrialSnapshot& snapshot, const std::string& condition_factor,
    const std::map<std::string, std::string>& candidate_groups);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_TRIAL_SNAPSHOT_H_
