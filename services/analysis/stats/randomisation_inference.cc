#include "services/analysis/stats/randomisation_inference.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/analysis/stats/ols_internal.h"

namespace fieldwork::analysis {
namespace {

absl::Status CheckAssignment(const std::vector<int>& a, size_t n, const char* what) {
  if (a.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat("randomisation inference: ", what, " has ",
                                                   a.size(), " entries for ", n, " participants"));
  }
  size_t treated = 0;
  for (int v : a) {
    if (v != 0 && v != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("randomisation inference: ", what, " has a value ", v, ", not 0 or 1"));
    }
    treated += static_cast<size_t>(v);
  }
  if (treated == 0 || treated == n) {
    return absl::InvalidArgumentError(
        absl::StrCat("randomisation inference: ", what, " puts everyone in one arm"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RandomisationInferenceResult> RandomisationTest(
    const std::vector<int>& observed_assignment, const AssignmentStatistic& statistic,
    const AssignmentDraw& draw, const RandomisationInferenceOptions& options) {
  const size_t n = observed_assignment.size();
  if (n == 0) return absl::InvalidArgumentError("randomisation inference: empty input");
  if (options.draws <= 0) {
    return absl::InvalidArgumentError("randomisation inference: draws must be positive");
  }
  if (!draw || !statistic) {
    return absl::InvalidArgumentError("randomisation inference: missing callback");
  }
  if (absl::Status s = CheckAssignment(observed_assignment, n, "the observed assignment");
      !s.ok()) {
    return s;
  }
  RandomisationInferenceResult out;
  out.observed = statistic(observed_assignment);
  if (!std::isfinite(out.observed)) {
    return absl::InvalidArgumentError("randomisation inference: observed statistic not finite");
  }
  out.draws = options.draws;
  // Redraws equal to the observed statistic up to rounding count as "as extreme".
  const double tol = 1e-10 * std::max(1.0, std::fabs(out.observed));
  const double threshold = options.two_sided ? std::fabs(out.observed) - tol : out.observed - tol;
  if (options.keep_distribution) out.distribution.reserve(static_cast<size_t>(options.draws));
  std::vector<int> a(n);
  for (std::int64_t i = 0; i < options.draws; ++i) {
    if (absl::Status s = draw(i, a); !s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("randomisation inference: draw ", i, ": ", s.message()));
    }
    if (absl::Status s = CheckAssignment(a, n, "a redrawn assignment"); !s.ok()) return s;
    const double t = statistic(a);
    if ((options.two_sided ? std::fabs(t) : t) >= threshold) ++out.as_or_more_extreme;
    if (options.keep_distribution) out.distribution.push_back(t);
  }
  const auto d = static_cast<double>(options.draws);
  const auto c = static_cast<double>(out.as_or_more_extreme);
  out.p_value = options.include_observed ? (c + 1.0) / (d + 1.0) : c / d;
  out.monte_carlo_se = std::sqrt(out.p_value * (1.0 - out.p_value) / d);
  return out;
}

absl::StatusOr<RandomisationInferenceResult> RandomisationTestDifferenceInMeans(
    const Eigen::VectorXd& y, const std::vector<int>& assignment, const AssignmentDraw& draw,
    const RandomisationInferenceOptions& options) {
  if (static_cast<size_t>(y.size()) != assignment.size()) {
    return absl::InvalidArgumentError(
        "randomisation inference: outcome and assignment differ in length");
  }
  if (!y.allFinite()) {
    return absl::InvalidArgumentError("randomisation inference: an outcome is not finite");
  }
  const double total = y.sum();
  const auto n = static_cast<double>(y.size());
  const double* yd = y.data();
  auto stat = [total, n, yd](const std::vector<int>& a) {
    double treated_sum = 0;
    double treated_n = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i] == 1) {
        treated_sum += yd[i];
        treated_n += 1.0;
      }
    }
    return treated_sum / treated_n - (total - treated_sum) / (n - treated_n);
  };
  return RandomisationTest(assignment, stat, draw, options);
}

absl::StatusOr<RandomisationInferenceResult> RandomisationTestOlsCoefficient(
    const Eigen::VectorXd& y, const std::vector<int>& assignment, const Eigen::MatrixXd& covariates,
    const AssignmentDraw& draw, const RandomisationInferenceOptions& options) {
  const Eigen::Index n = y.size();
  if (static_cast<size_t>(n) != assignment.size() || covariates.rows() != n) {
    return absl::InvalidArgumentError(
        "randomisation inference: outcome, assignment and covariates differ in length");
  }
  if (!y.allFinite() || !covariates.allFinite()) {
    return absl::InvalidArgumentError(
        "randomisation inference: an outcome or covariate is not finite");
  }
  // Orthonormal basis Q of the covariates' column space; residualise y once.
  Eigen::MatrixXd q(n, 0);
  if (covariates.cols() > 0) {
    const internal::RankRevealingQr qr =
        internal::QrWithLimitedPivoting(covariates, Eigen::MatrixXd(n, 0));
    q = internal::SelectColumns(covariates, qr.kept) * internal::UpperInverse(qr.r);
  }
  const Eigen::VectorXd y_res = y - q * (q.transpose() * y);
  auto stat = [&q, &y_res, n](const std::vector<int>& a) {
    Eigen::VectorXd t(n);
    for (Eigen::Index i = 0; i < n; ++i) t(i) = a[static_cast<size_t>(i)];
    if (q.cols() > 0) t.noalias() -= q * (q.transpose() * t);
    const double tt = t.squaredNorm();
    return tt > 0 ? t.dot(y_res) / tt : std::nan("");
  };
  return RandomisationTest(assignment, stat, draw, options);
}

}  // namespace fieldwork::analysis
