#include "services/analysis/stats/itt.h"

#include <cmath>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/analysis/stats/design.h"

namespace fieldwork::analysis {
namespace {

constexpr char kArmPrefix[] = "arm";

absl::Status CheckInput(const IttInput& in) {
  const Eigen::Index n = in.outcome.size();
  if (n == 0) return absl::InvalidArgumentError("itt: empty input (no participants)");
  if (static_cast<Eigen::Index>(in.arm.size()) != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("itt: ", in.arm.size(), " arm labels for ", n, " outcomes"));
  }
  if (!in.outcome.allFinite()) {
    return absl::InvalidArgumentError(
        "itt: an outcome is missing or not finite; pass respondents only");
  }
  for (const Covariate& c : in.covariates) {
    if (c.values.size() != n) {
      return absl::InvalidArgumentError(absl::StrCat("itt: covariate '", c.name, "' has ",
                                                     c.values.size(), " values for ", n, " rows"));
    }
    if (!c.values.allFinite()) {
      return absl::InvalidArgumentError(
          absl::StrCat("itt: covariate '", c.name, "' has a missing or non-finite value"));
    }
  }
  if (!in.strata.empty() && static_cast<Eigen::Index>(in.strata.size()) != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("itt: ", in.strata.size(), " strata labels for ", n, " rows"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<IttResult> EstimateItt(const IttInput& in, const IttOptions& options) {
  if (absl::Status s = CheckInput(in); !s.ok()) return s;
  const Eigen::Index n = in.outcome.size();
  std::vector<std::string> order;
  if (!in.arm_order.empty()) {
    order.push_back(in.control_arm);
    for (const std::string& a : in.arm_order) {
      if (a != in.control_arm) order.push_back(a);
    }
  }
  absl::StatusOr<Factor> arm = MakeFactor(in.arm, in.control_arm, order);
  if (!arm.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("itt: arms: ", arm.status().message()));
  }
  if (arm->levels.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat("itt: every row is in the control arm '",
                                                   in.control_arm,
                                                   "'; an effect needs at least two arms"));
  }
  const auto n_arms = static_cast<Eigen::Index>(arm->levels.size());
  const Eigen::MatrixXd arm_dummies = Dummies(*arm);
  const std::vector<std::string> arm_names = DummyNames(*arm, kArmPrefix);

  // Covariates: the numeric ones, then the strata dummies.
  Design cov;
  for (const Covariate& c : in.covariates) cov.Append(c.values, c.name);
  if (!in.strata.empty()) {
    absl::StatusOr<Factor> strata = MakeFactor(in.strata);
    if (!strata.ok()) return strata.status();
    cov.Append(Dummies(*strata), DummyNames(*strata, "strata"));
  }
  const bool weighted = in.weights.size() > 0;
  if (weighted && in.weights.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("itt: ", in.weights.size(), " weights for ", n, " rows"));
  }
  Eigen::RowVectorXd cov_means;
  if (cov.x.cols() > 0) {
    cov_means = weighted ? Eigen::RowVectorXd((in.weights.transpose() * cov.x) / in.weights.sum())
                         : Eigen::RowVectorXd(cov.x.colwise().mean());
  }

  Design d;
  d.Append(Eigen::VectorXd::Ones(n), "(Intercept)");
  d.Append(arm_dummies, arm_names);
  if (cov.x.cols() > 0) {
    if (options.lin_adjustment) {
      const Eigen::MatrixXd centred = cov.x.rowwise() - cov_means;
      std::vector<std::string> centred_names;
      for (const std::string& name : cov.names) centred_names.push_back(name + "_c");
      d.Append(centred, centred_names);
      for (Eigen::Index j = 0; j < centred.cols(); ++j) {
        for (Eigen::Index a = 0; a < arm_dummies.cols(); ++a) {
          d.Append(Eigen::VectorXd(arm_dummies.col(a).cwiseProduct(centred.col(j))),
                   arm_names[static_cast<size_t>(a)] + ":" + centred_names[static_cast<size_t>(j)]);
        }
      }
    } else {
      d.Append(cov.x, cov.names);
    }
  }

  OlsOptions ols;
  ols.se_type = options.se_type;
  ols.weights = in.weights;
  ols.clusters = in.clusters;
  ols.alpha = options.alpha;
  absl::StatusOr<OlsFit> fit = FitOls(d.x, d.names, in.outcome, ols);
  if (!fit.ok()) return fit.status();

