#include "services/analysis/stats/multiple_testing.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fieldwork::analysis {

std::optional<PAdjustMethod> ParsePAdjustMethod(std::string_view name) {
  if (name == "none") return PAdjustMethod::kNone;
  if (name == "bonferroni") return PAdjustMethod::kBonferroni;
  if (name == "holm") return PAdjustMethod::kHolm;
  if (name == "BH" || name == "fdr") return PAdjustMethod::kBenjaminiHochberg;
  return std::nullopt;
}

absl::StatusOr<std::vector<double>> AdjustPValues(const std::vector<double>& p,
                                                  PAdjustMethod method) {
  std::vector<size_t> idx;  // the non-missing entries
  for (size_t i = 0; i < p.size(); ++i) {
    if (std::isnan(p[i])) continue;
    if (p[i] < 0.0 || p[i] > 1.0) {
      return absl::InvalidArgumentError(
          absl::StrCat("p.adjust: p-value ", i, " is ", p[i], ", outside [0, 1]"));
    }
    idx.push_back(i);
  }
  std::vector<double> out = p;
  const auto n = static_cast<double>(idx.size());
  if (idx.size() <= 1 || method == PAdjustMethod::kNone) return out;
  switch (method) {
    case PAdjustMethod::kNone:
      break;
    case PAdjustMethod::kBonferroni:
      for (size_t i : idx) out[i] = std::min(1.0, n * p[i]);
      break;
    case PAdjustMethod::kHolm: {
      // Ascending p: adjusted_(i) = max_{j <= i} (n - j + 1) p_(j), capped at 1.
      std::vector<size_t> o = idx;
      std::stable_sort(o.begin(), o.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
      double running = 0;
      for (size_t r = 0; r < o.size(); ++r) {
        running = std::max(running, (n - static_cast<double>(r)) * p[o[r]]);
        out[o[r]] = std::min(1.0, running);
      }
      break;
    }
    case PAdjustMethod::kBenjaminiHochberg: {
      // Descending p: adjusted_(i) = min_{j >= i} n / j * p_(j), capped at 1.
      std::vector<size_t> o = idx;
      std::stable_sort(o.begin(), o.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
      double running = 1.0;
      for (size_t r = 0; r < o.size(); ++r) {
        const double rank = n - static_cast<double>(r);
        running = std::min(running, n / rank * p[o[r]]);
        out[o[r]] = std::min(1.0, running);
      }
      break;
    }
  }
  return out;
}

}  // namespace fieldwork::analysis
