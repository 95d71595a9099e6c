// PlanRegistry over the in-memory store: registration, idempotent retries, locking with the
// plan's SHA-256 and time, deviations after locking, and clear errors for bad input.
#include "services/analysis/plan_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/analysis/memory_sources.h"
#include "services/common/clock.h"
#include "tests/unit/analysis/test_trials.h"

namespace fieldwork::analysis {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class PlanRegistryTest : public ::testing::Test {
 protected:
  PlanRegistryTest()
      : clock_(absl::FromUnixSeconds(1'600'000'000)), registry_(store_, sources_, clock_) {
    sources_.trials()["t1"].trial = testing::MakeTrial("t1");
  }
  MemoryPlanStore store_;
  MemorySources sources_;
  ManualClock clock_;
  PlanRegistry registry_;
};

TEST_F(PlanRegistryTest, RegistersADraftWithDefaultsAndRetriesChangeNothing) {
  absl::StatusOr<RegisterResult> first = registry_.Register("alice", testing::MakePlan("t1"), "");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->changed);
  EXPECT_EQ(first->record.state(), v1::PLAN_STATE_DRAFT);
  EXPECT_EQ(first->record.plan().plan_id(), "main");
  EXPECT_EQ(first->record.plan().factor(), "arm");
  EXPECT_EQ(first->record.plan().alpha(), 0.05);
  EXPECT_EQ(first->record.version(), 1);
  absl::StatusOr<RegisterResult> again = registry_.Register("alice", testing::MakePlan("t1"), "");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->record.version(), 1);
}

TEST_F(PlanRegistryTest, DraftEditsLeaveNoDeviation) {
  ASSERT_TRUE(registry_.Register("alice", testing::MakePlan("t1"), "").ok());
  v1::AnalysisPlan edited = testing::MakePlan("t1");
  edited.add_covariates("age");
  absl::StatusOr<RegisterResult> result = registry_.Register("alice", edited, "");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->record.version(), 2);
  EXPECT_EQ(result->record.deviations_size(), 0);
}

