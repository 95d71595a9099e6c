#include "services/randomisation/methods/minimisation.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace fieldwork::randomisation {
namespace {

// Imbalance of weight-adjusted counts x_b = counts_b / w_b.
double Imbalance(ImbalanceMeasure measure, const std::vector<std::int64_t>& counts,
                 const std::vector<std::int64_t>& weights) {
  const std::size_t k = counts.size();
  if (measure == ImbalanceMeasure::kRange) {
    double lo = 0, hi = 0;
    for (std::size_t b = 0; b < k; ++b) {
      const double x = static_cast<double>(counts[b]) / static_cast<double>(weights[b]);
      if (b == 0 || x < lo) lo = x;
      if (b == 0 || x > hi) hi = x;
    }
    return hi - lo;
  }
  double sum = 0;
  for (std::size_t b = 0; b < k; ++b) {
    sum += static_cast<double>(counts[b]) / static_cast<double>(weights[b]);
  }
  const double mean = sum / static_cast<double>(k);
  double ss = 0;
  for (std::size_t b = 0; b < k; ++b) {
    const double d = static_cast<double>(counts[b]) / static_cast<double>(weights[b]) - mean;
    ss += d * d;
  }
  return ss / static_cast<double>(k);
}

// The unit's level of every factor, or an error naming the missing one.
absl::StatusOr<std::vector<const std::string*>> Levels(const MinimisationDesign& design,
                                                       const Unit& unit) {
  std::vector<const std::string*> levels;
  levels.reserve(design.factors.size());
  for (const MinimisationFactor& f : design.factors) {
    const auto it = unit.categorical.find(f.name);
    if (it == unit.categorical.end() || it->second.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("categorical[\"", f.name, "\"]: participant \"", unit.id,
                       "\" has no value for minimisation factor \"", f.name, "\""));
    }
    levels.push_back(&it->second);
  }
  return levels;
}

absl::Status ValidateState(const MinimisationDesign& design, const MinimisationState& state) {
  if (state.allocated < 0) return absl::InvalidArgumentError("state.allocated: negative");
  for (const auto& [factor, levels] : state.counts) {
    for (const auto& [level, counts] : levels) {
      if (counts.size() != design.arms.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("state.counts[\"", factor, "\"][\"", level, "\"]: has ", counts.size(),
                         " arms, the design has ", design.arms.size()));
      }
    }
  }
  return absl::OkStatus();
}

std::vector<double> Totals(const MinimisationDesign& design,
                           const std::vector<const std::string*>& levels,
                           const MinimisationState& state) {
  const std::size_t k = design.arms.size();
  const std::vector<std::int64_t> weights = Weights(design.arms);
  std::vector<double> g(k, 0.0);
  std::vector<std::int64_t> counts(k);
  for (std::size_t f = 0; f < design.factors.size(); ++f) {
    std::fill(counts.begin(), counts.end(), 0);
    if (auto fit = state.counts.find(design.factors[f].name); fit != state.counts.end()) {
      if (auto lit = fit->second.find(*levels[f]); lit != fit->second.end()) counts = lit->second;
    }
    for (std::size_t a = 0; a < k; ++a) {
      ++counts[a];
      const double imbalance = Imbalance(design.measure, counts, weights);
      --counts[a];
      g[a] += design.factors[f].weight * imbalance;
    }
  }
  return g;
}

}  // namespace

