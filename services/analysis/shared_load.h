// A trial's data read once for the callers that ask for it at the same time. The monitor's pass
// reads a trial whose data just changed, and a researcher's `fieldwork status` or `analyse`
// right after the same change reads it too: each load of a 100,000-participant trial streams
// the whole trial from three services, so two at once take both cores and each about twice as
// long (a cold Analyse beside a monitor pass took 5.7-5.9 s, alone 2.4-3.7 s).
#ifndef FIELDWORK_SERVICES_ANALYSIS_SHARED_LOAD_H_
#define FIELDWORK_SERVICES_ANALYSIS_SHARED_LOAD_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/analysis/join.h"
#include "services/analysis/sources.h"

namespace fieldwork::analysis {

// LoadTrial(sources, trial), shared: a caller that asks while a load of the same trial from the
// same `sources` and the same `versions` (TrialDataVersions, read by the caller before asking)
// is running waits for that load and gets its result. Sharing is sound because the versions
// move with every write: a caller that read the same versions after the running load began saw
// no write since, so that load's data is as current as its own would be. Nothing is kept once
// the last caller lets go of it (the memory goes back as before). With empty `versions` (a
// source cannot tell) every call loads on its own.
absl::StatusOr<std::shared_ptr<const JoinedTrial>> LoadTrialShared(const Sources& sources,
                                                                   const std::string& trial,
                                                                   const std::string& versions);

namespace internal {
// How many callers are waiting now for a load another caller is running (for tests: the moment
// a second caller has joined a load).
int CallersWaitingForRunningLoads();
}  // namespace internal

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_SHARED_LOAD_H_