TEST_F(PlanRegistryTest, LockRecordsHashTimeAndActorAndIsIdempotent) {
  ASSERT_TRUE(registry_.Register("alice", testing::MakePlan("t1"), "").ok());
  clock_.Advance(absl::Hours(1));
  absl::StatusOr<v1::PlanRecord> locked = registry_.Lock("bob", "t1", "");
  ASSERT_TRUE(locked.ok()) << locked.status();
  EXPECT_EQ(locked->state(), v1::PLAN_STATE_LOCKED);
  EXPECT_EQ(locked->locked_sha256(), PlanSha256(locked->plan()));
  EXPECT_EQ(locked->locked_sha256().size(), 64u);
  EXPECT_EQ(locked->locked_at().seconds(), 1'600'003'600);
  EXPECT_EQ(locked->locked_by(), "bob");
  clock_.Advance(absl::Hours(1));
  absl::StatusOr<v1::PlanRecord> again = registry_.Lock("bob", "t1", "main");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->locked_at().seconds(), 1'600'003'600);
  EXPECT_EQ(again->version(), locked->version());
}

TEST_F(PlanRegistryTest, EditingALockedPlanNeedsAReasonAndIsKeptAsADeviation) {
  ASSERT_TRUE(registry_.Register("alice", testing::MakePlan("t1"), "").ok());
  absl::StatusOr<v1::PlanRecord> locked = registry_.Lock("alice", "t1", "main");
  ASSERT_TRUE(locked.ok());
  v1::AnalysisPlan edited = testing::MakePlan("t1");
  edited.add_covariates("age");
  absl::StatusOr<RegisterResult> refused = registry_.Register("alice", edited, "");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("deviation_reason"));
  EXPECT_THAT(refused.status().message(), HasSubstr(locked->locked_sha256()));

  clock_.Advance(absl::Hours(24));
  absl::StatusOr<RegisterResult> changed =
      registry_.Register("carol", edited, "age was collected late");
  ASSERT_TRUE(changed.ok()) << changed.status();
  const v1::PlanRecord& record = changed->record;
  EXPECT_EQ(record.state(), v1::PLAN_STATE_LOCKED);
  EXPECT_EQ(record.locked_sha256(), locked->locked_sha256());
  EXPECT_EQ(record.locked_plan().covariates_size(), 0);
  ASSERT_EQ(record.deviations_size(), 1);
  const v1::Deviation& deviation = record.deviations(0);
  EXPECT_EQ(deviation.sequence(), 1);
  EXPECT_EQ(deviation.actor(), "carol");
  EXPECT_EQ(deviation.reason(), "age was collected late");
  EXPECT_EQ(deviation.plan_sha256_before(), locked->locked_sha256());
  EXPECT_EQ(deviation.plan_sha256_after(), PlanSha256(record.plan()));
  EXPECT_NE(deviation.plan_sha256_after(), deviation.plan_sha256_before());
  EXPECT_EQ(deviation.time().seconds(), 1'600'000'000 + 24 * 3600);
  EXPECT_THAT(deviation.changed_fields(), ElementsAre("covariates"));
}

TEST_F(PlanRegistryTest, UnknownTrialAndPlanAreNotFound) {
  EXPECT_EQ(registry_.Register("alice", testing::MakePlan("nope"), "").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_.Get("t1", "main").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry_.Lock("alice", "t1", "main").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PlanRegistryTest, BadPlansNameEveryBadField) {
  v1::AnalysisPlan plan = testing::MakePlan("t1");
  plan.set_control_arm("placebo");
  plan.add_outcomes()->set_name("wellbeing");  // duplicate name, no source
  plan.add_covariates("height");
  plan.add_subgroups()->set_variable("age");  // numeric
  plan.mutable_power()->set_n(1);
  plan.mutable_power()->set_response_rate(1.5);
  absl::StatusOr<RegisterResult> result = registry_.Register("alice", plan, "");
  ASSERT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(result.status().message());
  EXPECT_THAT(message, HasSubstr("plan.control_arm: \"placebo\" is not an arm of factor \"arm\""));
  EXPECT_THAT(message, HasSubstr("plan.outcomes[1].name: \"wellbeing\" is used twice"));
  EXPECT_THAT(message,
              HasSubstr("plan.outcomes[1].source: a survey score, an administrative outcome or decisions are required"));
  EXPECT_THAT(message, HasSubstr("plan.covariates[0]: \"height\""));
  EXPECT_THAT(message, HasSubstr("plan.subgroups[0].variable"));
  EXPECT_THAT(message, HasSubstr("plan.power.n"));
  EXPECT_THAT(message, HasSubstr("plan.power.response_rate"));
  EXPECT_EQ(registry_.Get("t1", "main").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PlanRegistryTest, RandomisationInferenceOnAnAssignedFactorIsRefused) {
  sources_.trials()["t1"].trial.mutable_design()->mutable_factors(0)->set_method(
      v1::RANDOMISATION_METHOD_ASSIGNED);
  v1::AnalysisPlan plan = testing::MakePlan("t1");
  plan.set_randomisation_inference_draws(1000);
  absl::StatusOr<RegisterResult> refused = registry_.Register("alice", plan, "");
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("plan.randomisation_inference_draws: factor \"arm\" is assigned, not "
                        "randomised"));
  EXPECT_EQ(registry_.Get("t1", "main").status().code(), absl::StatusCode::kNotFound);
  plan.set_randomisation_inference_draws(0);  // the descriptive comparison itself is fine
  EXPECT_TRUE(registry_.Register("alice", plan, "").ok());
}

TEST(PlanSha256Test, DependsOnContentOnly) {
  v1::AnalysisPlan a = testing::MakePlan("t1");
  v1::AnalysisPlan b = testing::MakePlan("t1");
  EXPECT_EQ(PlanSha256(a), PlanSha256(b));
  b.set_alpha(0.1);
  EXPECT_NE(PlanSha256(a), PlanSha256(b));
  EXPECT_THAT(ChangedFields(a, b), ElementsAre("alpha"));
}

}  // namespace
}  // namespace fieldwork::analysis
