#include "services/analysis/stats/interaction.h"

#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/analysis/stats/design.h"

namespace fieldwork::analysis {

absl::StatusOr<InteractionResult> FitInteraction(const InteractionInput& in,
                                                 const InteractionOptions& options) {
  const Eigen::Index n = in.outcome.size();
  if (n == 0) return absl::InvalidArgumentError("interaction: empty input (no rows)");
  for (const FactorColumn* f : {&in.a, &in.b}) {
    if (static_cast<Eigen::Index>(f->values.size()) != n) {
      return absl::InvalidArgumentError(absl::StrCat("interaction: factor '", f->name, "' has ",
                                                     f->values.size(), " values for ", n, " rows"));
    }
  }
  absl::StatusOr<Factor> fa = MakeFactor(in.a.values, in.a.reference);
  if (!fa.ok()) return fa.status();
  absl::StatusOr<Factor> fb = MakeFactor(in.b.values, in.b.reference);
  if (!fb.ok()) return fb.status();
  const Eigen::MatrixXd da = Dummies(*fa);
  const Eigen::MatrixXd db = Dummies(*fb);
  const std::vector<std::string> na = DummyNames(*fa, in.a.name);
  const std::vector<std::string> nb = DummyNames(*fb, in.b.name);

  Design d;
  d.Append(Eigen::VectorXd::Ones(n), "(Intercept)");
  d.Append(da, na);
  d.Append(db, nb);
  for (const Covariate& c : in.covariates) {
    if (c.values.size() != n) {
      return absl::InvalidArgumentError(
          absl::StrCat("interaction: covariate '", c.name, "' has the wrong length"));
    }
    d.Append(c.values, c.name);
  }
  const auto first_interaction = static_cast<Eigen::Index>(d.names.size());
  for (Eigen::Index jb = 0; jb < db.cols(); ++jb) {
    for (Eigen::Index ja = 0; ja < da.cols(); ++ja) {
      d.Append(Eigen::VectorXd(da.col(ja).cwiseProduct(db.col(jb))),
               na[static_cast<size_t>(ja)] + ":" + nb[static_cast<size_t>(jb)]);
    }
  }
  OlsOptions ols;
  ols.se_type = options.se_type;
  ols.clusters = in.clusters;
  ols.weights = in.weights;
  ols.alpha = options.alpha;
  absl::StatusOr<OlsFit> fit = FitOls(d.x, d.names, in.outcome, ols);
  if (!fit.ok()) return fit.status();

  InteractionResult out;
  out.fit = *std::move(fit);
  out.warnings = out.fit.warnings;
  const auto k = static_cast<Eigen::Index>(d.names.size());
  for (Eigen::Index jb = -1; jb < db.cols(); ++jb) {
    for (Eigen::Index ja = 0; ja < da.cols(); ++ja) {
      Eigen::VectorXd c = Eigen::VectorXd::Zero(k);
      c(1 + ja) = 1.0;
      if (jb >= 0) c(first_interaction + jb * da.cols() + ja) = 1.0;
      absl::StatusOr<LinearCombination> e = EstimateLinearCombination(out.fit, c);
      if (!e.ok()) {
        out.warnings.push_back(absl::StrCat("simple effect not estimable: ", e.status().message()));
        continue;
      }
      out.simple_effects.push_back(
          {fa->levels[static_cast<size_t>(ja) + 1], fb->levels[static_cast<size_t>(jb + 1)], *e});
    }
  }
  // b's simple effects within each a level: b's dummy plus, off a's reference, the a:b term.
  for (Eigen::Index ja = -1; ja < da.cols(); ++ja) {
    for (Eigen::Index jb = 0; jb < db.cols(); ++jb) {
      Eigen::VectorXd c = Eigen::VectorXd::Zero(k);
      c(1 + da.cols() + jb) = 1.0;
      if (ja >= 0) c(first_interaction + jb * da.cols() + ja) = 1.0;
      absl::StatusOr<LinearCombination> e = EstimateLinearCombination(out.fit, c);
      if (!e.ok()) {
        out.warnings.push_back(absl::StrCat("simple effect not estimable: ", e.status().message()));
        continue;
      }
      out.b_simple_effects.push_back(
          {fa->levels[static_cast<size_t>(ja + 1)], fb->levels[static_cast<size_t>(jb) + 1], *e});
    }
  }
  // Cell means: the intercept, the cell's dummies and product, covariates at their means.
  std::vector<double> covariate_means;
  for (const Covariate& c : in.covariates) covariate_means.push_back(c.values.mean());
  for (Eigen::Index jb = -1; jb < db.cols(); ++jb) {
    for (Eigen::Index ja = -1; ja < da.cols(); ++ja) {
      Eigen::VectorXd c = Eigen::VectorXd::Zero(k);
      c(0) = 1.0;
      if (ja >= 0) c(1 + ja) = 1.0;
      if (jb >= 0) c(1 + da.cols() + jb) = 1.0;
      if (ja >= 0 && jb >= 0) c(first_interaction + jb * da.cols() + ja) = 1.0;
      for (size_t v = 0; v < covariate_means.size(); ++v) {
        c(1 + da.cols() + db.cols() + static_cast<Eigen::Index>(v)) = covariate_means[v];
      }
      const std::string& a_level = fa->levels[static_cast<size_t>(ja + 1)];
      const std::string& b_level = fb->levels[static_cast<size_t>(jb + 1)];
      std::int64_t rows = 0;
      for (Eigen::Index i = 0; i < n; ++i) {
        rows += in.a.values[static_cast<size_t>(i)] == a_level &&
                in.b.values[static_cast<size_t>(i)] == b_level;
      }
      absl::StatusOr<LinearCombination> mean = EstimateLinearCombination(out.fit, c);
      if (!mean.ok()) {
        out.warnings.push_back(absl::StrCat("cell mean not estimable: ", mean.status().message()));
        continue;
      }
      out.cells.push_back({a_level, b_level, rows, *mean});
    }
  }
  const Eigen::Index q = da.cols() * db.cols();
  if (q > 0) {
    Eigen::MatrixXd l = Eigen::MatrixXd::Zero(q, k);
    for (Eigen::Index i = 0; i < q; ++i) l(i, first_interaction + i) = 1.0;
    absl::StatusOr<WaldTest> w = TestLinearRestrictions(out.fit, l);
    if (w.ok()) {
      out.interaction_test = *w;
    } else {
      out.interaction_test.f_statistic = std::numeric_limits<double>::quiet_NaN();
      out.interaction_test.p_value = std::numeric_limits<double>::quiet_NaN();
      out.warnings.push_back(absl::StrCat("interaction test not computed: ", w.status().message()));
    }
  }
  return out;
}

}  // namespace fieldwork::analysis
