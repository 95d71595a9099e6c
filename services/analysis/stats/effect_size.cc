#include "services/analysis/stats/effect_size.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace fieldwork::analysis {

absl::StatusOr<StandardisedEffect> HedgesG(const LinearCombination& effect, const ArmSpread& arm,
                                           const ArmSpread& versus) {
  const std::int64_t n = arm.n + versus.n;
  if (arm.n < 1 || versus.n < 1 || n < 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("Hedges' g needs at least 4 respondents in the two arms (", arm.n, " and ",
                     versus.n, ")"));
  }
  // An arm of one contributes no spread (its SD is undefined, its weight n - 1 is 0).
  const double ss_arm = arm.n > 1 ? static_cast<double>(arm.n - 1) * arm.sd * arm.sd : 0.0;
  const double ss_versus =
      versus.n > 1 ? static_cast<double>(versus.n - 1) * versus.sd * versus.sd : 0.0;
  const double pooled = std::sqrt((ss_arm + ss_versus) / static_cast<double>(n - 2));
  if (!std::isfinite(pooled) || pooled <= 0) {
    return absl::InvalidArgumentError(
        "Hedges' g: the outcome's pooled SD in the two arms is 0 or undefined");
  }
  StandardisedEffect out;
  out.pooled_sd = pooled;
  out.correction = 1.0 - 3.0 / (4.0 * static_cast<double>(n) - 9.0);
  const double scale = out.correction / pooled;
  out.g = effect.estimate * scale;
  out.std_error = effect.std_error * scale;
  out.conf_low = effect.conf_low * scale;
  out.conf_high = effect.conf_high * scale;
  return out;
}

}  // namespace fieldwork::analysis
