#include "services/analysis/stats/attrition.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/analysis/stats/design.h"
#include "services/analysis/stats/distributions.h"

namespace fieldwork::analysis {
namespace {

absl::Status CheckBinary(const Eigen::VectorXd& v, const char* what) {
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    if (v(i) != 0.0 && v(i) != 1.0) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " of row ", i, " is ", v(i), ", not 0 or 1"));
    }
  }
  return absl::OkStatus();
}

// Mean of the sorted values with total weight keep taken from the front.
double TrimmedMean(std::vector<double> v, double keep_share, bool keep_smallest) {
  if (keep_smallest) {
    std::sort(v.begin(), v.end());
  } else {
    std::sort(v.begin(), v.end(), std::greater<>());
  }
  const double keep = keep_share * static_cast<double>(v.size());
  double sum = 0;
  double weight = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const double w = std::clamp(keep - static_cast<double>(i), 0.0, 1.0);
    if (w <= 0.0) break;
    sum += w * v[i];
    weight += w;
  }
  return sum / weight;
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

}  // namespace

absl::StatusOr<AttritionReport> AnalyseAttrition(const std::vector<std::string>& arm,
                                                 const Eigen::VectorXd& responded,
                                                 const std::string& control_arm) {
  const Eigen::Index n = responded.size();
  if (n == 0) return absl::InvalidArgumentError("attrition: empty input (nobody randomised)");
  if (static_cast<Eigen::Index>(arm.size()) != n) {
    return absl::InvalidArgumentError("attrition: arm and responded differ in length");
  }
  if (absl::Status s = CheckBinary(responded, "attrition: responded"); !s.ok()) return s;
  absl::StatusOr<Factor> f = MakeFactor(arm, control_arm);
  if (!f.ok()) return f.status();
  AttritionReport out;
  const size_t k = f->levels.size();
  out.arms.resize(k);
  for (size_t a = 0; a < k; ++a) out.arms[a].arm = f->levels[a];
  for (Eigen::Index i = 0; i < n; ++i) {
    ArmResponse& r = out.arms[static_cast<size_t>(f->codes[static_cast<size_t>(i)])];
    ++r.randomised;
    if (responded(i) == 1.0) ++r.responded;
  }
  const double total_responded = responded.sum();
  out.overall_rate = total_responded / static_cast<double>(n);
  double chi = 0;
  bool small_expected = false;
  for (ArmResponse& r : out.arms) {
    r.rate = static_cast<double>(r.responded) / static_cast<double>(r.randomised);
    const double e1 = static_cast<double>(r.randomised) * out.overall_rate;
    const double e0 = static_cast<double>(r.randomised) - e1;
    if (e1 < 5.0 || e0 < 5.0) small_expected = true;
    const auto o1 = static_cast<double>(r.responded);
    const double o0 = static_cast<double>(r.randomised) - o1;
    if (e1 > 0) chi += (o1 - e1) * (o1 - e1) / e1;
    if (e0 > 0) chi += (o0 - e0) * (o0 - e0) / e0;
  }
  out.chi_square = chi;
  out.chi_square_df = static_cast<int>(k) - 1;
  if (total_responded == 0.0 || total_responded == static_cast<double>(n)) {
    // No test, so no caveat about its approximation either.
    out.chi_square_p_value = std::nan("");
    out.warnings.push_back(absl::StrCat("attrition: ",
                                        total_responded == 0.0 ? "no one" : "everyone",
                                        " responded; no test of differences"));
  } else {
    out.chi_square_p_value = ChiSquareUpperTail(chi, out.chi_square_df);
    if (small_expected) {
      out.warnings.push_back(
          "attrition: an expected count is below 5; the chi-square approximation may be poor");
    }
  }
  if (k < 2) {
    return absl::InvalidArgumentError("attrition: needs at least two arms");
  }
  IttInput lpm;
  lpm.outcome = responded;
  lpm.arm = arm;
  lpm.control_arm = control_arm;
  absl::StatusOr<IttResult> r = EstimateItt(lpm);
  if (!r.ok()) return r.status();
  out.rate_differences = *std::move(r);
  return out;
}

