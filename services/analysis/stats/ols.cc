#include "services/analysis/stats/ols.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/analysis/stats/distributions.h"
#include "services/analysis/stats/nan.h"
#include "services/analysis/stats/ols_internal.h"

namespace fieldwork::analysis {
namespace {

// 1 - h_ii below this is taken as leverage 1 (the observation is fitted exactly).
constexpr double kLeverageOneTol = 1e-10;
// Eigenvalues of B_g at or below this are treated as zero in B_g^{-1/2} (as estimatr).
constexpr double kCr2EigenTol = 1e-12;

Eigen::MatrixXd UpperTriangularInverse(const Eigen::MatrixXd& r) {
  const Eigen::Index p = r.rows();
  Eigen::MatrixXd inv = Eigen::MatrixXd::Identity(p, p);
  r.triangularView<Eigen::Upper>().solveInPlace(inv);
  return inv;
}

// A symmetric positive semi-definite matrix to the power -1/2, zero on its null space.
// Returns how many eigenvalues were treated as zero.
int InverseSqrtPsd(const Eigen::MatrixXd& b, Eigen::MatrixXd* out) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(b);
  Eigen::VectorXd vals = eig.eigenvalues();
  int zeros = 0;
  for (Eigen::Index i = 0; i < vals.size(); ++i) {
    if (vals(i) > kCr2EigenTol) {
      vals(i) = 1.0 / std::sqrt(vals(i));
    } else {
      vals(i) = 0.0;
      ++zeros;
    }
  }
  *out = eig.eigenvectors() * vals.asDiagonal() * eig.eigenvectors().transpose();
  return zeros;
}

}  // namespace

const char* SeTypeName(SeType type) {
  switch (type) {
    case SeType::kClassical:
      return "classical";
    case SeType::kHC0:
      return "HC0";
    case SeType::kHC1:
      return "HC1";
    case SeType::kHC2:
      return "HC2";
    case SeType::kHC3:
      return "HC3";
    case SeType::kCR0:
      return "CR0";
    case SeType::kCR1Stata:
      return "stata";
    case SeType::kCR2:
      return "CR2";
  }
  return "unknown";
}

std::optional<SeType> ParseSeType(std::string_view name) {
  for (SeType t : {SeType::kClassical, SeType::kHC0, SeType::kHC1, SeType::kHC2, SeType::kHC3,
                   SeType::kCR0, SeType::kCR1Stata, SeType::kCR2}) {
    if (name == SeTypeName(t)) return t;
  }
  if (name == "CR1") return SeType::kCR1Stata;
  return std::nullopt;
}

bool IsClusterRobust(SeType type) {
  return type == SeType::kCR0 || type == SeType::kCR1Stata || type == SeType::kCR2;
}

const Coefficient* OlsFit::Find(std::string_view term) const {
  for (const Coefficient& c : coefficients) {
    if (c.term == term) return &c;
  }
  return nullptr;
}

int OlsFit::ColumnIndex(std::string_view term) const {
  for (size_t i = 0; i < coefficients.size(); ++i) {
    if (coefficients[i].term == term) return static_cast<int>(i);
  }
  return -1;
}

LinearCombination MakeInference(double estimate, double std_error, double df, double alpha) {
  LinearCombination out;
  out.estimate = estimate;
  out.std_error = std_error;
  out.df = df;
  out.statistic = estimate / std_error;
  out.p_value = TwoSidedTPValue(out.statistic, df);
  const double crit = TQuantile(1.0 - alpha / 2.0, df);
  out.conf_low = estimate - crit * std_error;
  out.conf_high = estimate + crit * std_error;
  return out;
}

