#include "services/analysis/stats/time_bins.h"

#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fieldwork::analysis {

absl::StatusOr<std::vector<TimeBinEffect>> EstimateEffectByResponseTime(const TimeBinInput& input,
                                                                        const IttOptions& options) {
  const IttInput& in = input.itt;
  const Eigen::Index n = in.outcome.size();
  if (n == 0) return absl::InvalidArgumentError("time bins: empty input");
  if (input.time_since_intervention.size() != n || static_cast<Eigen::Index>(in.arm.size()) != n) {
    return absl::InvalidArgumentError("time bins: outcome, arm and times differ in length");
  }
  const std::vector<double>& e = input.bin_edges;
  if (e.size() < 2) return absl::InvalidArgumentError("time bins: need at least two edges");
  for (size_t i = 1; i < e.size(); ++i) {
    if (!(e[i] > e[i - 1])) {
      return absl::InvalidArgumentError("time bins: edges must be strictly ascending");
    }
  }
  std::vector<TimeBinEffect> out(e.size() - 1);
  std::vector<std::vector<Eigen::Index>> rows(out.size());
  std::int64_t outside = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double t = input.time_since_intervention(i);
    bool placed = false;
    for (size_t b = 0; b + 1 < e.size() && std::isfinite(t); ++b) {
      const bool last = b + 2 == e.size();
      if (t >= e[b] && (t < e[b + 1] || (last && t == e[b + 1]))) {
        rows[b].push_back(i);
        placed = true;
        break;
      }
    }
    if (!placed) ++outside;
  }
  for (size_t b = 0; b < out.size(); ++b) {
    TimeBinEffect& bin = out[b];
    bin.from = e[b];
    bin.to = e[b + 1];
    bin.n = static_cast<std::int64_t>(rows[b].size());
    if (b == 0 && outside > 0) {
      bin.warnings.push_back(
          absl::StrCat(outside, " row(s) with a response time outside every bin left out"));
    }
    const auto m = static_cast<Eigen::Index>(rows[b].size());
    IttInput sub;
    sub.control_arm = in.control_arm;
    sub.arm_order = in.arm_order;
    sub.outcome.resize(m);
    if (in.weights.size() > 0) sub.weights.resize(m);
    for (const Covariate& c : in.covariates) sub.covariates.push_back({c.name, Eigen::VectorXd(m)});
    for (Eigen::Index r = 0; r < m; ++r) {
      const Eigen::Index i = rows[b][static_cast<size_t>(r)];
      sub.outcome(r) = in.outcome(i);
      sub.arm.push_back(in.arm[static_cast<size_t>(i)]);
      if (in.weights.size() > 0) sub.weights(r) = in.weights(i);
      if (!in.strata.empty()) sub.strata.push_back(in.strata[static_cast<size_t>(i)]);
      if (!in.clusters.empty()) sub.clusters.push_back(in.clusters[static_cast<size_t>(i)]);
      for (size_t c = 0; c < in.covariates.size(); ++c) {
        sub.covariates[c].values(r) = in.covariates[c].values(i);
      }
    }
    absl::StatusOr<IttResult> r =
        m > 0 ? EstimateItt(sub, options) : absl::InvalidArgumentError("no rows in this bin");
    if (!r.ok()) {
      bin.warnings.push_back(absl::StrCat("not estimated: ", r.status().message()));
      continue;
    }
    bin.estimated = true;
    bin.itt = *std::move(r);
    bin.effects = bin.itt.effects;
    bin.warnings.insert(bin.warnings.end(), bin.itt.warnings.begin(), bin.itt.warnings.end());
  }
  return out;
}

}  // namespace fieldwork::analysis
