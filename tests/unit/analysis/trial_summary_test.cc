// SummariseTrial on a small trial whose every count is worked out by hand in the comments.
#include "services/analysis/trial_summary.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/analysis/memory_sources.h"
#include "tests/unit/analysis/test_trials.h"

namespace fieldwork::analysis {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// control: c1, c2, c3, c4 (withdrawn: "site withdrew"), c5 (left)
// treatment: t1, t2, t3, t4, t5 (withdrawn with its site, no reason given)
// placebo (an arm the design does not have): x1
// u1 enrolled, not allocated
// baseline responses: c1; endline: c1, c3, c4, t1, t2, t3, t5; followup (not a survey wave): u1
MemoryTrialData SummaryHandTrial() {
  MemoryTrialData data;
  data.trial = testing::MakeTrial("t1");
  for (const char* id : {"c1", "c2", "c3"}) testing::AddParticipant(data, id, "LA1", "control");
  testing::Withdraw(testing::AddParticipant(data, "c4", "LA2", "control"));
  testing::Leave(testing::AddParticipant(data, "c5", "LA1", "control"));
  for (const char* id : {"t1", "t2", "t3", "t4"})
    testing::AddParticipant(data, id, "LA2", "treatment");
  v1::ParticipantStatus& t5 = testing::AddParticipant(data, "t5", "LA2", "treatment");
  t5.mutable_withdrawal()->set_with_site(true);
  testing::AddParticipant(data, "x1", "LA1", "placebo");
  testing::AddParticipant(data, "u1", "LA1", "control").set_allocated(false);
  data.allocations.pop_back();  // u1's
  testing::AddWave(data, "baseline");
  testing::AddWave(data, "endline");
  testing::AddResponse(data, "c1", "baseline", "wb", 1);
  for (const char* id : {"c1", "c3", "c4", "t1", "t2", "t3", "t5"})
    testing::AddResponse(data, id, "endline", "wb", 1);
  testing::AddResponse(data, "u1", "followup", "wb", 1);
  return data;
}

TEST(TrialSummaryTest, CountsWithdrawalsLeaversAndEachArmsRespondentsByWave) {
  MemorySources sources;
  sources.trials()["t1"] = SummaryHandTrial();
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok()) << joined.status();

  const v1::SummariseTrialResponse summary = SummariseTrial(*joined);
  EXPECT_EQ(summary.withdrawn(), 2);            // c4, t5
  EXPECT_EQ(summary.withdrawn_with_site(), 1);  // t5
  EXPECT_THAT(summary.withdrawn_by_reason(),
              UnorderedElementsAre(Pair("site withdrew", 1), Pair("", 1)));
  EXPECT_EQ(summary.leavers(), 1);  // c5
  EXPECT_THAT(summary.wave_ids(), ElementsAre("baseline", "endline", "followup"));
  ASSERT_EQ(summary.factors_size(), 1);
  const v1::SummariseTrialResponse::FactorCount& arm = summary.factors(0);
  EXPECT_EQ(arm.factor(), "arm");
  ASSERT_EQ(arm.arms_size(), 3);
  // Withdrawn c4 and t5 are neither randomised nor respondents; the leaver c5 is both kept.
  EXPECT_EQ(arm.arms(0).arm(), "control");
  EXPECT_EQ(arm.arms(0).randomised(), 4);  // c1, c2, c3, c5
  EXPECT_THAT(arm.arms(0).responded_by_wave(),
              UnorderedElementsAre(Pair("baseline", 1), Pair("endline", 2)));
  EXPECT_EQ(arm.arms(1).arm(), "treatment");
  EXPECT_EQ(arm.arms(1).randomised(), 4);  // t1 .. t4
  EXPECT_THAT(arm.arms(1).responded_by_wave(), UnorderedElementsAre(Pair("endline", 3)));
  EXPECT_EQ(arm.arms(2).arm(), "placebo");
  EXPECT_EQ(arm.arms(2).randomised(), 1);
  EXPECT_TRUE(arm.arms(2).responded_by_wave().empty());
}

TEST(TrialSummaryTest, AnArmWithNobodyYetIsListedWithZeros) {
  MemoryTrialData data;
  data.trial = testing::MakeTrial("t1");
  testing::AddParticipant(data, "c1", "LA1", "control");
  MemorySources sources;
  sources.trials()["t1"] = std::move(data);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok()) << joined.status();

  const v1::SummariseTrialResponse summary = SummariseTrial(*joined);
  EXPECT_TRUE(summary.wave_ids().empty());
  ASSERT_EQ(summary.factors_size(), 1);
  ASSERT_EQ(summary.factors(0).arms_size(), 2);
  EXPECT_EQ(summary.factors(0).arms(1).arm(), "treatment");
  EXPECT_EQ(summary.factors(0).arms(1).randomised(), 0);
}

}  // namespace
}  // namespace fieldwork::analysis