absl::Status ValidateMinimisationDesign(const MinimisationDesign& design) {
  if (auto s = ValidateArms(design.arms); !s.ok()) return s;
  if (design.factors.empty()) {
    return absl::InvalidArgumentError("minimisation.factors: at least one factor is needed");
  }
  absl::flat_hash_set<std::string_view> names;
  for (std::size_t i = 0; i < design.factors.size(); ++i) {
    const MinimisationFactor& f = design.factors[i];
    if (f.name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("minimisation.factors[", i, "].name: empty"));
    }
    if (!names.insert(f.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("minimisation.factors[", i, "].name: duplicate factor \"", f.name, "\""));
    }
    if (!(f.weight > 0) || !std::isfinite(f.weight)) {
      return absl::InvalidArgumentError(
          absl::StrCat("minimisation.factors[", i, "].weight: factor \"", f.name, "\" has weight ",
                       f.weight, "; it must be positive"));
    }
  }
  if (!(design.p_minimising >= 0 && design.p_minimising <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("minimisation.p_minimising: ", design.p_minimising, " is not in [0, 1]"));
  }
  if (design.random_first < 0) {
    return absl::InvalidArgumentError("minimisation.random_first: negative");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<double>> MinimisationImbalances(const MinimisationDesign& design,
                                                           const Unit& unit,
                                                           const MinimisationState& state) {
  if (auto s = ValidateMinimisationDesign(design); !s.ok()) return s;
  if (auto s = ValidateState(design, state); !s.ok()) return s;
  auto levels = Levels(design, unit);
  if (!levels.ok()) return levels.status();
  return Totals(design, *levels, state);
}

absl::StatusOr<int> MinimisationNext(const Generator& gen, const MinimisationDesign& design,
                                     const Unit& unit, MinimisationState& state) {
  if (auto s = ValidateMinimisationDesign(design); !s.ok()) return s;
  if (auto s = ValidateState(design, state); !s.ok()) return s;
  if (unit.id.empty()) return absl::InvalidArgumentError("unit.id: empty participant id");
  auto levels = Levels(design, unit);
  if (!levels.ok()) return levels.status();

  const std::size_t k = design.arms.size();
  const std::vector<std::int64_t> weights = Weights(design.arms);
  Stream stream = gen.Open(Context()
                               .Add("method", "minimisation")
                               .Add("participant", std::string_view(unit.id))
                               .Add("sequence", static_cast<std::uint64_t>(state.allocated)));
  std::size_t arm = 0;
  if (state.allocated < design.random_first) {
    arm = stream.WeightedIndex(weights);
  } else {
    const std::vector<double> g = Totals(design, *levels, state);
    const double best_g = *std::min_element(g.begin(), g.end());
    const double tolerance = kMinimisationTieTolerance * std::max(1.0, std::fabs(best_g));
    std::vector<std::size_t> tied;
    for (std::size_t a = 0; a < k; ++a) {
      if (g[a] <= best_g + tolerance) tied.push_back(a);
    }
    if (tied.size() == k) {
      arm = stream.WeightedIndex(weights);
    } else {
      const std::size_t best = tied.size() == 1 ? tied[0] : tied[stream.Below(tied.size())];
      if (stream.Uniform() < design.p_minimising) {
        arm = best;
      } else {
        std::vector<std::int64_t> others;
        std::vector<std::size_t> other_arms;
        for (std::size_t a = 0; a < k; ++a) {
          if (a == best) continue;
          others.push_back(weights[a]);
          other_arms.push_back(a);
        }
        arm = other_arms[stream.WeightedIndex(others)];
      }
    }
  }
  for (std::size_t f = 0; f < design.factors.size(); ++f) {
    std::vector<std::int64_t>& counts = state.counts[design.factors[f].name][*(*levels)[f]];
    counts.resize(k, 0);
    ++counts[arm];
  }
  ++state.allocated;
  return static_cast<int>(arm);
}

absl::StatusOr<std::vector<int>> AllocateMinimisation(const Generator& gen,
                                                      const MinimisationDesign& design,
                                                      absl::Span<const Unit> units) {
  if (auto s = ValidateMinimisationDesign(design); !s.ok()) return s;
  if (auto s = ValidateIds(units); !s.ok()) return s;
  MinimisationState state;
  std::vector<int> out(units.size());
  for (std::size_t i = 0; i < units.size(); ++i) {
    auto arm = MinimisationNext(gen, design, units[i], state);
    if (!arm.ok()) {
      return absl::Status(arm.status().code(),
                          absl::StrCat("units[", i, "].", arm.status().message()));
    }
    out[i] = *arm;
  }
  return out;
}

}  // namespace fieldwork::randomisation