namespace internal {

RankRevealingQr QrWithLimitedPivoting(Eigen::MatrixXd a, Eigen::MatrixXd y, double tol) {
  const Eigen::Index n = a.rows();
  const Eigen::Index k = a.cols();
  RankRevealingQr out;
  std::vector<double> original_norm(static_cast<size_t>(k));
  for (Eigen::Index j = 0; j < k; ++j) {
    const double norm = a.col(j).norm();
    original_norm[static_cast<size_t>(j)] = norm == 0.0 ? 1.0 : norm;
  }
  Eigen::MatrixXd r = Eigen::MatrixXd::Zero(std::min(n, k), std::min(n, k));
  Eigen::Index l = 0;  // next row of R
  for (Eigen::Index j = 0; j < k; ++j) {
    const double norm = l < n ? a.col(j).tail(n - l).norm() : 0.0;
    if (l >= n || !(norm >= tol * original_norm[static_cast<size_t>(j)])) {
      out.aliased.push_back(static_cast<int>(j));
      continue;
    }
    // Householder reflection taking a[l:, j] to (alpha, 0, ..., 0).
    auto v = a.col(j).tail(n - l);
    const double alpha = v(0) >= 0.0 ? -norm : norm;
    for (Eigen::Index i = 0; i < l; ++i) r(i, l) = a(i, j);
    r(l, l) = alpha;
    v(0) -= alpha;
    const double beta = 2.0 / v.squaredNorm();
    if (j + 1 < k) {
      auto rest = a.block(l, j + 1, n - l, k - j - 1);
      const Eigen::RowVectorXd s = beta * (v.transpose() * rest);
      rest.noalias() -= v * s;
    }
    auto yrest = y.bottomRows(n - l);
    const Eigen::RowVectorXd sy = beta * (v.transpose() * yrest);
    yrest.noalias() -= v * sy;
    out.kept.push_back(static_cast<int>(j));
    ++l;
  }
  out.r = r.topLeftCorner(l, l);
  out.qty = y.topRows(l);
  return out;
}

ClusterIndex IndexClusters(const std::vector<std::int64_t>& ids) {
  ClusterIndex idx;
  const auto n = static_cast<Eigen::Index>(ids.size());
  // Filled by push_back: resize() here trips GCC 12's -Wnull-dereference at -O3.
  idx.order.reserve(ids.size());
  for (Eigen::Index i = 0; i < n; ++i) idx.order.push_back(i);
  std::stable_sort(idx.order.begin(), idx.order.end(), [&](Eigen::Index a, Eigen::Index b) {
    return ids[static_cast<size_t>(a)] < ids[static_cast<size_t>(b)];
  });
  idx.group.assign(ids.size(), 0);
  for (Eigen::Index p = 0; p < n; ++p) {
    const auto row = static_cast<size_t>(idx.order[static_cast<size_t>(p)]);
    if (p == 0 || ids[row] != ids[static_cast<size_t>(idx.order[static_cast<size_t>(p - 1)])]) {
      idx.starts.push_back(p);
    }
    idx.group[row] = static_cast<Eigen::Index>(idx.starts.size()) - 1;
  }
  idx.count = static_cast<Eigen::Index>(idx.starts.size());
  idx.starts.push_back(n);
  return idx;
}

double Cr2ContrastDf(const Cr2State& s, const Eigen::VectorXd& c, int explicit_limit) {
  const Eigen::Index g_count = static_cast<Eigen::Index>(s.starts.size()) - 1;
  const Eigen::Index r = s.x.cols();
  const Eigen::VectorXd q = s.q_map * c;
  Eigen::VectorXd d(g_count);
  Eigen::MatrixXd a(r, g_count);
  Eigen::MatrixXd b(r, g_count);
  for (Eigen::Index g = 0; g < g_count; ++g) {
    const Eigen::Index start = s.starts[static_cast<size_t>(g)];
    const Eigen::Index len = s.starts[static_cast<size_t>(g) + 1] - start;
    const auto qg = q.segment(start, len);
    const auto xg = s.x.middleRows(start, len);
    d(g) = qg.squaredNorm();
    a.col(g).noalias() = xg.transpose() * qg;
    if (s.weighted) {
      b.col(g).noalias() = xg.transpose() * (s.w.segment(start, len).cwiseProduct(qg));
    } else {
      b.col(g) = a.col(g);
    }
  }
  const Eigen::MatrixXd ma = s.m * a;
  if (g_count <= explicit_limit) {
    const Eigen::MatrixXd uf = b.transpose() * ma;
    Eigen::MatrixXd p = a.transpose() * (s.omega * a) - uf - uf.transpose();
    p.diagonal() += d;
    const double tr = p.trace();
    return tr * tr / p.squaredNorm();
  }
  // P = D + C'KC with C = [A; B] and K = [[Omega, -M], [-M, 0]]:
  // ||P||^2 = sum d^2 + 2 sum_g d_g S_gg + tr(K G K G), G = C C'.
  Eigen::MatrixXd cm(2 * r, g_count);
  cm.topRows(r) = a;
  cm.bottomRows(r) = b;
  Eigen::MatrixXd kmat = Eigen::MatrixXd::Zero(2 * r, 2 * r);
  kmat.topLeftCorner(r, r) = s.omega;
  kmat.topRightCorner(r, r) = -s.m;
  kmat.bottomLeftCorner(r, r) = -s.m;
  const Eigen::MatrixXd kc = kmat * cm;
  const Eigen::VectorXd s_diag = (cm.array() * kc.array()).colwise().sum().transpose();
  const Eigen::MatrixXd gram = cm * cm.transpose();
  const Eigen::MatrixXd kg = kmat * gram;
  const double s_norm2 = (kg.array() * kg.transpose().array()).sum();
  const double tr = d.sum() + s_diag.sum();
  const double norm2 = d.squaredNorm() + 2.0 * d.dot(s_diag) + s_norm2;
  return tr * tr / norm2;
}

VarianceResult SandwichVariance(const Eigen::MatrixXd& d, const Eigen::VectorXd* w_scaled,
                                const Eigen::VectorXd& resid, const Eigen::MatrixXd& rinv,
                                SeType type, const ClusterIndex* clusters,
                                std::int64_t df_residual) {
  VarianceResult out;
  const Eigen::Index n = d.rows();
  const Eigen::Index r = d.cols();
  const auto n_d = static_cast<double>(n);
  const auto r_d = static_cast<double>(r);
  // Weighted design and residuals: W^{1/2} D and W^{1/2} e.
  Eigen::MatrixXd dw_storage;
  Eigen::VectorXd ew;
  if (w_scaled != nullptr) {
    const Eigen::VectorXd sw = w_scaled->cwiseSqrt();
    dw_storage = d.array().colwise() * sw.array();
    ew = resid.cwiseProduct(sw);
  } else {
    ew = resid;
  }
  const Eigen::MatrixXd& dw = w_scaled != nullptr ? dw_storage : d;
  const Eigen::MatrixXd m = rinv * rinv.transpose();
  out.df = Eigen::VectorXd::Constant(r, static_cast<double>(df_residual));

  switch (type) {
    case SeType::kClassical: {
      const double s2 = ew.squaredNorm() / static_cast<double>(df_residual);
      out.vcov = s2 * m;
      break;
    }
    case SeType::kHC0:
    case SeType::kHC1:
    case SeType::kHC2:
    case SeType::kHC3: {
      Eigen::VectorXd omega = ew.array().square();
      Eigen::MatrixXd meat;
      if (type == SeType::kHC2 || type == SeType::kHC3) {
        // Z = W^{1/2} D R^{-1} has orthonormal columns; h_ii is the squared norm of row i.
        Eigen::MatrixXd z = dw * rinv.triangularView<Eigen::Upper>();
        const Eigen::VectorXd h = z.rowwise().squaredNorm();
        Eigen::Index at_one = 0;
        for (Eigen::Index i = 0; i < n; ++i) {
          const double one_minus_h = 1.0 - h(i);
          if (one_minus_h < kLeverageOneTol) {
            omega(i) = 0.0;  // fitted exactly: its residual carries no information
            ++at_one;
          } else {
            omega(i) /= type == SeType::kHC2 ? one_minus_h : one_minus_h * one_minus_h;
          }
        }
        if (at_one > 0) {
          out.warnings.push_back(absl::StrCat(
              at_one, " observation(s) have leverage 1 (each alone determines a coefficient, e.g. ",
              "a stratum or arm of one): their ", SeTypeName(type),
              " weight 1/(1-h) is undefined and their contribution to the variance is set to ",
              "0, so the standard errors of the coefficients they determine are not ",
              "identified (reported as if their residual were 0)"));
        }
        z.array().colwise() *= omega.cwiseSqrt().array();
        meat = Eigen::MatrixXd::Zero(r, r);
        meat.selfadjointView<Eigen::Lower>().rankUpdate(z.transpose());
        meat.triangularView<Eigen::StrictlyUpper>() = meat.transpose();
        out.vcov = rinv * meat * rinv.transpose();
      } else {
        Eigen::MatrixXd xw = dw.array().colwise() * ew.array().abs();
        meat = Eigen::MatrixXd::Zero(r, r);
        meat.selfadjointView<Eigen::Lower>().rankUpdate(xw.transpose());
        meat.triangularView<Eigen::StrictlyUpper>() = meat.transpose();
        out.vcov = m * meat * m;
        if (type == SeType::kHC1) out.vcov *= n_d / (n_d - r_d);
      }
      break;
    }
    case SeType::kCR0:
    case SeType::kCR1Stata: {
      const auto j = static_cast<double>(clusters->count);
      Eigen::MatrixXd u = Eigen::MatrixXd::Zero(clusters->count, r);
      for (Eigen::Index i = 0; i < n; ++i) {
        u.row(clusters->group[static_cast<size_t>(i)]) += ew(i) * dw.row(i);
      }
      out.vcov = m * (u.transpose() * u) * m;
      if (type == SeType::kCR1Stata) {
        out.vcov *= j * (n_d - 1.0) / ((j - 1.0) * (n_d - r_d));
      }
      out.df.setConstant(j - 1.0);
      break;
    }
    case SeType::kCR2: {
      auto state = std::make_shared<Cr2State>();
      state->weighted = w_scaled != nullptr;
      state->x.resize(n, r);
      state->w = Eigen::VectorXd::Ones(n);
      Eigen::VectorXd e_sorted(n);
      for (Eigen::Index p = 0; p < n; ++p) {
        const Eigen::Index row = clusters->order[static_cast<size_t>(p)];
        state->x.row(p) = d.row(row);
        e_sorted(p) = resid(row);
        if (w_scaled != nullptr) state->w(p) = (*w_scaled)(row);
      }
      state->starts = clusters->starts;
      state->m = m;
      // Omega = M X'W^2X M = (R^{-1})(R^{-T} X'W^2 X R^{-1})(R^{-T}); unweighted it is M.
      if (state->weighted) {
        const Eigen::MatrixXd wx = state->x.array().colwise() * state->w.array();
        Eigen::MatrixXd zz = wx * rinv;
        state->omega = rinv * (zz.transpose() * zz) * rinv.transpose();
      } else {
        state->omega = m;
      }
      state->q_map.resize(n, r);
      Eigen::MatrixXd u(clusters->count, r);
      int clusters_at_one = 0;
      for (Eigen::Index g = 0; g < clusters->count; ++g) {
        const Eigen::Index start = state->starts[static_cast<size_t>(g)];
        const Eigen::Index len = state->starts[static_cast<size_t>(g) + 1] - start;
        const auto xg = state->x.middleRows(start, len);
        Eigen::MatrixXd wxg = xg;
        if (state->weighted) wxg.array().colwise() *= state->w.segment(start, len).array();
        const Eigen::MatrixXd h = xg * m * wxg.transpose();  // H_gg = X_g M X_g' W_g
        Eigen::MatrixXd bg = -h - h.transpose() + xg * state->omega * xg.transpose();
        bg.diagonal().array() += 1.0;
        Eigen::MatrixXd bg_isqrt;
        if (InverseSqrtPsd(bg, &bg_isqrt) > 0) ++clusters_at_one;
        const Eigen::MatrixXd gmat = bg_isqrt * wxg;  // B_g^{-1/2} W_g X_g
        u.row(g).noalias() = e_sorted.segment(start, len).transpose() * gmat;
        state->q_map.middleRows(start, len).noalias() = gmat * m;
      }
      if (clusters_at_one > 0) {
        out.warnings.push_back(absl::StrCat(
            clusters_at_one,
            " cluster(s) have a CR2 adjustment matrix I - H_gg that is singular (leverage 1 ",
            "within the cluster, e.g. a cluster alone in its stratum or arm): its inverse ",
            "square root is taken on the non-null space only (as estimatr), and the standard ",
            "errors of coefficients that cluster determines are not identified"));
      }
      out.vcov = m * (u.transpose() * u) * m;
      for (Eigen::Index jcoef = 0; jcoef < r; ++jcoef) {
        out.df(jcoef) = Cr2ContrastDf(*state, Eigen::VectorXd::Unit(r, jcoef));
      }
      out.cr2 = std::move(state);
      break;
    }
  }
  return out;
}

}  // namespace internal

