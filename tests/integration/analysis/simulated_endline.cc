#include "tests/integration/analysis/simulated_endline.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fieldwork::analysis {

std::vector<v1::SubmitResponsesRequest> SimulatedEndline(
    const std::string& trial, const std::map<std::string, bool>& treated_by_participant,
    double response_rate, double effect,
    const std::function<double(const std::string&)>& baseline) {
  std::uniform_real_distribution<double> uniform(0, 1);
  std::normal_distribution<double> normal(0, 1);
  std::vector<v1::SubmitResponsesRequest> requests;
  for (const bool arm_treated : {false, true}) {
    std::mt19937_64 generator(arm_treated ? 2021 : 2020);
    for (const auto& [participant, treated] : treated_by_participant) {
      if (treated != arm_treated) continue;
      if (uniform(generator) > response_rate) continue;  // no response
      v1::SubmitResponsesRequest& request = requests.emplace_back();
      v1::Submission& submission = *request.mutable_submission();
      submission.set_trial_id(trial);
      submission.set_wave_id("endline");
      submission.set_participant_id(participant);
      submission.set_submission_id(absl::StrCat("sub-", participant));
      submission.set_finished(true);
      (*submission.mutable_answers())["y"] = absl::StrFormat(
          "%.6f", (treated ? effect : 0.0) + baseline(participant) + normal(generator));
    }
  }
  return requests;
}

}  // namespace fieldwork::analysis
