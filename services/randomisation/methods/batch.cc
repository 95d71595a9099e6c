#include "services/randomisation/methods/batch.h"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <boost/math/distributions/chi_squared.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fieldwork::randomisation {
namespace {

// A stratum's (or the whole sample's) items in canonical order: units sorted by participant
// id, or clusters sorted by cluster id, as raw bytes.
struct Group {
  std::string key;
  std::vector<std::uint32_t> items;
};

absl::Status CheckSize(absl::Span<const Unit> units) {
  if (units.size() > std::numeric_limits<std::uint32_t>::max()) {
    return absl::InvalidArgumentError("units: more than 2^32 - 1 units in one call");
  }
  return absl::OkStatus();
}

// The first 8 bytes of an id, big-endian, zero-padded: comparing these numbers first and the
// whole ids only when they are equal gives the same order as comparing the ids bytewise, with
// far fewer memory reads.
std::uint64_t Prefix(std::string_view id) {
  std::uint64_t p = 0;
  for (std::size_t b = 0; b < 8; ++b) {
    p = (p << 8) | (b < id.size() ? static_cast<unsigned char>(id[b]) : 0U);
  }
  return p;
}

struct SortKey {
  std::uint64_t prefix;
  std::uint32_t index;
};

// Units grouped by stratum (or all in one group), each group sorted by participant id.
std::vector<Group> GroupUnits(absl::Span<const Unit> units, bool by_stratum) {
  std::vector<Group> groups;
  std::vector<std::uint32_t> group_of(units.size(), 0);
  if (by_stratum) {
    absl::flat_hash_map<std::string_view, std::uint32_t> index;
    for (std::uint32_t i = 0; i < units.size(); ++i) {
      auto [it, inserted] =
          index.try_emplace(units[i].stratum, static_cast<std::uint32_t>(groups.size()));
      if (inserted) groups.push_back(Group{units[i].stratum, {}});
      group_of[i] = it->second;
    }
  } else if (!units.empty()) {
    groups.push_back(Group{"", {}});
  }
  // Counting sort into groups, then each group sorted by id.
  std::vector<std::size_t> start(groups.size() + 1, 0);
  for (const std::uint32_t g : group_of) ++start[g + 1];
  for (std::size_t g = 0; g < groups.size(); ++g) start[g + 1] += start[g];
  std::vector<SortKey> keys(units.size());
  std::vector<std::size_t> fill(start.begin(), start.end() - 1);
  for (std::uint32_t i = 0; i < units.size(); ++i) {
    keys[fill[group_of[i]]++] = SortKey{Prefix(units[i].id), i};
  }
  const auto less = [&](const SortKey& a, const SortKey& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    return units[a.index].id < units[b.index].id;
  };
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto first = keys.begin() + static_cast<std::ptrdiff_t>(start[g]);
    const auto last = keys.begin() + static_cast<std::ptrdiff_t>(start[g + 1]);
    std::sort(first, last, less);
    groups[g].items.reserve(start[g + 1] - start[g]);
    for (auto it = first; it != last; ++it) groups[g].items.push_back(it->index);
  }
  return groups;
}

// Arm labels for the items of one group: exact counts, then a Fisher–Yates shuffle.
std::vector<int> ShuffledLabels(Stream& stream, absl::Span<const std::int64_t> weights,
                                std::size_t n) {
  const std::vector<std::int64_t> counts =
      ExactCounts(stream, weights, static_cast<std::int64_t>(n));
  std::vector<int> labels;
  labels.reserve(n);
  for (std::size_t a = 0; a < counts.size(); ++a) {
    labels.insert(labels.end(), static_cast<std::size_t>(counts[a]), static_cast<int>(a));
  }
  stream.Shuffle(absl::MakeSpan(labels));
  return labels;
}

Context GroupContext(std::string_view method, const Group& group, bool with_stratum,
                     std::uint64_t draw) {
  Context context;
  context.Add("method", method);
  if (with_stratum) context.Add("stratum", std::string_view(group.key));
  context.Add("draw", draw);
  return context;
}