namespace internal {

absl::StatusOr<PreparedOptions> PrepareOptions(const OlsOptions& options, Eigen::Index n,
                                               const char* who) {
  PreparedOptions out;
  if (!(options.alpha > 0.0 && options.alpha < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, ": alpha must be strictly between 0 and 1"));
  }
  out.weighted = options.weights.size() > 0;
  if (out.weighted) {
    if (options.weights.size() != n) {
      return absl::InvalidArgumentError(
          absl::StrCat(who, ": ", options.weights.size(), " weights for ", n, " rows"));
    }
    for (Eigen::Index i = 0; i < n; ++i) {
      const double w = options.weights(i);
      if (!std::isfinite(w) || w <= 0.0) {
        return absl::InvalidArgumentError(
            absl::StrCat(who, ": weight of row ", i, " is ", w,
                         "; weights must be positive and finite (drop zero-weight rows)"));
      }
    }
    out.w_scaled = options.weights / options.weights.mean();
  }
  out.clustered = !options.clusters.empty();
  if (out.clustered && static_cast<Eigen::Index>(options.clusters.size()) != n) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, ": ", options.clusters.size(), " cluster ids for ", n, " rows"));
  }
  out.type = options.se_type.value_or(out.clustered ? SeType::kCR2 : SeType::kHC2);
  if (IsClusterRobust(out.type) && !out.clustered) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, ": standard errors of type ", SeTypeName(out.type), " need cluster ids"));
  }
  if (out.clustered && !IsClusterRobust(out.type)) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, ": cluster ids were given but the standard-error type ",
                     SeTypeName(out.type), " ignores them; use CR0, stata (CR1) or CR2"));
  }
  if (out.clustered) {
    out.clusters = IndexClusters(options.clusters);
    if (out.clusters.count < 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(who, ": cluster-robust standard errors need at least 2 clusters; got ",
                       out.clusters.count));
    }
  }
  return out;
}

