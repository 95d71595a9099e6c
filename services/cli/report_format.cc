#include "services/cli/report_format.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fieldwork::cli {

std::string FormatFixed(double value, int decimals) {
  if (!std::isfinite(value)) return "NA";
  std::string text = absl::StrFormat("%.*f", decimals, value);
  // "-0.00" reads as a sign where there is none.
  if (text[0] == '-' && text.find_first_not_of("-0.") == std::string::npos) text.erase(0, 1);
  return text;
}

std::string FormatInterval(double low, double high) {
  return absl::StrCat("[", FormatFixed(low, 2), ", ", FormatFixed(high, 2), "]");
}

std::string FormatP(double p) {
  if (!std::isfinite(p)) return "NA";
  if (p < 0.001) return "<0.001";
  return absl::StrFormat("%.3f", p);
}

std::string FormatPercent(double share) {
  if (!std::isfinite(share)) return "NA";
  return FormatFixed(100.0 * share, 1) + "%";
}

std::string FormatDf(double df) {
  if (!std::isfinite(df)) return "NA";
  return FormatFixed(df, df == std::round(df) ? 0 : 1);
}

std::string FormatPlannedMdes(bool planned_known, double planned) {
  return planned_known ? FormatFixed(planned, 3) : "none planned";
}

std::string FormatAchievedMdes(double achieved) {
  return achieved > 0 ? FormatFixed(achieved, 3) : "not estimated";
}

std::string DescriptiveNote(const std::string& factor) {
  return absl::StrCat("descriptive: factor ", factor,
                      " was assigned, not randomised, so the differences between its arms are "
                      "not causal effects");
}

}  // namespace fieldwork::cli
