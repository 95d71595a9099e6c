// The endline of a simulated two-arm trial for the analysis integration tests.
#ifndef FIELDWORK_TESTS_INTEGRATION_ANALYSIS_SIMULATED_ENDLINE_H_
#define FIELDWORK_TESTS_INTEGRATION_ANALYSIS_SIMULATED_ENDLINE_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fieldwork/v1/survey_ingest.pb.h"

namespace fieldwork::analysis {

// One finished "endline" submission (answer "y") per responding participant of `trial`, given
// who is treated. Whether each participant responds (with probability `response_rate`) and
// their N(0, 1) noise are drawn per arm, in participant-id order, from a generator seeded for
// that arm: each arm then gets the same data whatever the trial's fresh secret allocated, so
// a test's verdict "the CI covers the truth" is the same on every run, not a 95% chance.
// y = `effect` if treated + baseline(participant) + noise.
std::vector<v1::SubmitResponsesRequest> SimulatedEndline(
    const std::string& trial, const std::map<std::string, bool>& treated_by_participant,
    double response_rate, double effect,
    const std::function<double(const std::string&)>& baseline);

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_TESTS_INTEGRATION_ANALYSIS_SIMULATED_ENDLINE_H_