// Allocates unit groups (complete / complete within strata) into `out`.
void AllocateUnitGroups(const Generator& gen, std::string_view method, bool with_stratum,
                        absl::Span<const std::int64_t> weights, const std::vector<Group>& groups,
                        std::uint64_t draw, std::vector<int>& out) {
  for (const Group& g : groups) {
    Stream stream = gen.Open(GroupContext(method, g, with_stratum, draw));
    const std::vector<int> labels = ShuffledLabels(stream, weights, g.items.size());
    for (std::size_t j = 0; j < g.items.size(); ++j) out[g.items[j]] = labels[j];
  }
}

// Clusters of a call: their ids, members and stratum.
struct Clusters {
  std::vector<std::string> ids;
  std::vector<std::vector<std::uint32_t>> members;
  std::vector<Group> groups;  // items are indices into ids, sorted by cluster id
};

absl::StatusOr<Clusters> GroupClusters(absl::Span<const Unit> units, bool by_stratum,
                                       bool forbid_across) {
  Clusters c;
  absl::flat_hash_map<std::string_view, std::uint32_t> index;
  for (std::uint32_t i = 0; i < units.size(); ++i) {
    const Unit& u = units[i];
    if (u.cluster.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("units[", i, "].cluster: participant \"", u.id, "\" has no cluster id"));
    }
    auto [it, inserted] = index.try_emplace(u.cluster, static_cast<std::uint32_t>(c.ids.size()));
    if (inserted) {
      c.ids.push_back(u.cluster);
      c.members.emplace_back();
    }
    c.members[it->second].push_back(i);
  }
  // Each cluster's stratum.
  std::vector<std::string> stratum_of(c.ids.size());
  for (std::size_t k = 0; k < c.ids.size(); ++k) {
    if (!by_stratum) continue;
    std::map<std::string_view, std::size_t> tally;
    for (const std::uint32_t i : c.members[k]) ++tally[units[i].stratum];
    if (tally.size() > 1 && forbid_across) {
      // Name the first member (in input order) whose stratum differs from the first's.
      const auto& members = c.members[k];
      const Unit& first = units[members.front()];
      for (const std::uint32_t i : members) {
        if (units[i].stratum != first.stratum) {
          return absl::InvalidArgumentError(absl::StrCat(
              "units[", i, "].cluster: cluster \"", c.ids[k], "\" spans strata \"", first.stratum,
              "\" (participant \"", first.id, "\") and \"", units[i].stratum, "\" (participant \"",
              units[i].id, "\"), which the design forbids"));
        }
      }
    }
    std::string_view best;
    std::size_t best_count = 0;
    for (const auto& [stratum, count] : tally) {  // ascending keys: ties keep the smallest
      if (count > best_count) {
        best = stratum;
        best_count = count;
      }
    }
    stratum_of[k] = std::string(best);
  }
  absl::flat_hash_map<std::string_view, std::size_t> group_index;
  for (std::uint32_t k = 0; k < c.ids.size(); ++k) {
    const std::string_view key = stratum_of[k];
    auto [it, inserted] = group_index.try_emplace(key, c.groups.size());
    if (inserted) c.groups.push_back(Group{std::string(key), {}});
    c.groups[it->second].items.push_back(k);
  }
  for (Group& g : c.groups) {
    std::sort(g.items.begin(), g.items.end(),
              [&](std::uint32_t a, std::uint32_t b) { return c.ids[a] < c.ids[b]; });
  }
  return c;
}

absl::StatusOr<std::vector<int>> ClusterImpl(const Generator& gen, absl::Span<const Arm> arms,
                                             absl::Span<const Unit> units, bool by_stratum,
                                             bool forbid_across, std::uint64_t draw) {
  if (auto s = ValidateArms(arms); !s.ok()) return s;
  if (auto s = CheckSize(units); !s.ok()) return s;
  if (auto s = ValidateIds(units); !s.ok()) return s;
  auto clusters = GroupClusters(units, by_stratum, forbid_across);
  if (!clusters.ok()) return clusters.status();
  const std::vector<std::int64_t> weights = Weights(arms);
  const std::string_view method = by_stratum ? "cluster_within_strata" : "cluster";
  std::vector<int> out(units.size(), -1);
  for (const Group& g : clusters->groups) {
    Stream stream = gen.Open(GroupContext(method, g, by_stratum, draw));
    const std::vector<int> labels = ShuffledLabels(stream, weights, g.items.size());
    for (std::size_t j = 0; j < g.items.size(); ++j) {
      for (const std::uint32_t i : clusters->members[g.items[j]]) out[i] = labels[j];
    }
  }
  return out;
}

