#include "services/analysis/stats/power.h"

#include <boost/math/distributions/non_central_t.hpp>
#include <cmath>
#include <cstdio>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/analysis/stats/distributions.h"

namespace fieldwork::analysis {
namespace {

absl::Status CheckTest(const TestSpec& t) {
  if (!(t.alpha > 0.0 && t.alpha < 1.0)) {
    return absl::InvalidArgumentError("power: alpha must be strictly between 0 and 1");
  }
  if (!(t.power > 0.0 && t.power < 1.0)) {
    return absl::InvalidArgumentError("power: power must be strictly between 0 and 1");
  }
  return absl::OkStatus();
}

absl::Status CheckShare(double p, const char* what) {
  if (!(p > 0.0 && p < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("power: ", what, " must be strictly between 0 and 1; got ", p));
  }
  return absl::OkStatus();
}

absl::Status CheckRate(double r) {
  if (!(r > 0.0 && r <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("power: response rate must be in (0, 1]; got ", r));
  }
  return absl::OkStatus();
}

absl::Status CheckR2(double r2, const char* what) {
  if (!(r2 >= 0.0 && r2 < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("power: ", what, " must be in [0, 1); got ", r2));
  }
  return absl::OkStatus();
}

// Standard error of the standardised effect and df, before the multiplier.
struct Spread {
  double se = 0;
  double df = 0;
  double effective_n = 0;
};

absl::StatusOr<Spread> SpreadOf(const IndividualDesign& d) {
  if (absl::Status s = CheckTest(d.test); !s.ok()) return s;
  if (absl::Status s = CheckShare(d.treated_share, "treated share"); !s.ok()) return s;
  if (absl::Status s = CheckRate(d.response_rate); !s.ok()) return s;
  if (absl::Status s = CheckR2(d.r_squared, "R-squared"); !s.ok()) return s;
  if (d.covariates < 0) return absl::InvalidArgumentError("power: covariates must be >= 0");
  Spread out;
  out.effective_n = d.n * d.response_rate;
  out.df = out.effective_n - d.covariates - 2.0;
  if (!(out.df > 0.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("power: ", out.effective_n,
                     " expected respondents leave no degrees of freedom (need more "
                     "than covariates + 2 = ",
                     d.covariates + 2, ")"));
  }
  const double p = d.treated_share;
  out.se = std::sqrt((1.0 - d.r_squared) / (p * (1.0 - p) * out.effective_n));
  return out;
}

absl::StatusOr<Spread> SpreadOf(const ClusterDesign& d) {
  if (absl::Status s = CheckTest(d.test); !s.ok()) return s;
  if (absl::Status s = CheckShare(d.treated_share, "treated share"); !s.ok()) return s;
  if (absl::Status s = CheckRate(d.response_rate); !s.ok()) return s;
  if (absl::Status s = CheckR2(d.r_squared_individual, "individual-level R-squared"); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckR2(d.r_squared_cluster, "cluster-level R-squared"); !s.ok()) {
    return s;
  }
  if (!(d.icc >= 0.0 && d.icc <= 1.0)) {
    return absl::InvalidArgumentError("power: the ICC must be in [0, 1]");
  }
  if (!(d.cluster_size > 0.0)) {
    return absl::InvalidArgumentError("power: cluster size must be positive");
  }
  if (d.covariates < 0) return absl::InvalidArgumentError("power: covariates must be >= 0");
  Spread out;
  const double n = d.cluster_size * d.response_rate;
  const double j = d.clusters;
  out.effective_n = n * j;
  out.df = j - d.covariates - 2.0;
  if (!(out.df > 0.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "power: ", j, " clusters leave no degrees of freedom (need more than covariates + 2)"));
  }
  const double pq = d.treated_share * (1.0 - d.treated_share);
  out.se = std::sqrt(d.icc * (1.0 - d.r_squared_cluster) / (pq * j) +
                     (1.0 - d.icc) * (1.0 - d.r_squared_individual) / (pq * j * n));
  return out;
}

template <typename Design>
absl::StatusOr<Mdes> MdesOf(const Design& d) {
  absl::StatusOr<Spread> s = SpreadOf(d);
  if (!s.ok()) return s.status();
  Mdes out;
  out.df = s->df;
  out.multiplier = PowerUpMultiplier(s->df, d.test);
  out.standard_error = s->se;
  out.mdes = out.multiplier * s->se;
  out.effective_n = s->effective_n;
  return out;
}

template <typename Design>
absl::StatusOr<double> PowerOf(const Design& d, double es) {
  absl::StatusOr<Spread> s = SpreadOf(d);
  if (!s.ok()) return s.status();
  if (!std::isfinite(es)) return absl::InvalidArgumentError("power: effect size not finite");
  const double lambda = es / s->se;
  const boost::math::non_central_t_distribution<> dist(s->df, lambda);
  if (!d.test.two_tailed) {
    const double crit = TQuantile(1.0 - d.test.alpha, s->df);
    return boost::math::cdf(boost::math::complement(dist, crit));
  }
  const double crit = TQuantile(1.0 - d.test.alpha / 2.0, s->df);
  return boost::math::cdf(boost::math::complement(dist, crit)) + boost::math::cdf(dist, -crit);
}

template <typename Design>
absl::StatusOr<MdesLedger> LedgerOf(const Design& plan, double actual_rate, double achieved) {
  if (absl::Status s = CheckRate(actual_rate); !s.ok()) return s;
  if (!(achieved > 0.0) || !std::isfinite(achieved)) {
    return absl::InvalidArgumentError("power: the achieved MDES must be positive and finite");
  }
  absl::StatusOr<Mdes> planned = MdesOf(plan);
  if (!planned.ok()) return planned.status();
  Design at_actual = plan;
  at_actual.response_rate = actual_rate;
  absl::StatusOr<Mdes> step = MdesOf(at_actual);
  if (!step.ok()) return step.status();
  MdesLedger l;
  l.planned = planned->mdes;
  l.planned_response_rate = plan.response_rate;
  l.actual_response_rate = actual_rate;
  l.planned_at_actual_response = step->mdes;
  l.achieved = achieved;
  l.change_total = achieved - l.planned;
  l.change_due_to_response_rate = l.planned_at_actual_response - l.planned;
  l.change_other = achieved - l.planned_at_actual_response;
  l.share_due_to_response_rate = l.change_total == 0.0
                                     ? std::numeric_limits<double>::quiet_NaN()
                                     : l.change_due_to_response_rate / l.change_total;
  l.ratio_total = achieved / l.planned;
  l.ratio_response_rate = l.planned_at_actual_response / l.planned;
  l.ratio_other = achieved / l.planned_at_actual_response;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "MDES %.3f achieved against %.3f planned; with the %.0f%% response rate achieved "
                "instead of the %.0f%% planned the plan gives %.3f, so the response rate "
                "accounts for %+.3f of the %+.3f change and everything else for %+.3f",
                l.achieved, l.planned, 100.0 * actual_rate, 100.0 * plan.response_rate,
                l.planned_at_actual_response, l.change_due_to_response_rate, l.change_total,
                l.change_other);
  l.summary = buf;
  return l;
}

}  // namespace

