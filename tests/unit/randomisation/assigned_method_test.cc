// RANDOMISATION_METHOD_ASSIGNED: the non-random method of the pilots. The arm is read from the
// categorical covariate named like the factor; the design is refused unless that covariate is
// required and lists exactly the arms; and the allocation lands in the audit log like any other.
#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/civil_time.h"
#include "services/common/clock.h"
#include "services/randomisation/engine/design_validation.h"
#include "services/randomisation/engine/engine.h"
#include "services/randomisation/randomiser.h"
#include "services/randomisation/redis_store.h"
#include "tests/testing/redis_server.h"

namespace fieldwork::randomisation {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

v1::TrialDesign PilotDesign() {
  v1::TrialDesign design;
  design.set_trial_id("dictation");
  design.add_sites()->set_id("brent");
  v1::Covariate* given = design.add_covariates();
  given->set_name("app");
  given->set_kind(v1::Covariate::KIND_CATEGORICAL);
  given->set_required(true);
  given->add_levels("dictation");
  given->add_levels("comparison");
  v1::Factor* factor = design.add_factors();
  factor->set_name("app");
  factor->set_method(v1::RANDOMISATION_METHOD_ASSIGNED);
  for (const char* arm : {"dictation", "comparison"}) {
    v1::Arm* a = factor->add_arms();
    a->set_name(arm);
    a->set_weight(1);
  }
  return design;
}

v1::Participant Person(const std::string& id, const std::string& arm) {
  v1::Participant p;
  p.set_participant_id(id);
  p.set_site("brent");
  (*p.mutable_covariates())["app"].set_category(arm);
  return p;
}

TEST(AssignedMethodTest, ValidDesignIsAcceptedAndIsAllocatablePerParticipant) {
  EXPECT_TRUE(ValidateDesign(PilotDesign()).ok());
  EXPECT_TRUE(IsPerParticipantMethod(v1::RANDOMISATION_METHOD_ASSIGNED));
  EXPECT_FALSE(IsSequentialMethod(v1::RANDOMISATION_METHOD_ASSIGNED));
}

TEST(AssignedMethodTest, RefusesADesignWithoutTheArmColumn) {
  v1::TrialDesign design = PilotDesign();
  design.mutable_covariates(0)->set_name("team");
  const absl::Status status = ValidateDesign(design);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("factors[0].method"));
  EXPECT_THAT(status.message(), HasSubstr("categorical covariate named \"app\""));
}

TEST(AssignedMethodTest, RefusesAnOptionalArmColumnOrLevelsThatAreNotTheArms) {
  v1::TrialDesign optional = PilotDesign();
  optional.mutable_covariates(0)->set_required(false);
  EXPECT_THAT(ValidateDesign(optional).message(), HasSubstr("must be required"));

  v1::TrialDesign levels = PilotDesign();
  levels.mutable_covariates(0)->add_levels("both");
  EXPECT_THAT(ValidateDesign(levels).message(), HasSubstr("must be exactly the arms"));
}

TEST(AssignedMethodTest, BatchAndSequentialAllocationGiveEachParticipantTheGivenArm) {
  const v1::TrialDesign design = PilotDesign();
  const std::vector<v1::Participant> people = {Person("p1", "comparison"), Person("p2", "dictation"),
                                               Person("p3", "dictation")};
  absl::StatusOr<BatchAllocation> batch = AllocateBatch("secret-a", design, "", 0, people);
  ASSERT_TRUE(batch.ok()) << batch.status();
  absl::StatusOr<BatchAllocation> other_secret = AllocateBatch("secret-b", design, "", 7, people);
  ASSERT_TRUE(other_secret.ok()) << other_secret.status();
  SequentialAllocator sequential("secret-c", design, "");
  for (size_t i = 0; i < people.size(); ++i) {
    const std::string given = people[i].covariates().at("app").category();
    EXPECT_EQ(batch->assignments[i].at(0).arm(), given);
    EXPECT_EQ(other_secret->assignments[i].at(0).arm(), given) << "the secret must not matter";
    absl::StatusOr<std::vector<v1::Assignment>> next = sequential.Next(people[i]);
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_EQ(next->at(0).arm(), given);
  }
}