absl::Status CheckFinite(const Eigen::MatrixXd& x, const std::vector<std::string>& names,
                         const char* who) {
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    if (!x.col(j).allFinite()) {
      return absl::InvalidArgumentError(
          absl::StrCat(who, ": column '", names[static_cast<size_t>(j)],
                       "' has a missing or non-finite value; drop incomplete rows before fitting"));
    }
  }
  return absl::OkStatus();
}

void AliasWarning(const std::vector<int>& aliased, const std::vector<std::string>& names,
                  OlsFit* fit) {
  if (aliased.empty()) return;
  std::vector<std::string> dropped;
  for (int j : aliased) dropped.push_back(names[static_cast<size_t>(j)]);
  fit->warnings.push_back(absl::StrCat(
      "the design is rank deficient: ", absl::StrJoin(dropped, ", "),
      " (collinear with earlier columns) not estimated and reported as NaN, as R's lm reports "
      "NA; the other coefficients are those of the model without them"));
}

void FillRSquared(const Eigen::VectorXd& y, const Eigen::MatrixXd& x_kept,
                  const Eigen::VectorXd* w_scaled, OlsFit* fit) {
  const bool weighted = w_scaled != nullptr;
  const double rss =
      weighted ? fit->residuals.cwiseAbs2().dot(*w_scaled) : fit->residuals.squaredNorm();
  fit->residual_variance = rss / static_cast<double>(fit->df_residual);
  bool has_intercept = false;
  for (Eigen::Index j = 0; j < x_kept.cols(); ++j) {
    if ((x_kept.col(j).array() == 1.0).all()) has_intercept = true;
  }
  if (has_intercept) {
    const double ybar = weighted ? y.dot(*w_scaled) / w_scaled->sum() : y.mean();
    const Eigen::ArrayXd dev2 = (y.array() - ybar).square();
    const double tss = weighted ? (dev2 * w_scaled->array()).sum() : dev2.sum();
    fit->r_squared = 1.0 - rss / tss;
    fit->adj_r_squared = 1.0 - (1.0 - fit->r_squared) * (static_cast<double>(fit->n) - 1.0) /
                                   static_cast<double>(fit->df_residual);
  } else {
    fit->r_squared = kNaN;
    fit->adj_r_squared = kNaN;
  }
}

