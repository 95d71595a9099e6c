// Plain data the randomisation methods work on: arms, units (participants) and the checks
// every method applies to them.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_METHODS_TYPES_H_
#define FIELDWORK_SERVICES_RANDOMISATION_METHODS_TYPES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace fieldwork::randomisation {

// An arm of a factor: a name and a positive integer ratio weight (1:1 is {1, 1}; 2:1 is
// {2, 1}). Arms are referred to by their index in the design's list.
struct Arm {
  std::string name;
  std::int64_t weight = 1;
};

// A participant as the methods see it.
struct Unit {
  std::string id;       // pseudonymous participant id: non-empty, unique within a call
  std::string stratum;  // stratum key (e.g. "site=Camden|cohort=2021"); "" = the one stratum
  std::string cluster;  // cluster id (e.g. a team); required by the cluster methods only
  // Baseline numeric covariates, the same number and order for every unit of a call (their
  // names live in the design). NaN marks a missing value.
  std::vector<double> covariates;
  // Categorical values by variable name: minimisation factors and categorical covariates.
  std::map<std::string, std::string> categorical;
};

// Arms must be non-empty with positive weights and distinct, non-empty names.
absl::Status ValidateArms(absl::Span<const Arm> arms);
// Ids must be non-empty and unique. Errors name the field and the unit (by id or, for an
// empty id, by its position in the input).
absl::Status ValidateIds(absl::Span<const Unit> units);
// The weights of arms, in order.
std::vector<std::int64_t> Weights(absl::Span<const Arm> arms);
// Sum of the weights.
std::int64_t TotalWeight(absl::Span<const Arm> arms);

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_METHODS_TYPES_H_
