#include "services/survey_ingest/domain/response_selection.h"

#include "absl/strings/str_cat.h"

namespace fieldwork::survey_ingest {

absl::string_view CountingRuleName(CountingRule rule) {
  return rule == CountingRule::kFirstComplete ? "first_complete" : "last_complete";
}

absl::StatusOr<CountingRule> ParseCountingRule(absl::string_view name) {
  if (name == "first_complete") return CountingRule::kFirstComplete;
  if (name == "last_complete") return CountingRule::kLastComplete;
  return absl::InvalidArgumentError(
      absl::StrCat("counting rule: expected first_complete or last_complete, got '", name, "'"));
}

std::optional<size_t> SelectCountingResponse(std::span<const ResponseCandidate> candidates,
                                             CountingRule rule) {
  std::optional<size_t> best;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const ResponseCandidate& c = candidates[i];
    if (!c.complete) continue;
    if (!best.has_value()) {
      best = i;
      continue;
    }
    const ResponseCandidate& b = candidates[*best];
    const bool earlier = c.submitted < b.submitted ||
                         (c.submitted == b.submitted && c.submission_id < b.submission_id);
    if (earlier == (rule == CountingRule::kFirstComplete)) best = i;
  }
  return best;
}

}  // namespace fieldwork::survey_ingest