void FillCoefficientTable(const std::vector<std::string>& names, const Eigen::VectorXd& df,
                          OlsFit* fit) {
  const auto k = names.size();
  fit->coefficients.assign(k, Coefficient{});
  for (size_t j = 0; j < k; ++j) {
    Coefficient& c = fit->coefficients[j];
    c.term = names[j];
    c.aliased = true;
    c.estimate = c.std_error = c.statistic = c.df = c.p_value = c.conf_low = c.conf_high = kNaN;
  }
  int bad_df = 0;
  for (Eigen::Index j = 0; j < fit->rank; ++j) {
    Coefficient& c = fit->coefficients[static_cast<size_t>(fit->kept[static_cast<size_t>(j)])];
    double dfj = df(j);
    if (!(dfj > 0.0) || !std::isfinite(dfj)) {
      dfj = kNaN;
      ++bad_df;
    }
    const LinearCombination lc =
        MakeInference(fit->estimate(j), std::sqrt(std::max(fit->vcov(j, j), 0.0)), dfj, fit->alpha);
    c.aliased = false;
    c.estimate = lc.estimate;
    c.std_error = lc.std_error;
    c.statistic = lc.statistic;
    c.df = lc.df;
    c.p_value = lc.p_value;
    c.conf_low = lc.conf_low;
    c.conf_high = lc.conf_high;
  }
  if (bad_df > 0) {
    fit->warnings.push_back(absl::StrCat(
        bad_df, " coefficient(s) have degrees of freedom that could not be estimated (zero or ",
        "undefined): their p-values and confidence intervals are NaN"));
  }
}