TEST(AssignedMethodTest, AParticipantWithoutAValidArmFailsNamingIt) {
  absl::StatusOr<BatchAllocation> batch =
      AllocateBatch("secret", PilotDesign(), "", 0, {Person("p1", "dictation"), Person("p2", "unknown")});
  ASSERT_FALSE(batch.ok());
  EXPECT_THAT(batch.status().message(), HasSubstr("\"p2\""));
}

TEST(AssignedMethodTest, AllocationIsRecordedInTheAuditLog) {
  fieldwork::testing::RedisServer redis;
  std::unique_ptr<RedisClient> client = redis.NewClient();
  RedisRandomisationStore store(*client);
  ManualClock clock(absl::FromCivil(absl::CivilSecond(2021, 3, 1, 9, 0, 0), absl::UTCTimeZone()));
  Randomiser randomiser(store, clock);
  ASSERT_TRUE(randomiser.CreateTrial(PilotDesign(), "researcher").ok());
  ASSERT_TRUE(randomiser.LockDesign("dictation", "researcher").ok());
  absl::StatusOr<v1::EnrolResponse> enrolled = randomiser.Enrol(
      "dictation", {Person("p1", "dictation"), Person("p2", "comparison")}, false, "partner");
  ASSERT_TRUE(enrolled.ok()) << enrolled.status();
  ASSERT_EQ(enrolled->enrolled(), 2);
  absl::StatusOr<v1::RandomiseResponse> allocated = randomiser.Randomise("dictation", "", "researcher");
  ASSERT_TRUE(allocated.ok()) << allocated.status();
  EXPECT_EQ(allocated->newly_allocated(), 2);
  EXPECT_EQ(randomiser.GetAllocation("dictation", "p2")->assignments(0).arm(), "comparison");

  absl::StatusOr<std::vector<v1::AuditEntry>> log = randomiser.AuditLog("dictation");
  ASSERT_TRUE(log.ok()) << log.status();
  bool found = false;
  for (const v1::AuditEntry& entry : *log) {
    if (entry.kind() == v1::AuditEntry::KIND_ALLOCATION) {
      found = true;
      EXPECT_THAT(entry.participant_ids(), ::testing::UnorderedElementsAre("p1", "p2"));
    }
  }
  EXPECT_TRUE(found) << "no allocation entry in the audit log";
  // Unequal given cohorts are no sample-ratio mismatch: the test does not apply.
  absl::StatusOr<v1::BalanceResponse> balance = randomiser.Balance("dictation", "", "");
  ASSERT_TRUE(balance.ok()) << balance.status();
  ASSERT_EQ(balance->factors_size(), 1);
  EXPECT_TRUE(std::isnan(balance->factors(0).srm_p_value()));
  EXPECT_EQ(balance->factors(0).count_by_arm().at("comparison"), 1);
  for (const auto& c : balance->factors(0).covariates()) EXPECT_NE(c.covariate(), "app") << "the arm is no covariate";
  absl::StatusOr<v1::BalanceResponse> counts =
      randomiser.Balance("dictation", "", "", /*counts_only=*/true);
  ASSERT_TRUE(counts.ok()) << counts.status();
  ASSERT_EQ(counts->factors_size(), 1);
  EXPECT_TRUE(std::isnan(counts->factors(0).srm_p_value()));
  EXPECT_EQ(counts->factors(0).count_by_arm().at("comparison"), 1);

  absl::StatusOr<v1::VerifyAuditLogResponse> verified = randomiser.VerifyAuditLog("dictation");
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->valid()) << verified->reason();
}

}  // namespace
}  // namespace fieldwork::randomisation
