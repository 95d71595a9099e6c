#include "services/survey_ingest/domain/response_selection.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace fieldwork::survey_ingest {
namespace {

absl::Time At(int minute) { return absl::FromUnixSeconds(1'600'000'000 + 60 * minute); }

TEST(ResponseSelectionTest, FirstAndLastComplete) {
  // Arrival order differs from submission order on purpose.
  const std::vector<ResponseCandidate> candidates = {
      {"R_c", At(30), true},
      {"R_a", At(10), false},  // earliest, but partial
      {"R_b", At(20), true},
      {"R_d", At(40), false},  // latest, but partial
  };
  EXPECT_EQ(SelectCountingResponse(candidates, CountingRule::kFirstComplete), 2u);
  EXPECT_EQ(SelectCountingResponse(candidates, CountingRule::kLastComplete), 0u);
}

TEST(ResponseSelectionTest, NoCompleteResponseMeansNoneCounts) {
  const std::vector<ResponseCandidate> candidates = {{"R_a", At(1), false}, {"R_b", At(2), false}};
  EXPECT_EQ(SelectCountingResponse(candidates, CountingRule::kFirstComplete), std::nullopt);
  EXPECT_EQ(SelectCountingResponse({}, CountingRule::kLastComplete), std::nullopt);
}

TEST(ResponseSelectionTest, TiesAreBrokenBySubmissionIdWhateverTheOrder) {
  std::vector<ResponseCandidate> candidates = {{"R_b", At(5), true}, {"R_a", At(5), true}};
  EXPECT_EQ(
      candidates[*SelectCountingResponse(candidates, CountingRule::kFirstComplete)].submission_id,
      "R_a");
  EXPECT_EQ(
      candidates[*SelectCountingResponse(candidates, CountingRule::kLastComplete)].submission_id,
      "R_b");
  std::swap(candidates[0], candidates[1]);
  EXPECT_EQ(
      candidates[*SelectCountingResponse(candidates, CountingRule::kFirstComplete)].submission_id,
      "R_a");
  EXPECT_EQ(
      candidates[*SelectCountingResponse(candidates, CountingRule::kLastComplete)].submission_id,
      "R_b");
}

TEST(ResponseSelectionTest, RuleNames) {
  EXPECT_EQ(*ParseCountingRule("first_complete"), CountingRule::kFirstComplete);
  EXPECT_EQ(*ParseCountingRule("last_complete"), CountingRule::kLastComplete);
  EXPECT_EQ(CountingRuleName(CountingRule::kLastComplete), "last_complete");
  EXPECT_EQ(ParseCountingRule("latest").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fieldwork::survey_ingest