Eigen::MatrixXd SelectColumns(const Eigen::MatrixXd& x, const std::vector<int>& columns) {
  Eigen::MatrixXd out(x.rows(), static_cast<Eigen::Index>(columns.size()));
  for (size_t j = 0; j < columns.size(); ++j) {
    out.col(static_cast<Eigen::Index>(j)) = x.col(columns[j]);
  }
  return out;
}

Eigen::MatrixXd UpperInverse(const Eigen::MatrixXd& r) { return UpperTriangularInverse(r); }

}  // namespace internal

absl::StatusOr<OlsFit> FitOls(const Eigen::MatrixXd& x, const std::vector<std::string>& names,
                              const Eigen::VectorXd& y, const OlsOptions& options) {
  const Eigen::Index n = x.rows();
  const Eigen::Index k = x.cols();
  if (n == 0 || y.size() == 0) {
    return absl::InvalidArgumentError("ols: empty input (no observations)");
  }
  if (k == 0) return absl::InvalidArgumentError("ols: the design has no columns");
  if (y.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("ols: y has ", y.size(), " rows but the design has ", n));
  }
  if (static_cast<Eigen::Index>(names.size()) != k) {
    return absl::InvalidArgumentError(
        absl::StrCat("ols: ", names.size(), " names for ", k, " design columns"));
  }
  if (absl::Status s = internal::CheckFinite(x, names, "ols"); !s.ok()) return s;
  if (!y.allFinite()) {
    return absl::InvalidArgumentError(
        "ols: the outcome has a missing or non-finite value; drop incomplete rows first");
  }
  absl::StatusOr<internal::PreparedOptions> prepared = internal::PrepareOptions(options, n, "ols");
  if (!prepared.ok()) return prepared.status();
  const internal::PreparedOptions& po = *prepared;

  OlsFit fit;
  fit.se_type = po.type;
  fit.alpha = options.alpha;
  fit.n = n;
  fit.k = static_cast<int>(k);
  fit.weighted = po.weighted;
  fit.n_clusters = po.clustered ? po.clusters.count : 0;

  internal::RankRevealingQr qr;
  if (po.weighted) {
    const Eigen::VectorXd sw = po.w_scaled.cwiseSqrt();
    qr = internal::QrWithLimitedPivoting(x.array().colwise() * sw.array(), y.cwiseProduct(sw));
  } else {
    qr = internal::QrWithLimitedPivoting(x, y);
  }
  const auto rank = static_cast<Eigen::Index>(qr.kept.size());
  fit.rank = static_cast<int>(rank);
  fit.kept = qr.kept;
  fit.df_residual = n - rank;
  if (rank == 0) return absl::InvalidArgumentError("ols: every column of the design is zero");
  if (fit.df_residual <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ols: ", n, " observation(s) for ", rank,
                     " estimable coefficient(s) leave no residual degrees of freedom"));
  }
  internal::AliasWarning(qr.aliased, names, &fit);
  const Eigen::MatrixXd rinv = UpperTriangularInverse(qr.r);
  fit.estimate = rinv.triangularView<Eigen::Upper>() * qr.qty.col(0);

  Eigen::MatrixXd x_kept_storage;
  const bool all_kept = rank == k;
  if (!all_kept) x_kept_storage = internal::SelectColumns(x, qr.kept);
  const Eigen::MatrixXd& x_kept = all_kept ? x : x_kept_storage;
  fit.fitted = x_kept * fit.estimate;
  fit.residuals = y - fit.fitted;

  const Eigen::VectorXd* w = po.weighted ? &po.w_scaled : nullptr;
  internal::VarianceResult var =
      internal::SandwichVariance(x_kept, w, fit.residuals, rinv, po.type,
                                 po.clustered ? &po.clusters : nullptr, fit.df_residual);
  fit.vcov = std::move(var.vcov);
  fit.cr2 = std::move(var.cr2);
  for (std::string& warning : var.warnings) fit.warnings.push_back(std::move(warning));
  internal::FillRSquared(y, x_kept, w, &fit);
  internal::FillCoefficientTable(names, var.df, &fit);
  return fit;
}

