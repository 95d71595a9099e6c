// Minimisation (Pocock–Simon) with a random element, one arrival at a time.
//
// For the arriving unit and each candidate arm a, the unit is added to a hypothetically; for
// each minimisation factor f the counts of the unit's level of f across arms, each divided by
// its arm's ratio weight, give an imbalance (range: max − min; variance: population
// variance); G_a = Σ_f weight_f · imbalance_f. The arm with the smallest G (ties broken at
// random) is taken with probability p_minimising, otherwise another arm at random in
// proportion to the ratio weights. The first `random_first` allocations are simple random.
// Draws are keyed by the participant id and the sequence number, so the allocations are
// determined by the secret and the arrival sequence.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_METHODS_MINIMISATION_H_
#define FIELDWORK_SERVICES_RANDOMISATION_METHODS_MINIMISATION_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/randomisation/methods/generator.h"
#include "services/randomisation/methods/types.h"

namespace fieldwork::randomisation {

enum class ImbalanceMeasure { kRange, kVariance };

struct MinimisationFactor {
  std::string name;     // a key of Unit::categorical
  double weight = 1.0;  // positive
};

struct MinimisationDesign {
  std::vector<Arm> arms;
  std::vector<MinimisationFactor> factors;
  ImbalanceMeasure measure = ImbalanceMeasure::kRange;
  double p_minimising = 0.8;      // probability of taking the minimising arm, in [0, 1]
  std::int64_t random_first = 0;  // the first this-many allocations are simple random
};

// Everything a service persists between allocations.
struct MinimisationState {
  std::int64_t allocated = 0;  // allocations so far = the next allocation's sequence number
  // counts[factor][level][arm]: allocations so far with that level of that factor.
  std::map<std::string, std::map<std::string, std::vector<std::int64_t>>> counts;
};

// Two imbalances closer than this (relative to the larger magnitude, or absolutely below 1)
// count as a tie.
inline constexpr double kMinimisationTieTolerance = 1e-9;

absl::Status ValidateMinimisationDesign(const MinimisationDesign& design);

// The candidate totals G_a for `unit` given `state` (exposed for tests and explanations).
absl::StatusOr<std::vector<double>> MinimisationImbalances(const MinimisationDesign& design,
                                                           const Unit& unit,
                                                           const MinimisationState& state);

// Allocates `unit` as the next arrival and updates `state`. On error `state` is unchanged.
absl::StatusOr<int> MinimisationNext(const Generator& gen, const MinimisationDesign& design,
                                     const Unit& unit, MinimisationState& state);

// Replays an arrival sequence from an empty state: result[i] is the arm of units[i].
absl::StatusOr<std::vector<int>> AllocateMinimisation(const Generator& gen,
                                                      const MinimisationDesign& design,
                                                      absl::Span<const Unit> units);

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_METHODS_MINIMISATION_H_
