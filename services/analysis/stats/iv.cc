#include "services/analysis/stats/iv.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/analysis/stats/design.h"
#include "services/analysis/stats/ols_internal.h"

namespace fieldwork::analysis {
namespace {

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

absl::StatusOr<IvFit> FitIv(const Eigen::MatrixXd& x, const std::vector<std::string>& x_names,
                            const Eigen::MatrixXd& z, const std::vector<std::string>& z_names,
                            const Eigen::VectorXd& y, const OlsOptions& options) {
  const Eigen::Index n = y.size();
  if (n == 0) return absl::InvalidArgumentError("iv: empty input (no observations)");
  if (x.rows() != n || z.rows() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("iv: y has ", n, " rows, x ", x.rows(), " and z ", z.rows()));
  }
  if (static_cast<Eigen::Index>(x_names.size()) != x.cols() ||
      static_cast<Eigen::Index>(z_names.size()) != z.cols()) {
    return absl::InvalidArgumentError("iv: the number of names does not match the columns");
  }
  if (absl::Status s = internal::CheckFinite(x, x_names, "iv"); !s.ok()) return s;
  if (absl::Status s = internal::CheckFinite(z, z_names, "iv"); !s.ok()) return s;
  if (!y.allFinite()) {
    return absl::InvalidArgumentError("iv: the outcome has a missing or non-finite value");
  }
  std::vector<int> endogenous;
  std::vector<int> excluded;
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    if (!Contains(z_names, x_names[static_cast<size_t>(j)])) {
      endogenous.push_back(static_cast<int>(j));
    }
  }
  for (Eigen::Index j = 0; j < z.cols(); ++j) {
    if (!Contains(x_names, z_names[static_cast<size_t>(j)])) {
      excluded.push_back(static_cast<int>(j));
    }
  }
  if (endogenous.empty()) {
    return absl::InvalidArgumentError(
        "iv: every regressor is also an instrument (nothing is endogenous): use OLS");
  }
  if (excluded.size() < endogenous.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("iv: ", endogenous.size(), " endogenous regressor(s) but only ",
                     excluded.size(), " excluded instrument(s): the model is not identified"));
  }
  absl::StatusOr<internal::PreparedOptions> prepared = internal::PrepareOptions(options, n, "iv");
  if (!prepared.ok()) return prepared.status();
  const internal::PreparedOptions& po = *prepared;
  const Eigen::VectorXd* w = po.weighted ? &po.w_scaled : nullptr;
  const Eigen::VectorXd sw =
      po.weighted ? Eigen::VectorXd(po.w_scaled.cwiseSqrt()) : Eigen::VectorXd::Ones(n);

  // First stage: every column of x on z (exogenous columns are reproduced).
  const internal::RankRevealingQr qz = internal::QrWithLimitedPivoting(
      z.array().colwise() * sw.array(), x.array().colwise() * sw.array());
  const Eigen::MatrixXd gamma = internal::UpperInverse(qz.r) * qz.qty;
  const Eigen::MatrixXd xhat = internal::SelectColumns(z, qz.kept) * gamma;

  // Second stage.
  const internal::RankRevealingQr qr =
      internal::QrWithLimitedPivoting(xhat.array().colwise() * sw.array(), y.cwiseProduct(sw));
  IvFit out;
  OlsFit& fit = out.fit;
  fit.se_type = po.type;
  fit.alpha = options.alpha;
  fit.n = n;
  fit.k = static_cast<int>(x.cols());
  fit.weighted = po.weighted;
  fit.n_clusters = po.clustered ? po.clusters.count : 0;
  fit.kept = qr.kept;
  fit.rank = static_cast<int>(qr.kept.size());
  fit.df_residual = n - fit.rank;
  if (fit.rank == 0) return absl::InvalidArgumentError("iv: every fitted regressor is zero");
  if (fit.df_residual <= 0) {
    return absl::InvalidArgumentError("iv: no residual degrees of freedom");
  }
  internal::AliasWarning(qr.aliased, x_names, &fit);
  const Eigen::MatrixXd rinv = internal::UpperInverse(qr.r);
  fit.estimate = rinv * qr.qty.col(0);
  const Eigen::MatrixXd x_kept = internal::SelectColumns(x, qr.kept);
  const Eigen::MatrixXd xhat_kept = internal::SelectColumns(xhat, qr.kept);
  fit.fitted = x_kept * fit.estimate;
  fit.residuals = y - fit.fitted;
  internal::VarianceResult var =
      internal::SandwichVariance(xhat_kept, w, fit.residuals, rinv, po.type,
                                 po.clustered ? &po.clusters : nullptr, fit.df_residual);
  fit.vcov = std::move(var.vcov);
  fit.cr2 = std::move(var.cr2);
  for (std::string& warning : var.warnings) fit.warnings.push_back(std::move(warning));
  internal::FillRSquared(y, x_kept, w, &fit);
  internal::FillCoefficientTable(x_names, var.df, &fit);

  // First-stage F of the excluded instruments, per endogenous regressor.
  for (int j : endogenous) {
    FirstStage fs;
    fs.endogenous = x_names[static_cast<size_t>(j)];
    absl::StatusOr<OlsFit> first = FitOls(z, z_names, x.col(j), options);
    if (!first.ok()) {
      out.warnings.push_back(absl::StrCat("first stage of '", fs.endogenous,
                                          "' not computed: ", first.status().message()));
      continue;
    }
    std::vector<int> rows;
    for (int e : excluded) {
      if (!first->coefficients[static_cast<size_t>(e)].aliased) rows.push_back(e);
    }
    Eigen::MatrixXd l = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(rows.size()), z.cols());
    for (size_t r = 0; r < rows.size(); ++r) l(static_cast<Eigen::Index>(r), rows[r]) = 1.0;
    absl::StatusOr<WaldTest> wald = TestLinearRestrictions(*first, l);
    if (!wald.ok()) {
      out.warnings.push_back(absl::StrCat("first-stage F of '", fs.endogenous,
                                          "' not computed: ", wald.status().message()));
      continue;
    }
    fs.f_statistic = wald->f_statistic;
    fs.numerator_df = wald->numerator_df;
    fs.denominator_df = wald->denominator_df;
    fs.p_value = wald->p_value;
    if (fs.f_statistic < 10.0) {
      out.warnings.push_back(absl::StrCat("weak instrument: first-stage F of '", fs.endogenous,
                                          "' is ", fs.f_statistic, " (< 10)"));
    }
    out.first_stages.push_back(fs);
  }
  out.warnings.insert(out.warnings.begin(), fit.warnings.begin(), fit.warnings.end());
  return out;
}

