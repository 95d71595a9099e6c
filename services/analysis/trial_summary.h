// The counts `fieldwork status` prints of a trial's people (SummariseTrial): withdrawals and
// leavers, and for every factor each arm's randomised participants and respondents by wave,
// counted on the joined trial. Pure: no I/O.
#ifndef FIELDWORK_SERVICES_ANALYSIS_TRIAL_SUMMARY_H_
#define FIELDWORK_SERVICES_ANALYSIS_TRIAL_SUMMARY_H_

#include "fieldwork/v1/analysis.pb.h"
#include "services/analysis/join.h"

namespace fieldwork::analysis {

// Counted as the CLI counted them from the allocations and respondents before the service did
// (services/cli/trial_snapshot.h ResponseByArmAndWave): only allocated participants count;
// withdrawn ones are neither randomised nor respondents; one counted response per participant
// and wave.
fieldwork::v1::SummariseTrialResponse SummariseTrial(const JoinedTrial& joined);

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_TRIAL_SUMMARY_H_
