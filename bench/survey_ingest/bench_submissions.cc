#include "bench/survey_ingest/bench_submissions.h"

#include "absl/strings/str_cat.h"
#include "bench/survey_ingest/bench_data.h"

namespace fieldwork::survey_ingest {

fieldwork::v1::Submission MakeBenchSubmission(const std::string& trial, int i, uint64_t& state) {
  auto next = [&state](uint64_t bound) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (state >> 33) % bound;
  };
  fieldwork::v1::Submission s;
  s.set_trial_id(trial);
  s.set_wave_id("grpc");
  s.set_participant_id(absl::StrCat("P", i));
  s.set_submission_id(absl::StrCat("api-", i));
  s.set_finished(true);
  s.mutable_submitted_at()->set_seconds(1615000000 + i);
  for (const Item& item : BenchScorer().instrument().items) {
    std::string value;
    switch (item.type) {
      case ItemType::kLikert:
        value = absl::StrCat(static_cast<int>(item.min) +
                             static_cast<int>(next(static_cast<uint64_t>(item.max - item.min + 1))));
        break;
      case ItemType::kNumeric:
        value = absl::StrCat(next(15));
        break;
      case ItemType::kSingleChoice:
        value = item.options[next(item.options.size())].code;
        break;
      case ItemType::kFreeText:
        value = next(10) == 0 ? "Busy week" : "";
        break;
    }
    if (!value.empty()) (*s.mutable_answers())[item.id] = value;
  }
  return s;
}

}  // namespace fieldwork::survey_ingest
