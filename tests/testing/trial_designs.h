// Trial designs that several tests build: written once so that they stay alike.
#ifndef FIELDWORK_TESTS_TESTING_TRIAL_DESIGNS_H_
#define FIELDWORK_TESTS_TESTING_TRIAL_DESIGNS_H_

#include <string>
#include <vector>

#include "fieldwork/v1/randomisation.pb.h"

namespace fieldwork::testing {

// One factor "arm" with arms treatment and control (1:1), complete randomisation within each
// of `sites`.
fieldwork::v1::TrialDesign TwoArmsWithinSites(const std::string& trial,
                                              const std::vector<std::string>& sites);

// One factor "arm" with arms treatment and control (1:1), complete randomisation across the
// sites "north" and "south".
fieldwork::v1::TrialDesign TwoArmsNorthAndSouth(const std::string& trial);

// An enrolment row: participant `id` at `site`, in `cluster` when not empty.
fieldwork::v1::Participant EnrolmentAt(const std::string& id, const std::string& site,
                                       const std::string& cluster = "");

}  // namespace fieldwork::testing

#endif  // FIELDWORK_TESTS_TESTING_TRIAL_DESIGNS_H_
