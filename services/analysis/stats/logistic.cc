#include "services/analysis/stats/logistic.h"

#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/analysis/stats/distributions.h"
#include "services/analysis/stats/nan.h"
#include "services/analysis/stats/ols_internal.h"

namespace fieldwork::analysis {
namespace {


// R's binomial()$linkinv clamps eta so that mu stays inside (eps, 1 - eps).
double InverseLogit(double eta) {
  constexpr double kThresh = 30.0;
  constexpr double kEps = std::numeric_limits<double>::epsilon();
  if (eta < -kThresh) return kEps;
  if (eta > kThresh) return 1.0 - kEps;
  return 1.0 / (1.0 + std::exp(-eta));
}

double Deviance(const Eigen::VectorXd& y, const Eigen::VectorXd& mu) {
  double dev = 0;
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    dev += y(i) == 1.0 ? -2.0 * std::log(mu(i)) : -2.0 * std::log(1.0 - mu(i));
  }
  return dev;
}

}  // namespace

absl::StatusOr<LogisticFit> FitLogistic(const Eigen::MatrixXd& x,
                                        const std::vector<std::string>& names,
                                        const Eigen::VectorXd& y, const LogisticOptions& options) {
  const Eigen::Index n = x.rows();
  const Eigen::Index k = x.cols();
  if (n == 0) return absl::InvalidArgumentError("logistic: empty input (no observations)");
  if (y.size() != n || static_cast<Eigen::Index>(names.size()) != k) {
    return absl::InvalidArgumentError("logistic: y, x and names differ in size");
  }
  if (absl::Status s = internal::CheckFinite(x, names, "logistic"); !s.ok()) return s;
  for (Eigen::Index i = 0; i < n; ++i) {
    if (y(i) != 0.0 && y(i) != 1.0) {
      return absl::InvalidArgumentError(
          absl::StrCat("logistic: y of row ", i, " is ", y(i), ", not 0 or 1"));
    }
  }
  LogisticFit fit;
  fit.terms = names;
  // glm's start: mu = (y + 0.5) / 2.
  Eigen::VectorXd mu = (y.array() + 0.5) / 2.0;
  Eigen::VectorXd eta = (mu.array() / (1.0 - mu.array())).log();
  double dev_old = Deviance(y, mu);
  internal::RankRevealingQr qr;
  Eigen::VectorXd beta;
  for (int iter = 1; iter <= options.max_iterations; ++iter) {
    const Eigen::ArrayXd var = mu.array() * (1.0 - mu.array());  // = dmu/deta for the logit
    const Eigen::VectorXd z = eta.array() + (y.array() - mu.array()) / var;
    const Eigen::VectorXd w = var.sqrt();
    qr = internal::QrWithLimitedPivoting(x.array().colwise() * w.array(), z.cwiseProduct(w));
    beta = internal::UpperInverse(qr.r) * qr.qty.col(0);
    eta = internal::SelectColumns(x, qr.kept) * beta;
    for (Eigen::Index i = 0; i < n; ++i) mu(i) = InverseLogit(eta(i));
    const double dev = Deviance(y, mu);
    if (!std::isfinite(dev)) {
      return absl::FailedPreconditionError(
          "logistic: the deviance became non-finite; the model cannot be fitted");
    }
    fit.iterations = iter;
    if (std::fabs(dev - dev_old) / (std::fabs(dev) + 0.1) < options.epsilon) {
      fit.converged = true;
      fit.deviance = dev;
      break;
    }
    dev_old = dev;
    fit.deviance = dev;
  }
  if (!fit.converged) {
    fit.warnings.push_back(absl::StrCat("logistic regression did not converge in ",
                                        options.max_iterations, " iterations"));
  }
  const double eps = 10.0 * std::numeric_limits<double>::epsilon();
  if ((mu.array() > 1.0 - eps).any() || (mu.array() < eps).any()) {
    fit.warnings.push_back(
        "fitted probabilities numerically 0 or 1 occurred (separation): estimates and weights "
        "for those rows are unreliable");
  }
  fit.fitted = mu;
  fit.aliased.assign(static_cast<size_t>(k), true);
  fit.estimate = Eigen::VectorXd::Constant(k, kNaN);
  fit.std_error = Eigen::VectorXd::Constant(k, kNaN);
  fit.z = Eigen::VectorXd::Constant(k, kNaN);
  fit.p_value = Eigen::VectorXd::Constant(k, kNaN);
  // SEs from the last weighted least-squares fit, as summary.glm.
  const Eigen::MatrixXd rinv = internal::UpperInverse(qr.r);
  for (size_t j = 0; j < qr.kept.size(); ++j) {
    const int col = qr.kept[j];
    const auto jj = static_cast<Eigen::Index>(j);
    fit.aliased[static_cast<size_t>(col)] = false;
    fit.estimate(col) = beta(jj);
    fit.std_error(col) = rinv.row(jj).norm();
    fit.z(col) = fit.estimate(col) / fit.std_error(col);
    fit.p_value(col) = 2.0 * NormalUpperTail(std::fabs(fit.z(col)));
  }
  if (!qr.aliased.empty()) {
    fit.warnings.push_back("logistic: some columns are collinear and were not estimated (NaN)");
  }
  const double ybar = y.mean();
  fit.null_deviance = Deviance(y, Eigen::VectorXd::Constant(n, ybar));
  return fit;
}

}  // namespace fieldwork::analysis
