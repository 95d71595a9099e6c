#include "services/randomisation/methods/balance.h"

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/fisher_f.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fieldwork::randomisation {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Smd(double mean_a, double sd_a, double mean_0, double sd_0) {
  const double pooled = std::sqrt((sd_a * sd_a + sd_0 * sd_0) / 2);
  if (!(pooled > 0)) return mean_a == mean_0 ? 0.0 : kNaN;
  return (mean_a - mean_0) / pooled;
}

double MaxAbs(const std::vector<double>& v) {
  double m = 0;
  for (const double x : v) {
    if (std::isnan(x)) return kNaN;
    m = std::max(m, std::fabs(x));
  }
  return m;
}

NumericBalance NumericFor(const std::string& name, std::size_t j, std::size_t k,
                          absl::Span<const Unit> units, absl::Span<const int> arm_of) {
  NumericBalance b;
  b.name = name;
  b.n.assign(k, 0);
  b.mean.assign(k, 0.0);
  b.sd.assign(k, kNaN);
  std::vector<double> sum(k, 0.0);
  for (std::size_t i = 0; i < units.size(); ++i) {
    const double x = units[i].covariates[j];
    if (std::isnan(x)) continue;
    const auto a = static_cast<std::size_t>(arm_of[i]);
    ++b.n[a];
    sum[a] += x;
  }
  for (std::size_t a = 0; a < k; ++a) {
    b.mean[a] = b.n[a] > 0 ? sum[a] / static_cast<double>(b.n[a]) : kNaN;
  }
  std::vector<double> ss(k, 0.0);
  for (std::size_t i = 0; i < units.size(); ++i) {
    const double x = units[i].covariates[j];
    if (std::isnan(x)) continue;
    const auto a = static_cast<std::size_t>(arm_of[i]);
    ss[a] += (x - b.mean[a]) * (x - b.mean[a]);
  }
  for (std::size_t a = 0; a < k; ++a) {
    if (b.n[a] > 1) b.sd[a] = std::sqrt(ss[a] / static_cast<double>(b.n[a] - 1));
  }
  b.smd.assign(k, 0.0);
  for (std::size_t a = 1; a < k; ++a) b.smd[a] = Smd(b.mean[a], b.sd[a], b.mean[0], b.sd[0]);
  b.max_abs_smd = MaxAbs(b.smd);
  // Test over the arms that have data.
  std::vector<double> means, sds, ns;
  for (std::size_t a = 0; a < k; ++a) {
    if (b.n[a] == 0) continue;
    means.push_back(b.mean[a]);
    sds.push_back(b.sd[a]);
    ns.push_back(static_cast<double>(b.n[a]));
  }
  TestResult t{kNaN, kNaN, kNaN, kNaN};
  if (means.size() == 2) {
    b.test = "welch_t";
    t = WelchTTest(means[0], sds[0], ns[0], means[1], sds[1], ns[1]);
    t.df2 = 0;
  } else {
    b.test = "anova_f";
    t = OneWayAnova(means, sds, ns);
  }
  b.statistic = t.statistic;
  b.df1 = t.df1;
  b.df2 = t.df2;
  b.p_value = t.p_value;
  return b;
}

const std::string* LevelOf(const Unit& u, const std::string& name) {
  const auto it = u.categorical.find(name);
  if (it == u.categorical.end() || it->second.empty()) return nullptr;
  return &it->second;
}

CategoricalBalance CategoricalFor(const std::string& name, std::size_t k,
                                  absl::Span<const Unit> units, absl::Span<const int> arm_of) {
  CategoricalBalance b;
  b.name = name;
  std::set<std::string> levels;
  for (const Unit& u : units) {
    if (const std::string* l = LevelOf(u, name)) levels.insert(*l);
  }
  b.levels.assign(levels.begin(), levels.end());
  std::map<std::string, std::size_t> index;
  for (std::size_t l = 0; l < b.levels.size(); ++l) index[b.levels[l]] = l;
  const std::size_t L = b.levels.size();
  b.counts.assign(k, std::vector<std::int64_t>(L, 0));
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (const std::string* l = LevelOf(units[i], name)) {
      ++b.counts[static_cast<std::size_t>(arm_of[i])][index[*l]];
    }
  }
  std::vector<double> row(k, 0.0), col(L, 0.0);
  double total = 0;
  for (std::size_t a = 0; a < k; ++a) {
    for (std::size_t l = 0; l < L; ++l) {
      const auto c = static_cast<double>(b.counts[a][l]);
      row[a] += c;
      col[l] += c;
      total += c;
    }
  }
  // SMD of each level's proportion against arm 0.
  std::vector<double> smds;
  for (std::size_t a = 1; a < k; ++a) {
    for (std::size_t l = 0; l < L; ++l) {
      if (!(row[a] > 0) || !(row[0] > 0)) {
        smds.push_back(kNaN);
        continue;
      }
      const double pa = static_cast<double>(b.counts[a][l]) / row[a];
      const double p0 = static_cast<double>(b.counts[0][l]) / row[0];
      const double pooled = std::sqrt((pa * (1 - pa) + p0 * (1 - p0)) / 2);
      smds.push_back(pooled > 0 ? (pa - p0) / pooled : (pa == p0 ? 0.0 : kNaN));
    }
  }
  b.max_abs_smd = MaxAbs(smds);
  double chi = 0;
  std::size_t rows = 0, cols = 0;
  for (std::size_t a = 0; a < k; ++a) {
    if (row[a] > 0) ++rows;
  }
  for (std::size_t l = 0; l < L; ++l) {
    if (col[l] > 0) ++cols;
  }
  for (std::size_t a = 0; a < k; ++a) {
    for (std::size_t l = 0; l < L; ++l) {
      if (!(row[a] > 0) || !(col[l] > 0)) continue;
      const double e = row[a] * col[l] / total;
      const double d = static_cast<double>(b.counts[a][l]) - e;
      chi += d * d / e;
    }
  }
  b.df = rows >= 2 && cols >= 2 ? static_cast<double>((rows - 1) * (cols - 1)) : 0.0;
  b.chi_square = b.df > 0 ? chi : kNaN;
  b.p_value = ChiSquareUpperTail(b.chi_square, b.df);
  return b;
}

