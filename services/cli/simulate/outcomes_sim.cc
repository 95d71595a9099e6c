#include "services/cli/simulate/outcomes_sim.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/cli/simulate/random.h"
#include "services/survey_ingest/domain/csv_reader.h"

namespace fieldwork::cli::simulate {
namespace {

std::string DayText(absl::CivilDay day) {
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

}  // namespace

OutcomeScale ScaleFor(const std::string& outcome) {
  if (absl::StrContains(outcome, "minutes")) return {120, 90, true};
  if (absl::StrContains(outcome, "sessions")) return {12, 8, true};
  if (absl::StrContains(outcome, "days")) return {4, 4, true};
  if (absl::StrContains(outcome, "hours")) return {8, 6, true};
  return {50, 10, false};
}

absl::StatusOr<SimulatedOutcomes> SimulateOutcomes(const std::vector<SimAllocation>& allocations,
                                                   const OutcomeSimOptions& options) {
  if (!(options.leaver_rate >= 0 && options.leaver_rate <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("--leaver_rate must be in [0, 1], got ", options.leaver_rate));
  }
  if (options.period_end < options.period_start) return absl::InvalidArgumentError("the outcome period ends before it starts");
  SimulatedOutcomes out;
  const std::vector<std::string> outcome_header = {"participant_id", "outcome", "period_start", "period_end", "value"};
  survey_ingest::AppendCsvRecord(out.outcomes_csv, outcome_header);
  const std::vector<std::string> leaver_header = {"participant_id", "left_on"};
  survey_ingest::AppendCsvRecord(out.leavers_csv, leaver_header);
  const int64_t days = options.period_end - options.period_start + 1;
  for (const SimAllocation& a : allocations) {
    if (a.withdrawn) continue;
    auto arm = a.arms.find(options.factor);
    const bool treated = !options.control_arm.empty() && arm != a.arms.end() && arm->second != options.control_arm;
    Random trait(options.seed, "trait/" + a.participant_id);
    const double z = trait.Normal();
    Random random(options.seed, "outcomes/" + a.participant_id);
    for (const std::string& outcome : options.outcomes) {
      const OutcomeScale scale = ScaleFor(outcome);
      // Shares half its variance with the participant's trait, so outcomes correlate.
      const double latent = std::sqrt(0.5) * z + std::sqrt(0.5) * random.Normal() + (treated ? options.effect : 0);
      double value = scale.mean + scale.sd * latent;
      std::string text;
      if (scale.count) {
        text = absl::StrCat(static_cast<int64_t>(std::max(0.0, std::round(value))));
      } else {
        text = absl::StrFormat("%.2f", value);
      }
      const std::vector<std::string> row = {a.participant_id, outcome, DayText(options.period_start),
                                            DayText(options.period_end), text};
      survey_ingest::AppendCsvRecord(out.outcomes_csv, row);
      ++out.outcome_rows;
    }
    if (a.left_on.empty() && random.Bernoulli(options.leaver_rate)) {
      const absl::CivilDay left = options.period_start + static_cast<int64_t>(random.Index(static_cast<uint64_t>(days)));
      const std::vector<std::string> row = {a.participant_id, DayText(left)};
      survey_ingest::AppendCsvRecord(out.leavers_csv, row);
      ++out.leavers;
    }
  }
  return out;
}

}  // namespace fieldwork::cli::simulate