absl::Status ValidateBatch(absl::Span<const Arm> arms, absl::Span<const Unit> units) {
  if (auto s = ValidateArms(arms); !s.ok()) return s;
  if (auto s = CheckSize(units); !s.ok()) return s;
  return ValidateIds(units);
}

// Mahalanobis distance of arm means from precomputed centred covariates (rows in a fixed
// order) and the Cholesky factor of their covariance.
class Mahalanobis {
 public:
  static absl::StatusOr<Mahalanobis> Create(absl::Span<const Unit> units,
                                            absl::Span<const std::uint32_t> order) {
    if (units.empty()) return absl::InvalidArgumentError("units: none to compare");
    const std::size_t q = units[order[0]].covariates.size();
    if (q == 0) {
      return absl::InvalidArgumentError(
          "covariates: the Mahalanobis criterion needs at least one numeric covariate");
    }
    const std::size_t n = order.size();
    Eigen::MatrixXd x(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(q));
    for (std::size_t r = 0; r < n; ++r) {
      const std::uint32_t i = order[r];
      const Unit& u = units[i];
      if (u.covariates.size() != q) {
        return absl::InvalidArgumentError(absl::StrCat("units[", i, "].covariates: participant \"",
                                                       u.id, "\" has ", u.covariates.size(),
                                                       " values, expected ", q));
      }
      for (std::size_t j = 0; j < q; ++j) {
        if (!std::isfinite(u.covariates[j])) {
          return absl::InvalidArgumentError(absl::StrCat("units[", i, "].covariates[", j,
                                                         "]: participant \"", u.id,
                                                         "\" has a missing or non-finite value"));
        }
        x(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(j)) = u.covariates[j];
      }
    }
    if (n < q + 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("covariates: ", n, " units are too few for ", q, " covariates"));
    }
    // Plain loops in row order, so sums do not depend on vectorisation.
    std::vector<double> mean(q, 0.0);
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t j = 0; j < q; ++j) {
        mean[j] += x(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(j));
      }
    }
    for (double& m : mean) m /= static_cast<double>(n);
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t j = 0; j < q; ++j) {
        x(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(j)) -= mean[j];
      }
    }
    Eigen::MatrixXd s =
        Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(q), static_cast<Eigen::Index>(q));
    for (Eigen::Index a = 0; a < s.rows(); ++a) {
      for (Eigen::Index b = 0; b <= a; ++b) {
        double acc = 0;
        for (Eigen::Index r = 0; r < x.rows(); ++r) acc += x(r, a) * x(r, b);
        s(a, b) = s(b, a) = acc / static_cast<double>(n - 1);
      }
    }
    Eigen::LLT<Eigen::MatrixXd> llt(s);
    if (llt.info() != Eigen::Success || !(llt.rcond() > 1e-12)) {
      return absl::InvalidArgumentError(
          "covariates: their covariance matrix is singular (a constant or collinear "
          "covariate); drop or combine covariates");
    }
    return Mahalanobis(std::move(x), std::move(llt));
  }

  // arm[r] is the arm of row r.
  double Distance(absl::Span<const int> arm, int num_arms) const {
    const auto q = x_.cols();
    const auto k = static_cast<std::size_t>(num_arms);
    std::vector<double> sums(k * static_cast<std::size_t>(q), 0.0);
    std::vector<double> counts(k, 0.0);
    for (Eigen::Index r = 0; r < x_.rows(); ++r) {
      const auto a = static_cast<std::size_t>(arm[static_cast<std::size_t>(r)]);
      counts[a] += 1;
      for (Eigen::Index j = 0; j < q; ++j) {
        sums[a * static_cast<std::size_t>(q) + static_cast<std::size_t>(j)] += x_(r, j);
      }
    }
    double m = 0;
    Eigen::VectorXd d(q);
    for (std::size_t a = 0; a < k; ++a) {
      if (counts[a] == 0) continue;
      for (Eigen::Index j = 0; j < q; ++j) {
        d(j) = sums[a * static_cast<std::size_t>(q) + static_cast<std::size_t>(j)] / counts[a];
      }
      const Eigen::VectorXd y = llt_.matrixL().solve(d);
      double yy = 0;
      for (Eigen::Index j = 0; j < q; ++j) yy += y(j) * y(j);
      m += counts[a] * yy;
    }
    return m;
  }

  int num_covariates() const { return static_cast<int>(x_.cols()); }

 private:
  Mahalanobis(Eigen::MatrixXd x, Eigen::LLT<Eigen::MatrixXd> llt)
      : x_(std::move(x)), llt_(std::move(llt)) {}
  Eigen::MatrixXd x_;  // centred covariates
  Eigen::LLT<Eigen::MatrixXd> llt_;
};

}  // namespace