double PowerUpMultiplier(double df, const TestSpec& test) {
  const double t1 = test.two_tailed ? std::fabs(TQuantile(test.alpha / 2.0, df))
                                    : std::fabs(TQuantile(test.alpha, df));
  const double t2 = std::fabs(TQuantile(test.power, df));
  return test.power >= 0.5 ? t1 + t2 : t1 - t2;
}

absl::StatusOr<Mdes> PlannedMdes(const IndividualDesign& design) { return MdesOf(design); }
absl::StatusOr<Mdes> PlannedMdes(const ClusterDesign& design) { return MdesOf(design); }

absl::StatusOr<double> PowerForEffect(const IndividualDesign& design, double effect_size) {
  return PowerOf(design, effect_size);
}
absl::StatusOr<double> PowerForEffect(const ClusterDesign& design, double effect_size) {
  return PowerOf(design, effect_size);
}

absl::StatusOr<AchievedMdes> ComputeAchievedMdes(double std_error, double df, double outcome_sd,
                                                 const TestSpec& test) {
  if (absl::Status s = CheckTest(test); !s.ok()) return s;
  if (!(std_error > 0.0) || !std::isfinite(std_error)) {
    return absl::InvalidArgumentError("achieved MDES: the standard error must be positive");
  }
  if (!(df > 0.0)) return absl::InvalidArgumentError("achieved MDES: df must be positive");
  if (!(outcome_sd > 0.0) || !std::isfinite(outcome_sd)) {
    return absl::InvalidArgumentError("achieved MDES: the outcome SD must be positive");
  }
  AchievedMdes out;
  out.df = df;
  out.multiplier = PowerUpMultiplier(df, test);
  out.mdes_raw = out.multiplier * std_error;
  out.outcome_sd = outcome_sd;
  out.mdes = out.mdes_raw / outcome_sd;
  return out;
}

absl::StatusOr<MdesLedger> BuildMdesLedger(const IndividualDesign& plan,
                                           double actual_response_rate, double achieved_mdes) {
  return LedgerOf(plan, actual_response_rate, achieved_mdes);
}

absl::StatusOr<MdesLedger> BuildMdesLedger(const ClusterDesign& plan, double actual_response_rate,
                                           double achieved_mdes) {
  return LedgerOf(plan, actual_response_rate, achieved_mdes);
}

}  // namespace fieldwork::analysis
