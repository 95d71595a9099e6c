// Simulated administrative outcomes (sickness absence, app usage, ...) and leavers, from the
// allocations. Pure and deterministic from the seed.
#ifndef FIELDWORK_SERVICES_CLI_SIMULATE_OUTCOMES_SIM_H_
#define FIELDWORK_SERVICES_CLI_SIMULATE_OUTCOMES_SIM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "services/cli/simulate/allocations.h"

namespace fieldwork::cli::simulate {

struct OutcomeSimOptions {
  std::uint64_t seed = 1;
  // Outcome names, e.g. "sickness_absence_days", "app_minutes". Each gets a plausible scale
  // from its name (see OutcomeScale).
  std::vector<std::string> outcomes;
  double effect = 0;        // standardised shift of every outcome in the treated arms
  double leaver_rate = 0;   // share of participants who leave during the period, [0, 1]
  std::string factor;       // whose arms differ (default: the first factor column)
  std::string control_arm;  // arms other than this are treated; empty: no arm is treated
  absl::CivilDay period_start = absl::CivilDay(2021, 1, 4);
  absl::CivilDay period_end = absl::CivilDay(2021, 3, 29);
};

struct OutcomeScale {
  double mean = 0;
  double sd = 1;
  bool count = false;  // whole numbers, never negative
};
// From the name: *minutes* (app usage, mean 120, SD 90), *sessions* (12, 8), *days* (4, 4),
// *hours* (8, 6), otherwise (50, 10). Counts and durations are floored at 0.
OutcomeScale ScaleFor(const std::string& outcome);

struct SimulatedOutcomes {
  // `fieldwork outcomes import`: participant_id,outcome,period_start,period_end,value
  std::string outcomes_csv;
  // `fieldwork leavers import`: participant_id,left_on
  std::string leavers_csv;
  std::int64_t outcome_rows = 0;
  std::int64_t leavers = 0;
};

// One row per outcome for every participant not withdrawn (leavers keep theirs: intent to
// treat), leavers drawn with `leaver_rate` and a leaving day inside the period.
absl::StatusOr<SimulatedOutcomes> SimulateOutcomes(const std::vector<SimAllocation>& allocations,
                                                   const OutcomeSimOptions& options);

}  // namespace fieldwork::cli::simulate

#endif  // FIELDWORK_SERVICES_CLI_SIMULATE_OUTCOMES_SIM_H_
