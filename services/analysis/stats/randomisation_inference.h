// Randomisation inference for the sharp null of no effect for anyone: the test statistic
// recomputed under redrawn assignments. Generic over how assignments are redrawn: the caller
// passes a callback that reproduces the trial's randomisation method for draw i (e.g. the
// randomisation library's algorithm with a per-draw seed), so this code knows no method.
#ifndef FIELDWORK_SERVICES_ANALYSIS_STATS_RANDOMISATION_INFERENCE_H_
#define FIELDWORK_SERVICES_ANALYSIS_STATS_RANDOMISATION_INFERENCE_H_

#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fieldwork::analysis {

// Fills `assignment` (already sized to n) with draw `draw`'s assignment: 1 treated, 0 control.
// Must be deterministic in `draw` for results to be reproducible.
using AssignmentDraw = std::function<absl::Status(std::int64_t draw, std::vector<int>& assignment)>;

struct RandomisationInferenceOptions {
  std::int64_t draws = 10000;
  // p = #{|T_i| >= |T_obs|} / draws (two-sided; one-sided counts T_i >= T_obs). With
  // include_observed, (count + 1) / (draws + 1), which is never 0.
  bool two_sided = true;
  bool include_observed = false;
  bool keep_distribution = false;  // return every T_i
};

struct RandomisationInferenceResult {
  double observed = 0;
  std::int64_t draws = 0;
  std::int64_t as_or_more_extreme = 0;
  double p_value = 0;
  double monte_carlo_se = 0;  // sqrt(p (1 - p) / draws)
  std::vector<double> distribution;
};

// The statistic of an assignment (for the generic test).
using AssignmentStatistic = std::function<double(const std::vector<int>& assignment)>;

absl::StatusOr<RandomisationInferenceResult> RandomisationTest(
    const std::vector<int>& observed_assignment, const AssignmentStatistic& statistic,
    const AssignmentDraw& draw, const RandomisationInferenceOptions& options = {});

// T = mean(y | treated) - mean(y | control).
absl::StatusOr<RandomisationInferenceResult> RandomisationTestDifferenceInMeans(
    const Eigen::VectorXd& y, const std::vector<int>& assignment, const AssignmentDraw& draw,
    const RandomisationInferenceOptions& options = {});

// T = the OLS coefficient of the treatment indicator in y ~ treatment + covariates, where
// `covariates` holds the other columns (include a column of ones for the intercept). Computed
// by Frisch–Waugh–Lovell against the fixed covariates, O(n p) per draw.
absl::StatusOr<RandomisationInferenceResult> RandomisationTestOlsCoefficient(
    const Eigen::VectorXd& y, const std::vector<int>& assignment, const Eigen::MatrixXd& covariates,
    const AssignmentDraw& draw, const RandomisationInferenceOptions& options = {});

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_STATS_RANDOMISATION_INFERENCE_H_