std::vector<std::int64_t> ExactCounts(Stream& stream, absl::Span<const std::int64_t> weights,
                                      std::int64_t n) {
  const std::size_t k = weights.size();
  const std::int64_t total = std::accumulate(weights.begin(), weights.end(), std::int64_t{0});
  std::vector<std::int64_t> counts(k), residue(k);
  std::int64_t assigned = 0;
  for (std::size_t a = 0; a < k; ++a) {
    counts[a] = n * weights[a] / total;
    residue[a] = n * weights[a] % total;  // fractional part of n·w/W, times W
    assigned += counts[a];
  }
  const std::int64_t remainder = n - assigned;  // Σ residue = remainder · W
  if (remainder == 0) return counts;
  // Random order of the arms, then systematic sampling of `remainder` points u, u+W, ...
  // over the arms' residues laid end to end: arm a gets one extra unit with probability
  // residue_a / W exactly.
  std::vector<std::size_t> order(k);
  std::iota(order.begin(), order.end(), std::size_t{0});
  stream.Shuffle(absl::MakeSpan(order));
  const auto u = static_cast<std::int64_t>(stream.Below(static_cast<std::uint64_t>(total)));
  std::int64_t start = 0;
  for (const std::size_t a : order) {
    const std::int64_t end = start + residue[a];
    // Is there a point u + j·W in [start, end)?  The first point at or after `start`:
    const std::int64_t j = start <= u ? 0 : (start - u + total - 1) / total;
    if (u + j * total < end) ++counts[a];
    start = end;
  }
  return counts;
}

absl::StatusOr<std::vector<int>> AllocateSimple(const Generator& gen, absl::Span<const Arm> arms,
                                                absl::Span<const Unit> units) {
  if (auto s = ValidateBatch(arms, units); !s.ok()) return s;
  const std::vector<std::int64_t> weights = Weights(arms);
  std::vector<int> out(units.size());
  for (std::size_t i = 0; i < units.size(); ++i) {
    Stream stream = gen.Open(Context().Add("method", "simple").Add("participant", units[i].id));
    out[i] = static_cast<int>(stream.WeightedIndex(weights));
  }
  return out;
}

absl::StatusOr<std::vector<int>> AllocateComplete(const Generator& gen, absl::Span<const Arm> arms,
                                                  absl::Span<const Unit> units,
                                                  std::uint64_t draw) {
  if (auto s = ValidateBatch(arms, units); !s.ok()) return s;
  std::vector<int> out(units.size(), -1);
  AllocateUnitGroups(gen, "complete", false, Weights(arms), GroupUnits(units, false), draw, out);
  return out;
}

absl::StatusOr<std::vector<int>> AllocateCompleteWithinStrata(const Generator& gen,
                                                              absl::Span<const Arm> arms,
                                                              absl::Span<const Unit> units,
                                                              std::uint64_t draw) {
  if (auto s = ValidateBatch(arms, units); !s.ok()) return s;
  std::vector<int> out(units.size(), -1);
  AllocateUnitGroups(gen, "complete_within_strata", true, Weights(arms), GroupUnits(units, true),
                     draw, out);
  return out;
}

absl::StatusOr<std::vector<int>> AllocateCluster(const Generator& gen, absl::Span<const Arm> arms,
                                                 absl::Span<const Unit> units, std::uint64_t draw) {
  return ClusterImpl(gen, arms, units, false, false, draw);
}