absl::StatusOr<IvFit> EstimateTakeUpEffect(const TakeUpInput& input, const IttOptions& options) {
  const IttInput& in = input.itt;
  const Eigen::Index n = in.outcome.size();
  if (n == 0) return absl::InvalidArgumentError("take-up: empty input (no participants)");
  if (input.took_up.size() != n || static_cast<Eigen::Index>(in.arm.size()) != n) {
    return absl::InvalidArgumentError("take-up: outcome, arm and took_up differ in length");
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    if (input.took_up(i) != 0.0 && input.took_up(i) != 1.0) {
      return absl::InvalidArgumentError(
          absl::StrCat("take-up: took_up of row ", i, " is ", input.took_up(i), ", not 0 or 1"));
    }
  }
  absl::StatusOr<Factor> arm = MakeFactor(in.arm, in.control_arm);
  if (!arm.ok()) return arm.status();
  if (arm->levels.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("take-up: needs exactly two arms (offered vs control); got ",
                     arm->levels.size(), ": ", absl::StrJoin(arm->levels, ", ")));
  }
  Design exog;
  exog.Append(Eigen::VectorXd::Ones(n), "(Intercept)");
  for (const Covariate& c : in.covariates) {
    if (c.values.size() != n) {
      return absl::InvalidArgumentError(
          absl::StrCat("take-up: covariate '", c.name, "' has the wrong length"));
    }
    exog.Append(c.values, c.name);
  }
  if (!in.strata.empty()) {
    absl::StatusOr<Factor> strata = MakeFactor(in.strata);
    if (!strata.ok()) return strata.status();
    exog.Append(Dummies(*strata), DummyNames(*strata, "strata"));
  }
  Design x;
  x.Append(exog.x.col(0), "(Intercept)");
  x.Append(input.took_up, "took_up");
  x.Append(exog.x.rightCols(exog.x.cols() - 1),
           std::vector<std::string>(exog.names.begin() + 1, exog.names.end()));
  Design z;
  z.Append(exog.x.col(0), "(Intercept)");
  z.Append(Dummies(*arm), DummyNames(*arm, "arm"));
  z.Append(exog.x.rightCols(exog.x.cols() - 1),
           std::vector<std::string>(exog.names.begin() + 1, exog.names.end()));
  OlsOptions ols;
  ols.se_type = options.se_type;
  ols.alpha = options.alpha;
  ols.weights = in.weights;
  ols.clusters = in.clusters;
  return FitIv(x.x, x.names, z.x, z.names, in.outcome, ols);
}

}  // namespace fieldwork::analysis
