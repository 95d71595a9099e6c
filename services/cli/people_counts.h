// What `fieldwork status` prints of a trial's people: withdrawals and leavers, and the response
// rate by arm and wave. The analysis service counts them on the trial it joins anyway
// (SummariseTrial); when it cannot, they are counted here from every allocation and respondent,
// read from randomisation and survey-ingest, as status did before the service counted them.
#ifndef FIELDWORK_SERVICES_CLI_PEOPLE_COUNTS_H_
#define FIELDWORK_SERVICES_CLI_PEOPLE_COUNTS_H_

#include <cstdint>
#include <map>
#include <string>

#include "fieldwork/v1/analysis.pb.h"
#include "services/cli/trial_snapshot.h"

namespace fieldwork::cli {

struct PeopleCounts {
  int64_t withdrawn = 0;  // allocated participants who withdrew
  int64_t withdrawn_with_site = 0;
  std::map<std::string, int64_t> withdrawn_by_reason;  // "" when none was given
  int64_t leavers = 0;  // allocated participants who left the organisation
  // wave → arm of the comparison factor → counts; every arm of the factor and every wave appear.
  std::map<std::string, std::map<std::string, ArmCount>> response_by_wave;
};

// From the analysis service's summary, by `factor`'s arms (no arms when the summary has no such
// factor).
PeopleCounts PeopleCountsFromSummary(const fieldwork::v1::SummariseTrialResponse& summary,
                                     const std::string& factor);

// From the snapshot's allocations and respondents (LoadAllocations, LoadRespondents).
PeopleCounts PeopleCountsFromSnapshot(const TrialSnapshot& snapshot, const std::string& factor);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_PEOPLE_COUNTS_H_
