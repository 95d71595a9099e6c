// Adjusted p-values across the plan's outcomes, as R's p.adjust.
#ifndef FIELDWORK_SERVICES_ANALYSIS_STATS_MULTIPLE_TESTING_H_
#define FIELDWORK_SERVICES_ANALYSIS_STATS_MULTIPLE_TESTING_H_

#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace fieldwork::analysis {

enum class PAdjustMethod { kNone, kBonferroni, kHolm, kBenjaminiHochberg };

// p.adjust's names: "none", "bonferroni", "holm", "BH" (also "fdr").
std::optional<PAdjustMethod> ParsePAdjustMethod(std::string_view name);

// As p.adjust(p, method): NaN entries (R's NA) stay NaN and are not counted in n. Errors on a
// value outside [0, 1].
absl::StatusOr<std::vector<double>> AdjustPValues(const std::vector<double>& p,
                                                  PAdjustMethod method);

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_STATS_MULTIPLE_TESTING_H_
