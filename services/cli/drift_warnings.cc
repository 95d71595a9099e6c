#include "services/cli/drift_warnings.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "services/cli/report_format.h"

namespace fieldwork::cli {

std::vector<std::string> AnalysisWarnings(const fieldwork::v1::AnalyseResponse& analysis) {
  std::vector<std::string> warnings;
  for (const fieldwork::v1::OutcomeResult& outcome : analysis.outcomes()) {
    const fieldwork::v1::MdesLedger& m = outcome.mdes();
    const fieldwork::v1::Attrition& a = outcome.attrition();
    if (m.planned() > 0 && m.achieved() > kMdesDriftRatio * m.planned()) {
      warnings.push_back(absl::StrCat(
          outcome.outcome(), ": achieved MDES ", FormatFixed(m.achieved(), 3), " is above ",
          FormatFixed(kMdesDriftRatio, 2), " x the planned ", FormatFixed(m.planned(), 3)));
    }
    if (m.planned_response_rate() > 0 && m.actual_response_rate() < m.planned_response_rate()) {
      warnings.push_back(absl::StrCat(
          outcome.outcome(), ": response rate ", FormatPercent(m.actual_response_rate()),
          " is below the planned ", FormatPercent(m.planned_response_rate())));
    }
    if (std::abs(a.differential_points()) >= kDifferentialPoints &&
        a.p_value() < kDifferentialAlpha) {
      warnings.push_back(absl::StrCat(outcome.outcome(), ": differential attrition of ",
                                      FormatFixed(a.differential_points(), 1),
                                      " points (p = ", FormatP(a.p_value()), ")"));
    }
  }
  return warnings;
}

std::vector<std::string> SrmWarnings(const fieldwork::v1::BalanceResponse& balance,
                                     int64_t allocated) {
  std::vector<std::string> warnings;
  if (allocated <= 0) return warnings;
  for (const fieldwork::v1::FactorBalance& factor : balance.factors()) {
    if (!factor.count_by_arm().empty() && factor.srm_p_value() < kSrmAlpha) {
      warnings.push_back(absl::StrCat("sample ratio mismatch in ", factor.factor(),
                                      " (p = ", FormatP(factor.srm_p_value()), ")"));
    }
  }
  return warnings;
}

}  // namespace fieldwork::cli