absl::StatusOr<std::vector<int>> AllocateClusterWithinStrata(const Generator& gen,
                                                             absl::Span<const Arm> arms,
                                                             absl::Span<const Unit> units,
                                                             const ClusterOptions& options,
                                                             std::uint64_t draw) {
  return ClusterImpl(gen, arms, units, true, options.forbid_clusters_across_strata, draw);
}

absl::StatusOr<RerandomisationResult> Rerandomise(const Generator& gen, absl::Span<const Arm> arms,
                                                  absl::Span<const Unit> units,
                                                  const RerandomisationOptions& options) {
  if (auto s = ValidateBatch(arms, units); !s.ok()) return s;
  if (!(options.acceptance_probability > 0 && options.acceptance_probability <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("rerandomisation.acceptance_probability: ", options.acceptance_probability,
                     " is not in (0, 1]"));
  }
  if (options.max_draws == 0) {
    return absl::InvalidArgumentError("rerandomisation.max_draws: must be at least 1");
  }
  const std::vector<Group> groups = GroupUnits(units, options.within_strata);
  // Canonical row order for the distance: by stratum group, then participant id. Sums run
  // in this order, so the distance does not depend on the order units were supplied in.
  std::vector<std::uint32_t> order;
  order.reserve(units.size());
  std::vector<const Group*> sorted_groups;
  for (const Group& g : groups) sorted_groups.push_back(&g);
  std::sort(sorted_groups.begin(), sorted_groups.end(),
            [](const Group* a, const Group* b) { return a->key < b->key; });
  for (const Group* g : sorted_groups) order.insert(order.end(), g->items.begin(), g->items.end());
  auto mahalanobis = Mahalanobis::Create(units, order);
  if (!mahalanobis.ok()) return mahalanobis.status();

  const int k = static_cast<int>(arms.size());
  RerandomisationResult result;
  result.df = mahalanobis->num_covariates() * (k - 1);
  if (result.df == 0) {
    return absl::InvalidArgumentError("arms: rerandomisation needs at least two arms");
  }
  result.threshold = options.acceptance_probability >= 1
                         ? std::numeric_limits<double>::infinity()
                         : boost::math::quantile(boost::math::chi_squared(result.df),
                                                 options.acceptance_probability);
  const std::vector<std::int64_t> weights = Weights(arms);
  const std::string_view method = options.within_strata ? "complete_within_strata" : "complete";
  std::vector<int> out(units.size(), -1);
  std::vector<int> rows(units.size());
  for (std::uint64_t draw = 0; draw < options.max_draws; ++draw) {
    AllocateUnitGroups(gen, method, options.within_strata, weights, groups, draw, out);
    for (std::size_t r = 0; r < order.size(); ++r) rows[r] = out[order[r]];
    const double m = mahalanobis->Distance(rows, k);
    if (m <= result.threshold) {
      result.arms = std::move(out);
      result.draws_used = draw + 1;
      result.distance = m;
      return result;
    }
  }
  return absl::FailedPreconditionError(
      absl::StrCat("rerandomisation: none of ", options.max_draws,
                   " draws had a Mahalanobis distance at most the threshold ", result.threshold,
                   " (acceptance probability ", options.acceptance_probability,
                   "); raise max_draws or the acceptance probability"));
}

absl::StatusOr<double> MahalanobisDistance(absl::Span<const Unit> units,
                                           absl::Span<const int> arm_of, int num_arms) {
  if (arm_of.size() != units.size()) {
    return absl::InvalidArgumentError("arm_of: not parallel to units");
  }
  for (std::size_t i = 0; i < arm_of.size(); ++i) {
    if (arm_of[i] < 0 || arm_of[i] >= num_arms) {
      return absl::InvalidArgumentError(absl::StrCat("arm_of[", i, "]: not an arm index"));
    }
  }
  std::vector<std::uint32_t> order(units.size());
  std::iota(order.begin(), order.end(), std::uint32_t{0});
  auto mahalanobis = Mahalanobis::Create(units, order);
  if (!mahalanobis.ok()) return mahalanobis.status();
  return mahalanobis->Distance(arm_of, num_arms);
}

}  // namespace fieldwork::randomisation
