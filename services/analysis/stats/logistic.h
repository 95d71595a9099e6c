// Logistic regression by iteratively reweighted least squares, reproducing R's glm(family =
// binomial) step for step (same start, same convergence rule, SEs from the last weighted fit).
#ifndef FIELDWORK_SERVICES_ANALYSIS_STATS_LOGISTIC_H_
#define FIELDWORK_SERVICES_ANALYSIS_STATS_LOGISTIC_H_

#include <Eigen/Dense>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fieldwork::analysis {

struct LogisticOptions {
  int max_iterations = 25;  // glm.control(maxit)
  double epsilon = 1e-8;    // glm.control(epsilon): |dev - dev_old| / (|dev| + 0.1) < epsilon
};

struct LogisticFit {
  std::vector<std::string> terms;
  std::vector<bool> aliased;  // collinear columns, as lm: NaN estimates
  Eigen::VectorXd estimate;   // one per column (NaN when aliased)
  Eigen::VectorXd std_error;
  Eigen::VectorXd z;
  Eigen::VectorXd p_value;  // two-sided normal, as summary.glm
  Eigen::VectorXd fitted;   // predicted probability per row
  double deviance = 0;
  double null_deviance = 0;  // of the intercept-only model (the mean) when x has an intercept
  int iterations = 0;
  bool converged = false;
  std::vector<std::string> warnings;  // non-convergence, fitted probabilities 0 or 1
};

// y is 0/1 per row; x includes a column of ones for an intercept.
absl::StatusOr<LogisticFit> FitLogistic(const Eigen::MatrixXd& x,
                                        const std::vector<std::string>& names,
                                        const Eigen::VectorXd& y,
                                        const LogisticOptions& options = {});

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_STATS_LOGISTIC_H_