JointBalance JointFor(const BalanceOptions& options, std::size_t k, absl::Span<const Unit> units,
                      absl::Span<const int> arm_of,
                      const std::vector<CategoricalBalance>& categorical) {
  JointBalance j{kNaN, kNaN, kNaN, 0};
  // Complete cases.
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < units.size(); ++i) {
    bool complete = true;
    for (std::size_t c = 0; c < options.numeric.size() && complete; ++c) {
      complete = !std::isnan(units[i].covariates[c]);
    }
    for (const std::string& name : options.categorical) {
      if (!complete) break;
      complete = LevelOf(units[i], name) != nullptr;
    }
    if (complete) rows.push_back(i);
  }
  j.n = static_cast<std::int64_t>(rows.size());
  std::size_t q = options.numeric.size();
  for (const CategoricalBalance& c : categorical) q += c.levels.empty() ? 0 : c.levels.size() - 1;
  if (q == 0 || rows.size() < 2) return j;
  const auto n = static_cast<Eigen::Index>(rows.size());
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(n, static_cast<Eigen::Index>(q));
  for (Eigen::Index r = 0; r < n; ++r) {
    const Unit& u = units[rows[static_cast<std::size_t>(r)]];
    Eigen::Index col = 0;
    for (std::size_t c = 0; c < options.numeric.size(); ++c) x(r, col++) = u.covariates[c];
    for (std::size_t c = 0; c < categorical.size(); ++c) {
      const std::vector<std::string>& levels = categorical[c].levels;
      const std::string* level = LevelOf(u, options.categorical[c]);
      for (std::size_t l = 1; l < levels.size(); ++l) x(r, col++) = *level == levels[l] ? 1 : 0;
    }
  }
  const Eigen::RowVectorXd mean = x.colwise().mean();
  x.rowwise() -= mean;
  const Eigen::MatrixXd s = (x.transpose() * x) / static_cast<double>(n - 1);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(s);
  if (eig.info() != Eigen::Success) return j;
  const Eigen::VectorXd values = eig.eigenvalues();
  const double largest = values.size() > 0 ? values.maxCoeff() : 0.0;
  if (!(largest > 0)) return j;
  Eigen::Index rank = 0;
  Eigen::VectorXd inv = Eigen::VectorXd::Zero(values.size());
  for (Eigen::Index e = 0; e < values.size(); ++e) {
    if (values(e) > largest * 1e-10) {
      inv(e) = 1.0 / values(e);
      ++rank;
    }
  }
  const Eigen::MatrixXd& vectors = eig.eigenvectors();
  double m = 0;
  std::size_t arms_with_data = 0;
  for (std::size_t a = 0; a < k; ++a) {
    Eigen::VectorXd d = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(q));
    double count = 0;
    for (Eigen::Index r = 0; r < n; ++r) {
      if (static_cast<std::size_t>(arm_of[rows[static_cast<std::size_t>(r)]]) != a) continue;
      d += x.row(r).transpose();
      count += 1;
    }
    if (count == 0) continue;
    ++arms_with_data;
    d /= count;
    const Eigen::VectorXd z = vectors.transpose() * d;
    m += count * (z.array().square() * inv.array()).sum();
  }
  if (arms_with_data < 2) return j;
  j.statistic = m;
  j.df = static_cast<double>(rank) * static_cast<double>(arms_with_data - 1);
  j.p_value = ChiSquareUpperTail(j.statistic, j.df);
  return j;
}

}  // namespace

double ChiSquareUpperTail(double x, double df) {
  if (std::isnan(x) || std::isnan(df) || !(df > 0)) return kNaN;
  if (x <= 0) return 1.0;
  if (std::isinf(x)) return 0.0;
  return boost::math::cdf(boost::math::complement(boost::math::chi_squared(df), x));
}

