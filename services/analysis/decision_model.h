// The long-format outcome of an online experiment (ESTIMATOR_LONG_INTERACTION): each analysed
// participant's decisions of one block, and the interaction of a decision attribute with the
// plan's arms over them, one row per decision and SEs clustered by participant.
#ifndef FIELDWORK_SERVICES_ANALYSIS_DECISION_MODEL_H_
#define FIELDWORK_SERVICES_ANALYSIS_DECISION_MODEL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fieldwork/v1/analysis.pb.h"
#include "services/analysis/join.h"
#include "services/analysis/stats/itt.h"

namespace fieldwork::analysis {

// One participant's usable decisions, in the order stored.
struct ParticipantDecisions {
  std::vector<double> values;
  std::vector<std::string> levels;  // the attribute's value on each decision
};

// Decisions of the block that could not enter the model, by reason.
struct SkippedDecisions {
  int64_t unanswered = 0;
  int64_t not_numeric = 0;
  int64_t without_attribute = 0;
};

// The decisions of `source`'s block in the participant's counted response to its wave (none
// when there is no such response); unusable ones are counted in `skipped`.
ParticipantDecisions ReadDecisions(const JoinedTrial& joined, const JoinedParticipant& participant,
                                   const fieldwork::v1::OutcomeSource::Decisions& source,
                                   const std::string& attribute, SkippedDecisions& skipped);

// A warning per kind of skipped decision (none when nothing was skipped).
std::vector<std::string> SkippedDecisionWarnings(const SkippedDecisions& skipped,
                                                 const std::string& attribute);

// The model's data: one entry per participant with decisions (a "respondent").
struct DecisionModelInput {
  std::string factor;
  std::string control_arm;
  std::vector<std::string> arm_order;  // the factor's arms, control first
  std::map<std::string, int64_t> randomised;  // analysed participants per arm
  fieldwork::v1::LongInteraction interaction;
  double alpha = 0.05;
  fieldwork::v1::SeType se_type = fieldwork::v1::SE_TYPE_UNSPECIFIED;
  std::vector<std::string> arms;                  // per respondent
  std::vector<ParticipantDecisions> decisions;    // per respondent
  std::vector<Covariate> covariates;              // per respondent, imputed
  std::vector<double> weights;                    // per respondent; empty: unweighted
};

// Fits the model and fills `result`: n (decisions), each arm's figures over its decisions,
// se_type, and `interaction`; a model that cannot be fitted leaves a warning instead.
void FitDecisionModel(const DecisionModelInput& input, fieldwork::v1::OutcomeResult& result);

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_DECISION_MODEL_H_
