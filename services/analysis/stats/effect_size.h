// Standardised effects: Hedges' g of a (possibly adjusted) effect estimate, with its SE and CI.
#ifndef FIELDWORK_SERVICES_ANALYSIS_STATS_EFFECT_SIZE_H_
#define FIELDWORK_SERVICES_ANALYSIS_STATS_EFFECT_SIZE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "services/analysis/stats/ols.h"

namespace fieldwork::analysis {

// One arm's outcome among its respondents: count and sample SD (n - 1).
struct ArmSpread {
  std::int64_t n = 0;
  double sd = 0;
};

struct StandardisedEffect {
  double g = 0;
  double std_error = 0;
  double conf_low = 0;
  double conf_high = 0;
  double pooled_sd = 0;
  double correction = 0;  // Hedges' J
};

// g = J * effect.estimate / s_pooled, with s_pooled = sqrt(((n_a - 1) s_a^2 + (n_b - 1) s_b^2) /
// (n_a + n_b - 2)) over the two compared arms and J = 1 - 3 / (4 (n_a + n_b) - 9) (Hedges 1981;
// effectsize::hedges_g's correction). The SE and CI are the effect's own (so from the model's
// robust SE and its df, covariate adjustment and weights included) scaled by J / s_pooled: the
// standardised interval agrees with the raw one, which Hedges–Olkin's SE for an unadjusted
// difference of means would not. INVALID_ARGUMENT when n_a + n_b < 4 (J is 0 at 3) or the
// pooled SD is 0 or not finite.
absl::StatusOr<StandardisedEffect> HedgesG(const LinearCombination& effect, const ArmSpread& arm,
                                           const ArmSpread& versus);

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_STATS_EFFECT_SIZE_H_