  IttResult result;
  result.lin_adjustment = options.lin_adjustment;
  result.fit = *std::move(fit);
  result.arms = arm->levels;
  result.warnings = result.fit.warnings;
  for (Eigen::Index a = 1; a < n_arms; ++a) {
    if (result.fit.coefficients[static_cast<size_t>(a)].aliased) {
      return absl::FailedPreconditionError(
          absl::StrCat("itt: the effect of arm '", arm->levels[static_cast<size_t>(a)],
                       "' is not estimable (its dummy is collinear with the covariates or "
                       "strata)"));
    }
  }

  const auto k = static_cast<Eigen::Index>(d.names.size());
  for (Eigen::Index a = 0; a < n_arms; ++a) {
    Eigen::VectorXd c = Eigen::VectorXd::Zero(k);
    c(0) = 1.0;
    if (a > 0) c(a) = 1.0;
    if (!options.lin_adjustment && cov.x.cols() > 0) {
      c.segment(n_arms, cov.x.cols()) = cov_means.transpose();
    }
    // Aliased covariate columns carry no estimate: they drop out of the prediction.
    for (size_t j = 0; j < result.fit.coefficients.size(); ++j) {
      if (result.fit.coefficients[j].aliased) c(static_cast<Eigen::Index>(j)) = 0.0;
    }
    result.arm_contrasts.push_back(c);

    ArmSummary s;
    s.arm = arm->levels[static_cast<size_t>(a)];
    double sum = 0;
    double sum_sq = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
      if (arm->codes[static_cast<size_t>(i)] != a) continue;
      ++s.n;
      sum += in.outcome(i);
    }
    s.raw_mean = sum / static_cast<double>(s.n);
    for (Eigen::Index i = 0; i < n; ++i) {
      if (arm->codes[static_cast<size_t>(i)] == a)
        sum_sq += std::pow(in.outcome(i) - s.raw_mean, 2);
    }
    s.raw_sd = s.n > 1 ? std::sqrt(sum_sq / static_cast<double>(s.n - 1))
                       : std::numeric_limits<double>::quiet_NaN();
    absl::StatusOr<LinearCombination> m = EstimateLinearCombination(result.fit, c);
    if (!m.ok()) return m.status();
    s.adjusted = *m;
    result.arm_summaries.push_back(std::move(s));
  }
  for (Eigen::Index a = 1; a < n_arms; ++a) {
    absl::StatusOr<LinearCombination> e =
        ContrastArms(result, arm->levels[static_cast<size_t>(a)], in.control_arm);
    if (!e.ok()) return e.status();
    result.effects.push_back({arm->levels[static_cast<size_t>(a)], in.control_arm, *e});
  }
  Eigen::MatrixXd l = Eigen::MatrixXd::Zero(n_arms - 1, k);
  for (Eigen::Index a = 1; a < n_arms; ++a) l(a - 1, a) = 1.0;
  absl::StatusOr<WaldTest> wald = TestLinearRestrictions(result.fit, l);
  if (wald.ok()) {
    result.joint_test = *wald;
  } else {
    result.joint_test.f_statistic = std::numeric_limits<double>::quiet_NaN();
    result.joint_test.p_value = std::numeric_limits<double>::quiet_NaN();
    result.warnings.push_back(
        absl::StrCat("joint test of the arms not computed: ", wald.status().message()));
  }
  return result;
}

absl::StatusOr<LinearCombination> ContrastArms(const IttResult& result, std::string_view arm,
                                               std::string_view versus) {
  int ia = -1;
  int iv = -1;
  for (size_t i = 0; i < result.arms.size(); ++i) {
    if (result.arms[i] == arm) ia = static_cast<int>(i);
    if (result.arms[i] == versus) iv = static_cast<int>(i);
  }
  if (ia < 0 || iv < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "itt: no arm named '", std::string(ia < 0 ? arm : versus), "' in this result"));
  }
  const Eigen::VectorXd c =
      result.arm_contrasts[static_cast<size_t>(ia)] - result.arm_contrasts[static_cast<size_t>(iv)];
  return EstimateLinearCombination(result.fit, c);
}

}  // namespace fieldwork::analysis