namespace {

absl::StatusOr<Eigen::MatrixXd> RestrictToKept(const OlsFit& fit, const Eigen::MatrixXd& l) {
  if (l.cols() != fit.k) {
    return absl::InvalidArgumentError(
        absl::StrCat("contrast has ", l.cols(), " entries but the model has ", fit.k, " columns"));
  }
  if (!l.allFinite()) return absl::InvalidArgumentError("contrast has a non-finite entry");
  Eigen::MatrixXd out(l.rows(), fit.rank);
  std::vector<bool> is_kept(static_cast<size_t>(fit.k), false);
  for (size_t j = 0; j < fit.kept.size(); ++j) {
    out.col(static_cast<Eigen::Index>(j)) = l.col(fit.kept[j]);
    is_kept[static_cast<size_t>(fit.kept[j])] = true;
  }
  for (int j = 0; j < fit.k; ++j) {
    if (!is_kept[static_cast<size_t>(j)] && (l.col(j).array() != 0.0).any()) {
      return absl::InvalidArgumentError(absl::StrCat("contrast puts weight on '",
                                                     fit.coefficients[static_cast<size_t>(j)].term,
                                                     "', which is not estimable (aliased)"));
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<LinearCombination> EstimateLinearCombination(const OlsFit& fit,
                                                            const Eigen::VectorXd& c) {
  absl::StatusOr<Eigen::MatrixXd> ck = RestrictToKept(fit, c.transpose());
  if (!ck.ok()) return ck.status();
  const Eigen::VectorXd v = ck->row(0).transpose();
  const double est = v.dot(fit.estimate);
  const double se = std::sqrt(std::max(v.dot(fit.vcov * v), 0.0));
  double df = static_cast<double>(fit.df_residual);
  if (fit.se_type == SeType::kCR0 || fit.se_type == SeType::kCR1Stata) {
    df = static_cast<double>(fit.n_clusters) - 1.0;
  } else if (fit.se_type == SeType::kCR2 && fit.cr2 != nullptr) {
    df = internal::Cr2ContrastDf(*fit.cr2, v);
    if (!(df > 0.0) || !std::isfinite(df)) df = kNaN;
  }
  return MakeInference(est, se, df, fit.alpha);
}

absl::StatusOr<WaldTest> TestLinearRestrictions(const OlsFit& fit, const Eigen::MatrixXd& l) {
  if (l.rows() == 0) return absl::InvalidArgumentError("Wald test: no restrictions");
  absl::StatusOr<Eigen::MatrixXd> lk = RestrictToKept(fit, l);
  if (!lk.ok()) return lk.status();
  const Eigen::VectorXd lb = *lk * fit.estimate;
  const Eigen::MatrixXd lvl = *lk * fit.vcov * lk->transpose();
  Eigen::LLT<Eigen::MatrixXd> llt(lvl);
  if (llt.info() != Eigen::Success || (llt.matrixL().toDenseMatrix().diagonal().array() <=
                                       1e-12 * std::sqrt(lvl.diagonal().maxCoeff()))
                                          .any()) {
    return absl::InvalidArgumentError(
        "Wald test: the restrictions' covariance L V L' is singular (redundant restrictions, "
        "or coefficients whose standard errors are not identified)");
  }
  WaldTest out;
  out.numerator_df = static_cast<int>(l.rows());
  out.chi_square = lb.dot(llt.solve(lb));
  out.chi_square_p_value = ChiSquareUpperTail(out.chi_square, out.numerator_df);
  out.f_statistic = out.chi_square / out.numerator_df;
  out.denominator_df = IsClusterRobust(fit.se_type) ? static_cast<double>(fit.n_clusters) - 1.0
                                                    : static_cast<double>(fit.df_residual);
  out.p_value = FUpperTail(out.f_statistic, out.numerator_df, out.denominator_df);
  return out;
}

}  // namespace fieldwork::analysis
