// Intent-to-treat estimates for a trial with two or more arms: the outcome regressed on arm
// dummies (a named control arm as reference), baseline covariates and strata (or site) fixed
// effects, optionally with Lin's (2013) interacted adjustment; adjusted mean and SE per arm
// (the report's M and SE), each arm's effect, any contrast of two arms, and a joint Wald test.
#ifndef FIELDWORK_SERVICES_ANALYSIS_STATS_ITT_H_
#define FIELDWORK_SERVICES_ANALYSIS_STATS_ITT_H_

#include <Eigen/Dense>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analysis/stats/ols.h"

namespace fieldwork::analysis {

struct Covariate {
  std::string name;
  Eigen::VectorXd values;  // one per row, finite
};

struct IttInput {
  Eigen::VectorXd outcome;             // one per participant (respondents only; no missing values)
  std::vector<std::string> arm;        // arm of each row
  std::string control_arm;             // the reference arm; must occur
  std::vector<std::string> arm_order;  // optional order of the other arms (default: sorted)
  std::vector<Covariate> covariates;   // e.g. the baseline outcome
  std::vector<std::string> strata;     // optional: fixed effects (stratum, site) per row
  Eigen::VectorXd weights;             // optional (e.g. inverse probability of response)
  std::vector<std::int64_t> clusters;  // optional (cluster-randomised designs)
};

struct IttOptions {
  // Lin (2013), as estimatr::lm_lin: covariates (and strata dummies) centred at their sample
  // means (weighted means when weighted) and interacted with every arm dummy.
  bool lin_adjustment = false;
  std::optional<SeType> se_type;  // default HC2, CR2 with clusters
  double alpha = 0.05;
};

// The report's M and SE for one arm. adjusted is the model's prediction for a participant of
// this arm at the sample means of the covariates (and the sample shares of the strata), i.e.
// c'b with c = (1, arm dummy, covariate means, strata shares); its SE is sqrt(c'Vc) with the
// fit's robust V, with t inference as a coefficient (df of the fit; Bell–McCaffrey for CR2).
// Under Lin's adjustment the covariates are centred, so this is intercept + arm coefficient.
// Means are weighted when the fit is. Without covariates or strata it is the arm's raw mean.
struct ArmSummary {
  std::string arm;
  std::int64_t n = 0;
  double raw_mean = 0;
  double raw_sd = 0;  // sample SD (n - 1), NaN for a single row
  LinearCombination adjusted;
};

struct ArmEffect {
  std::string arm;
  std::string versus;
  LinearCombination effect;  // arm - versus, adjusted
};

struct IttResult {
  OlsFit fit;
  std::vector<std::string> arms;  // control first, then the others in design order
  std::vector<ArmSummary> arm_summaries;
  std::vector<ArmEffect> effects;  // each arm against the control
  // Joint test that every arm's effect is zero (q = arms - 1), with the robust vcov.
  WaldTest joint_test;
  std::vector<std::string> warnings;  // the fit's, plus the helper's own
  bool lin_adjustment = false;

  // Internal: maps an arm to its adjusted-mean contrast vector.
  std::vector<Eigen::VectorXd> arm_contrasts;
};

absl::StatusOr<IttResult> EstimateItt(const IttInput& input, const IttOptions& options = {});

// The adjusted difference arm - versus, for any two arms of the result.
absl::StatusOr<LinearCombination> ContrastArms(const IttResult& result, std::string_view arm,
                                               std::string_view versus);

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_STATS_ITT_H_