TestResult WelchTTest(double mean0, double sd0, double n0, double mean1, double sd1, double n1) {
  TestResult r{kNaN, kNaN, 0, kNaN};
  if (!(n0 >= 2 && n1 >= 2) || std::isnan(sd0) || std::isnan(sd1)) return r;
  const double v0 = sd0 * sd0 / n0;
  const double v1 = sd1 * sd1 / n1;
  const double se2 = v0 + v1;
  if (!(se2 > 0)) return r;
  r.statistic = (mean1 - mean0) / std::sqrt(se2);
  r.df1 = se2 * se2 / (v0 * v0 / (n0 - 1) + v1 * v1 / (n1 - 1));
  r.p_value = 2 * boost::math::cdf(boost::math::complement(boost::math::students_t(r.df1),
                                                           std::fabs(r.statistic)));
  return r;
}

TestResult OneWayAnova(absl::Span<const double> means, absl::Span<const double> sds,
                       absl::Span<const double> ns) {
  TestResult r{kNaN, kNaN, kNaN, kNaN};
  const std::size_t k = means.size();
  if (k < 2) return r;
  double n = 0, grand = 0;
  for (std::size_t a = 0; a < k; ++a) {
    n += ns[a];
    grand += ns[a] * means[a];
  }
  grand /= n;
  double between = 0, within = 0;
  for (std::size_t a = 0; a < k; ++a) {
    between += ns[a] * (means[a] - grand) * (means[a] - grand);
    if (ns[a] > 1) within += (ns[a] - 1) * sds[a] * sds[a];
  }
  r.df1 = static_cast<double>(k - 1);
  r.df2 = n - static_cast<double>(k);
  if (!(r.df2 > 0) || !(within > 0)) return r;
  r.statistic = (between / r.df1) / (within / r.df2);
  r.p_value =
      boost::math::cdf(boost::math::complement(boost::math::fisher_f(r.df1, r.df2), r.statistic));
  return r;
}

absl::StatusOr<SampleRatioMismatch> SampleRatioTest(absl::Span<const std::int64_t> observed,
                                                    absl::Span<const Arm> arms) {
  if (auto s = ValidateArms(arms); !s.ok()) return s;
  if (observed.size() != arms.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("observed: ", observed.size(), " counts for ", arms.size(), " arms"));
  }
  SampleRatioMismatch srm;
  srm.observed.assign(observed.begin(), observed.end());
  double n = 0;
  for (const std::int64_t o : observed) {
    if (o < 0) return absl::InvalidArgumentError("observed: negative count");
    n += static_cast<double>(o);
  }
  const auto total = static_cast<double>(TotalWeight(arms));
  double chi = 0;
  for (std::size_t a = 0; a < arms.size(); ++a) {
    const double e = n * static_cast<double>(arms[a].weight) / total;
    srm.expected.push_back(e);
    if (e > 0)
      chi += (static_cast<double>(observed[a]) - e) * (static_cast<double>(observed[a]) - e) / e;
  }
  srm.df = static_cast<double>(arms.size() - 1);
  srm.chi_square = n > 0 ? chi : kNaN;
  srm.p_value = ChiSquareUpperTail(srm.chi_square, srm.df);
  return srm;
}

absl::StatusOr<BalanceReport> ComputeBalance(absl::Span<const Arm> arms,
                                             absl::Span<const Unit> units,
                                             absl::Span<const int> arm_of,
                                             const BalanceOptions& options) {
  if (auto s = ValidateArms(arms); !s.ok()) return s;
  if (arm_of.size() != units.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("arm_of: ", arm_of.size(), " arms for ", units.size(), " units"));
  }
  const std::size_t k = arms.size();
  BalanceReport report;
  report.arm_counts.assign(k, 0);
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (arm_of[i] < 0 || static_cast<std::size_t>(arm_of[i]) >= k) {
      return absl::InvalidArgumentError(
          absl::StrCat("arm_of[", i, "]: participant \"", units[i].id, "\" has no valid arm"));
    }
    if (units[i].covariates.size() != options.numeric.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("units[", i, "].covariates: participant \"", units[i].id, "\" has ",
                       units[i].covariates.size(), " values, expected ", options.numeric.size()));
    }
    ++report.arm_counts[static_cast<std::size_t>(arm_of[i])];
  }
  for (std::size_t j = 0; j < options.numeric.size(); ++j) {
    report.numeric.push_back(NumericFor(options.numeric[j], j, k, units, arm_of));
  }
  for (const std::string& name : options.categorical) {
    report.categorical.push_back(CategoricalFor(name, k, units, arm_of));
  }
  report.joint = JointFor(options, k, units, arm_of, report.categorical);
  auto srm = SampleRatioTest(report.arm_counts, arms);
  if (!srm.ok()) return srm.status();
  report.sample_ratio = std::move(*srm);
  return report;
}

}  // namespace fieldwork::randomisation
