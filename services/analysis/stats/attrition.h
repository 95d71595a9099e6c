// Attrition: response rates by arm with tests of differential attrition, Lee (2009) trimming
// bounds, and inverse-probability-of-response weighting (a logistic response model on baseline
// covariates, then the weighted ITT regression among respondents).
#ifndef FIELDWORK_SERVICES_ANALYSIS_STATS_ATTRITION_H_
#define FIELDWORK_SERVICES_ANALYSIS_STATS_ATTRITION_H_

#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/analysis/stats/itt.h"
#include "services/analysis/stats/logistic.h"

namespace fieldwork::analysis {

struct ArmResponse {
  std::string arm;
  std::int64_t randomised = 0;
  std::int64_t responded = 0;
  double rate = 0;
};

struct AttritionReport {
  std::vector<ArmResponse> arms;  // control first
  double overall_rate = 0;
  // Pearson's chi-square test of independence of arm and response, as R's
  // chisq.test(table(arm, responded), correct = FALSE).
  double chi_square = 0;
  int chi_square_df = 0;
  double chi_square_p_value = 0;
  // The linear probability model responded ~ arm with HC2 SEs: each arm's difference in
  // response rate from control, and the joint Wald test.
  IttResult rate_differences;
  std::vector<std::string> warnings;
};

// `responded` is 0/1 per randomised participant.
absl::StatusOr<AttritionReport> AnalyseAttrition(const std::vector<std::string>& arm,
                                                 const Eigen::VectorXd& responded,
                                                 const std::string& control_arm);

// Lee (2009) bounds on the effect among participants who would respond whatever their arm.
// With response rates r_t (treated) and r_c (control), the arm with the higher rate is trimmed
// by q = (r_high - r_low) / r_high: the lower bound drops the top q of its respondents'
// outcomes (the bottom q when the control arm is trimmed), the upper bound the other end.
// Trimming is exact: of m sorted respondents, the kept weight is (1 - q) m, and the
// observation straddling the cut enters with its fractional weight, so ties and small arms
// need no rounding rule. Bounds are differences in (trimmed) means, treated minus control.
struct LeeBounds {
  double lower = 0;
  double upper = 0;
  double trim_share = 0;    // q
  std::string trimmed_arm;  // "treated" or "control"
  double rate_treated = 0;
  double rate_control = 0;
  std::int64_t respondents_treated = 0;
  std::int64_t respondents_control = 0;
};

// outcome: one per randomised participant (ignored where responded is 0); treated and
// responded: 0/1 per participant.
absl::StatusOr<LeeBounds> ComputeLeeBounds(const Eigen::VectorXd& outcome,
                                           const Eigen::VectorXd& treated,
                                           const Eigen::VectorXd& responded);

// Inverse probability of response weighting. All randomised participants are passed (outcome
// NaN for non-respondents: a row responded iff its outcome is finite). The response model is
// a logistic regression of response on (intercept, arm dummies when
// response_model_includes_arm, response_covariates); each respondent gets weight 1 / p_hat
// (w / p_hat when input.itt.weights gives design weights w; the response model itself is
// unweighted), and the ITT regression (input.itt's covariates, strata, options) is fitted to
// respondents with those weights.
struct IpwInput {
  IttInput itt;                                // every randomised participant
  std::vector<Covariate> response_covariates;  // baseline covariates, all participants
  bool response_model_includes_arm = true;
};

struct IpwResult {
  LogisticFit response_model;
  Eigen::VectorXd weights;  // per participant: 1 / p_hat (or w / p_hat) for respondents, else NaN
  IttResult itt;            // weighted, respondents only
  std::vector<std::string> warnings;
};

absl::StatusOr<IpwResult> EstimateIttWithIpw(const IpwInput& input, const IttOptions& options = {});

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_STATS_ATTRITION_H_
