// Simulated survey responses for one wave, in the Qualtrics CSV layout survey-ingest imports.
// Pure and deterministic from the seed.
//
// The model. Each participant has a trait Z ~ N(0, 1), the same in every wave (its stream is
// keyed by the seed and the participant only), shifted by `latent_shift` in the treated arms.
// Each item's answer is m + dir·s·(0.7·Z + 0.71·e) with fresh noise e per wave and item,
// rounded to the item's grid and clamped to its range (m the middle of the range, s a fifth of
// it; scored choices by their order of score). dir is −1 for items that enter the target score
// reversed (reverse-keyed, or in a composite component with a negative weight), so the target
// score rises with Z. `latent_shift` is calibrated (on 20,000 untreated draws scored by the
// real Scorer) so that the target's standardised mean difference, treated minus control, is
// the requested effect.
//
// Response: the control arm responds with probability rate + attrition/2, the other arms with
// rate − attrition/2 (attrition in proportion points; positive means more loss in treatment),
// each clamped to [0, 1]. Withdrawn participants never respond (survey-ingest refuses them),
// nor do leavers whose left_on is before the wave opens (they stay in the arm's denominator).
#ifndef FIELDWORK_SERVICES_CLI_SIMULATE_RESPONSES_SIM_H_
#define FIELDWORK_SERVICES_CLI_SIMULATE_RESPONSES_SIM_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/cli/simulate/allocations.h"
#include "services/survey_ingest/domain/scoring.h"

namespace fieldwork::cli::simulate {

struct ResponseSimOptions {
  std::string wave_id;
  std::uint64_t seed = 1;
  double effect = 0;                  // standardised mean difference of the target score
  double response_rate = 0.8;         // in [0, 1]
  double differential_attrition = 0;  // proportion points, e.g. 0.10 for 10 points
  std::string target;                 // a scale or composite id; default: see TargetScore
  std::string factor;                 // the factor whose arms differ; default the first
  std::vector<std::string> arms;      // that factor's arms, in design order
  std::string control_arm;            // default "control" when an arm has that name, else the last
  // Submission times are drawn inside [opens, closes) when both are given.
  std::optional<absl::Time> opens;
  std::optional<absl::Time> closes;
};

struct ArmResponses {
  std::int64_t eligible = 0;  // allocated and not withdrawn
  std::int64_t responded = 0;
};

// One simulated respondent's answers by item id (items left blank are absent).
struct ParticipantAnswers {
  std::string participant_id;
  std::map<std::string, std::string> answers;
};

struct SimulatedResponses {
  std::string csv;         // Qualtrics layout: names, question texts, ImportIds, then rows
  std::vector<ParticipantAnswers> answered;  // the same responses, in the rows' order
  // The eligible participants who do not respond, with the answers they would give: what one
  // who opens the link and leaves part-way types on the pages before leaving.
  std::vector<ParticipantAnswers> unanswered;
  std::int64_t rows = 0;   // responses written (every one valid for the instrument)
  std::string target;      // the score the effect was put on
  bool target_is_composite = false;
  double latent_shift = 0;  // the shift of Z giving the requested effect
  std::map<std::string, ArmResponses> by_arm;
  std::int64_t withdrawn = 0;
  std::int64_t left_before = 0;  // would have responded, but left before the wave opened
};

// The default target: the instrument's first composite, else its scale with the most items.
std::string TargetScore(const survey_ingest::Instrument& instrument);

absl::StatusOr<SimulatedResponses> SimulateResponses(const survey_ingest::Scorer& scorer,
                                                     const std::vector<SimAllocation>& allocations,
                                                     const ResponseSimOptions& options);

}  // namespace fieldwork::cli::simulate

#endif  // FIELDWORK_SERVICES_CLI_SIMULATE_RESPONSES_SIM_H_