absl::StatusOr<LeeBounds> ComputeLeeBounds(const Eigen::VectorXd& outcome,
                                           const Eigen::VectorXd& treated,
                                           const Eigen::VectorXd& responded) {
  const Eigen::Index n = outcome.size();
  if (n == 0) return absl::InvalidArgumentError("Lee bounds: empty input");
  if (treated.size() != n || responded.size() != n) {
    return absl::InvalidArgumentError(
        "Lee bounds: outcome, treated and responded differ in length");
  }
  if (absl::Status s = CheckBinary(treated, "Lee bounds: treated"); !s.ok()) return s;
  if (absl::Status s = CheckBinary(responded, "Lee bounds: responded"); !s.ok()) return s;
  std::vector<double> y1;
  std::vector<double> y0;
  double n1 = 0;
  double n0 = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const bool t = treated(i) == 1.0;
    (t ? n1 : n0) += 1.0;
    if (responded(i) != 1.0) continue;
    if (!std::isfinite(outcome(i))) {
      return absl::InvalidArgumentError(
          absl::StrCat("Lee bounds: respondent in row ", i, " has no finite outcome"));
    }
    (t ? y1 : y0).push_back(outcome(i));
  }
  if (n1 == 0 || n0 == 0) {
    return absl::InvalidArgumentError("Lee bounds: needs participants in both arms");
  }
  if (y1.empty() || y0.empty()) {
    return absl::InvalidArgumentError("Lee bounds: needs respondents in both arms");
  }
  LeeBounds b;
  b.rate_treated = static_cast<double>(y1.size()) / n1;
  b.rate_control = static_cast<double>(y0.size()) / n0;
  b.respondents_treated = static_cast<std::int64_t>(y1.size());
  b.respondents_control = static_cast<std::int64_t>(y0.size());
  if (b.rate_treated >= b.rate_control) {
    b.trimmed_arm = "treated";
    b.trim_share = (b.rate_treated - b.rate_control) / b.rate_treated;
    const double m0 = Mean(y0);
    b.lower = TrimmedMean(y1, 1.0 - b.trim_share, /*keep_smallest=*/true) - m0;
    b.upper = TrimmedMean(y1, 1.0 - b.trim_share, /*keep_smallest=*/false) - m0;
  } else {
    b.trimmed_arm = "control";
    b.trim_share = (b.rate_control - b.rate_treated) / b.rate_control;
    const double m1 = Mean(y1);
    b.lower = m1 - TrimmedMean(y0, 1.0 - b.trim_share, /*keep_smallest=*/false);
    b.upper = m1 - TrimmedMean(y0, 1.0 - b.trim_share, /*keep_smallest=*/true);
  }
  return b;
}

absl::StatusOr<IpwResult> EstimateIttWithIpw(const IpwInput& input, const IttOptions& options) {
  const IttInput& in = input.itt;
  const Eigen::Index n = in.outcome.size();
  if (n == 0) return absl::InvalidArgumentError("IPW: empty input (nobody randomised)");
  if (static_cast<Eigen::Index>(in.arm.size()) != n) {
    return absl::InvalidArgumentError("IPW: outcome and arm differ in length");
  }
  if (in.weights.size() > 0 && in.weights.size() != n) {
    return absl::InvalidArgumentError("IPW: outcome and weights differ in length");
  }
  Eigen::VectorXd responded(n);
  for (Eigen::Index i = 0; i < n; ++i) responded(i) = std::isfinite(in.outcome(i)) ? 1.0 : 0.0;
  Design d;
  d.Append(Eigen::VectorXd::Ones(n), "(Intercept)");
  if (input.response_model_includes_arm) {
    absl::StatusOr<Factor> f = MakeFactor(in.arm, in.control_arm);
    if (!f.ok()) return f.status();
    d.Append(Dummies(*f), DummyNames(*f, "arm"));
  }
  for (const Covariate& c : input.response_covariates) {
    if (c.values.size() != n) {
      return absl::InvalidArgumentError(
          absl::StrCat("IPW: response covariate '", c.name, "' has the wrong length"));
    }
    d.Append(c.values, c.name);
  }
  absl::StatusOr<LogisticFit> model = FitLogistic(d.x, d.names, responded);
  if (!model.ok()) return model.status();
  IpwResult out;
  out.response_model = *std::move(model);
  out.warnings = out.response_model.warnings;
  out.weights = Eigen::VectorXd::Constant(n, std::nan(""));
  std::vector<Eigen::Index> rows;
  for (Eigen::Index i = 0; i < n; ++i) {
    if (responded(i) == 1.0) {
      rows.push_back(i);
      // A design (plan) weight carries over: the respondent stands for 1 / p_hat of them.
      const double design_weight = in.weights.size() > 0 ? in.weights(i) : 1.0;
      out.weights(i) = design_weight / out.response_model.fitted(i);
    }
  }
  if (rows.empty()) return absl::InvalidArgumentError("IPW: nobody responded");
  const auto m = static_cast<Eigen::Index>(rows.size());
  IttInput sub;
  sub.control_arm = in.control_arm;
  sub.arm_order = in.arm_order;
  sub.outcome.resize(m);
  sub.weights.resize(m);
  for (const Covariate& c : in.covariates) sub.covariates.push_back({c.name, Eigen::VectorXd(m)});
  for (Eigen::Index r = 0; r < m; ++r) {
    const Eigen::Index i = rows[static_cast<size_t>(r)];
    sub.outcome(r) = in.outcome(i);
    sub.weights(r) = out.weights(i);
    sub.arm.push_back(in.arm[static_cast<size_t>(i)]);
    if (!in.strata.empty()) sub.strata.push_back(in.strata[static_cast<size_t>(i)]);
    if (!in.clusters.empty()) sub.clusters.push_back(in.clusters[static_cast<size_t>(i)]);
    for (size_t c = 0; c < in.covariates.size(); ++c) {
      sub.covariates[c].values(r) = in.covariates[c].values(i);
    }
  }
  absl::StatusOr<IttResult> itt = EstimateItt(sub, options);
  if (!itt.ok()) return itt.status();
  out.itt = *std::move(itt);
  out.warnings.insert(out.warnings.end(), out.itt.warnings.begin(), out.itt.warnings.end());
  return out;
}

}  // namespace fieldwork::analysis
