#include "services/randomisation/methods/design.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fieldwork::randomisation {

std::string_view MethodName(Method method) {
  switch (method) {
    case Method::kSimple:
      return "simple";
    case Method::kComplete:
      return "complete";
    case Method::kCompleteWithinStrata:
      return "complete_within_strata";
    case Method::kCluster:
      return "cluster";
    case Method::kClusterWithinStrata:
      return "cluster_within_strata";
    case Method::kRerandomisation:
      return "rerandomisation";
    case Method::kPermutedBlocks:
      return "permuted_blocks";
    case Method::kMinimisation:
      return "minimisation";
  }
  return "unknown";
}

bool IsSequential(Method method) {
  return method == Method::kPermutedBlocks || method == Method::kMinimisation;
}

PermutedBlocksDesign ToPermutedBlocksDesign(const FactorDesign& design) {
  return PermutedBlocksDesign{design.arms, design.block_sizes};
}

MinimisationDesign ToMinimisationDesign(const FactorDesign& design) {
  MinimisationDesign m;
  m.arms = design.arms;
  m.factors = design.minimisation_factors;
  m.measure = design.imbalance;
  m.p_minimising = design.p_minimising;
  m.random_first = design.random_first;
  return m;
}

absl::StatusOr<FactorAllocation> AllocateFactor(std::string_view secret, std::string_view trial,
                                                std::string_view cohort, const FactorDesign& design,
                                                absl::Span<const Unit> units) {
  if (design.name.empty()) return absl::InvalidArgumentError("factor.name: empty");
  auto gen = Generator::Create(secret, Scope{std::string(trial), design.name, std::string(cohort)});
  if (!gen.ok()) return gen.status();
  FactorAllocation result;
  result.factor = design.name;
  absl::StatusOr<std::vector<int>> arms;
  switch (design.method) {
    case Method::kSimple:
      arms = AllocateSimple(*gen, design.arms, units);
      break;
    case Method::kComplete:
      arms = AllocateComplete(*gen, design.arms, units);
      break;
    case Method::kCompleteWithinStrata:
      arms = AllocateCompleteWithinStrata(*gen, design.arms, units);
      break;
    case Method::kCluster:
      arms = AllocateCluster(*gen, design.arms, units);
      break;
    case Method::kClusterWithinStrata:
      arms = AllocateClusterWithinStrata(*gen, design.arms, units, design.cluster);
      break;
    case Method::kRerandomisation: {
      auto r = Rerandomise(*gen, design.arms, units, design.rerandomisation);
      if (!r.ok()) return r.status();
      result.draws_used = r->draws_used;
      result.distance = r->distance;
      result.threshold = r->threshold;
      arms = std::move(r->arms);
      break;
    }
    case Method::kPermutedBlocks:
      arms = AllocatePermutedBlocks(*gen, ToPermutedBlocksDesign(design), units);
      break;
    case Method::kMinimisation:
      arms = AllocateMinimisation(*gen, ToMinimisationDesign(design), units);
      break;
  }
  if (!arms.ok()) {
    return absl::Status(arms.status().code(),
                        absl::StrCat("factor \"", design.name, "\": ", arms.status().message()));
  }
  result.arms = std::move(*arms);
  return result;
}

absl::StatusOr<std::vector<FactorAllocation>> AllocateFactors(
    std::string_view secret, std::string_view trial, std::string_view cohort,
    absl::Span<const FactorDesign> factors, absl::Span<const Unit> units) {
  if (factors.empty()) return absl::InvalidArgumentError("factors: none");
  absl::flat_hash_set<std::string_view> names;
  for (std::size_t i = 0; i < factors.size(); ++i) {
    if (factors[i].name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("factors[", i, "].name: empty"));
    }
    if (!names.insert(factors[i].name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("factors[", i, "].name: duplicate factor \"", factors[i].name, "\""));
    }
  }
  std::vector<FactorAllocation> out;
  out.reserve(factors.size());
  for (const FactorDesign& f : factors) {
    auto a = AllocateFactor(secret, trial, cohort, f, units);
    if (!a.ok()) return a.status();
    out.push_back(std::move(*a));
  }
  return out;
}

}  // namespace fieldwork::randomisation
