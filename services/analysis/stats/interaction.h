// The long-format interaction model of a within-participant experiment (the CV experiment:
// ten decisions per participant; the interaction of the candidate's ethnicity, which varies
// within participants, and the participant's condition), with SEs clustered by participant.
#ifndef FIELDWORK_SERVICES_ANALYSIS_STATS_INTERACTION_H_
#define FIELDWORK_SERVICES_ANALYSIS_STATS_INTERACTION_H_

#include <Eigen/Dense>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analysis/stats/itt.h"
#include "services/analysis/stats/ols.h"

namespace fieldwork::analysis {

struct FactorColumn {
  std::string name;                 // prefix of the dummies' names, as R: name + level
  std::vector<std::string> values;  // one per row
  std::string reference;            // the reference level; must occur
};

struct InteractionInput {
  Eigen::VectorXd outcome;             // one per row (decision)
  FactorColumn a;                      // e.g. the candidate's ethnicity
  FactorColumn b;                      // e.g. the participant's condition
  std::vector<Covariate> covariates;   // optional
  std::vector<std::int64_t> clusters;  // e.g. participant id; empty: not clustered
  Eigen::VectorXd weights;             // optional
};

struct InteractionOptions {
  std::optional<SeType> se_type;  // default CR2 with clusters, HC2 without
  double alpha = 0.05;
};

// Effect of a's level against a's reference among rows with b's level.
struct SimpleEffect {
  std::string a_level;
  std::string b_level;
  LinearCombination effect;  // df: the contrast's own Bell–McCaffrey df under CR2
};

// The model's mean of one a × b cell, the covariates at their means over all rows.
struct CellMean {
  std::string a_level;
  std::string b_level;
  std::int64_t n = 0;  // rows in the cell
  LinearCombination mean;
};

struct InteractionResult {
  // Columns as R's model.matrix(~ a * b + covariates): (Intercept), a dummies, b dummies,
  // covariates, then a:b products with a's levels varying fastest.
  OlsFit fit;
  std::vector<SimpleEffect> simple_effects;  // every non-reference a level in every b level
  // The other way round: b's level (SimpleEffect::b_level) against b's reference among rows
  // with a's level (SimpleEffect::a_level), for every a level, reference first.
  std::vector<SimpleEffect> b_simple_effects;
  std::vector<CellMean> cells;  // every a level within every b level, references first
  WaldTest interaction_test;    // all a:b terms jointly zero
  std::vector<std::string> warnings;
};

absl::StatusOr<InteractionResult> FitInteraction(const InteractionInput& input,
                                                 const InteractionOptions& options = {});

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_STATS_INTERACTION_H_
