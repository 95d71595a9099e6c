// One entry point over every method: a factor's design, and several independent factors per
// participant. Each factor is keyed by its name (Scope::factor), so factors are independent.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_METHODS_DESIGN_H_
#define FIELDWORK_SERVICES_RANDOMISATION_METHODS_DESIGN_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/randomisation/methods/batch.h"
#include "services/randomisation/methods/blocks.h"
#include "services/randomisation/methods/minimisation.h"
#include "services/randomisation/methods/types.h"

namespace fieldwork::randomisation {

enum class Method {
  kSimple,
  kComplete,
  kCompleteWithinStrata,
  kCluster,
  kClusterWithinStrata,
  kRerandomisation,  // of complete, or of complete within strata (rerandomisation.within_strata)
  kPermutedBlocks,   // sequential
  kMinimisation,     // sequential
};

// "simple", "complete", ... as used in contexts and messages.
std::string_view MethodName(Method method);
// True for the methods that allocate one arrival at a time.
bool IsSequential(Method method);

struct FactorDesign {
  std::string name;  // non-empty; part of every key
  std::vector<Arm> arms;
  Method method = Method::kCompleteWithinStrata;
  ClusterOptions cluster;                  // kClusterWithinStrata
  RerandomisationOptions rerandomisation;  // kRerandomisation
  std::vector<std::int64_t> block_sizes;   // kPermutedBlocks
  // kMinimisation
  std::vector<MinimisationFactor> minimisation_factors;
  ImbalanceMeasure imbalance = ImbalanceMeasure::kRange;
  double p_minimising = 0.8;
  std::int64_t random_first = 0;
};

PermutedBlocksDesign ToPermutedBlocksDesign(const FactorDesign& design);
MinimisationDesign ToMinimisationDesign(const FactorDesign& design);

struct FactorAllocation {
  std::string factor;
  std::vector<int> arms;         // parallel to the input units
  std::uint64_t draws_used = 1;  // rerandomisation: draws made (else 1)
  double distance = 0;           // rerandomisation: the accepted draw's Mahalanobis distance
  double threshold = 0;          // rerandomisation: the acceptance threshold
};

// Allocates every unit for one factor. Batch methods do not depend on the order of `units`;
// the sequential methods take `units` as the arrival sequence, starting from an empty state
// (a replay of AllocateNext).
absl::StatusOr<FactorAllocation> AllocateFactor(std::string_view secret, std::string_view trial,
                                                std::string_view cohort, const FactorDesign& design,
                                                absl::Span<const Unit> units);

// Every factor, independently; factor names must be distinct and non-empty.
absl::StatusOr<std::vector<FactorAllocation>> AllocateFactors(
    std::string_view secret, std::string_view trial, std::string_view cohort,
    absl::Span<const FactorDesign> factors, absl::Span<const Unit> units);

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_METHODS_DESIGN_H_
