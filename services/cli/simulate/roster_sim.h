// Simulated rosters and contact lists for a trial design: pure, deterministic from the seed.
#ifndef FIELDWORK_SERVICES_CLI_SIMULATE_ROSTER_SIM_H_
#define FIELDWORK_SERVICES_CLI_SIMULATE_ROSTER_SIM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fieldwork/v1/randomisation.pb.h"

namespace fieldwork::cli::simulate {

struct SimulatedRoster {
  // The `fieldwork enrol` format: participant_id, then site, cohort and cluster when the design
  // has sites / cohorts / any factor, then one column per covariate in design order.
  std::string roster_csv;
  // The `fieldwork contacts` format: participant_id,email,phone,first_name,time_zone
  // (reserved example.org addresses and Ofcom's drama numbers: nothing reaches a real person).
  std::string contacts_csv;
  std::int64_t participants = 0;
};

// `n` participants with ids "<trial>-000001", ...: split as evenly as possible over the
// cohorts (in order), each placed in a site at random, in a team (cluster "<site>-team-K",
// about 8 per team), with every covariate filled: numeric ones standard normal (3 decimals),
// categorical ones one of their levels. The covariate named like an ASSIGNED factor is that
// participant's arm, drawn by the arms' weights.
absl::StatusOr<SimulatedRoster> SimulateRoster(const fieldwork::v1::TrialDesign& design, std::int64_t n,
                                               std::uint64_t seed);

// The same with a size per cohort (in the design's order), e.g. SWING's {281, 867}; a design
// without cohorts takes one size.
absl::StatusOr<SimulatedRoster> SimulateRoster(const fieldwork::v1::TrialDesign& design,
                                               const std::vector<std::int64_t>& cohort_sizes, std::uint64_t seed);

}  // namespace fieldwork::cli::simulate

#endif  // FIELDWORK_SERVICES_CLI_SIMULATE_ROSTER_SIM_H_
