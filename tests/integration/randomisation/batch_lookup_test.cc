// GetParticipants, the batch lookup messaging's send worker asks once per batch of sends: one
// answer per id in the order asked, arms only when asked, a write made through another replica
// seen at once, and every bad request named before anything is read.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/integration/randomisation/randomisation_fixture.h"

namespace fieldwork::randomisation {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

v1::TrialDesign BatchDesign(const std::string& id) {
  v1::TrialDesign design;
  design.set_trial_id(id);
  design.add_sites()->set_id("LA1");
  *design.add_factors() = TwoArms("intervention", v1::RANDOMISATION_METHOD_COMPLETE);
  return design;
}

grpc::Status LookupBatch(v1::RandomisationService::Stub& stub, const std::string& trial,
                    const std::vector<std::string>& ids, bool arms,
                    v1::GetParticipantsResponse* response) {
  v1::GetParticipantsRequest request;
  request.set_trial_id(trial);
  for (const std::string& id : ids) request.add_participant_ids(id);
  request.set_include_allocations(arms);
  return stub.GetParticipants(ContextWith(kResearcher).get(), request, response);
}

TEST_F(RandomisationTest, GetParticipantsAnswersEachIdInOrderAndSeesAnotherReplicasWrites) {
  ASSERT_TRUE(CreateTrial(BatchDesign("batch")).ok());
  ASSERT_TRUE(Lock("batch").ok());
  Enrol("batch", {MakeParticipant("b1", "LA1"), MakeParticipant("b2", "LA1"),
                  MakeParticipant("b3", "LA1")});
  Randomise("batch");
  Enrol("batch", {MakeParticipant("b4", "LA1")});  // enrolled after the batch: not allocated

  v1::GetParticipantsResponse found;
  ASSERT_TRUE(LookupBatch(stub(), "batch", {"b3", "nobody", "b4", "b3"}, true, &found).ok());
  ASSERT_EQ(found.participants_size(), 4);
  const std::vector<std::string> order = {"b3", "nobody", "b4", "b3"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(found.participants(i).participant_id(), order[static_cast<size_t>(i)]);
  }
  EXPECT_TRUE(found.participants(0).enrolled());
  EXPECT_FALSE(found.participants(1).enrolled());
  EXPECT_FALSE(found.participants(1).has_status());
  EXPECT_TRUE(found.participants(2).enrolled());
  EXPECT_FALSE(found.participants(2).status().allocated());
  EXPECT_FALSE(found.participants(2).has_allocation());
  // The arm is GetAllocation's.
  v1::GetAllocationRequest one;
  one.set_trial_id("batch");
  one.set_participant_id("b3");
  v1::GetAllocationResponse allocation;
  ASSERT_TRUE(stub().GetAllocation(ContextWith(kResearcher).get(), one, &allocation).ok());
  ASSERT_TRUE(found.participants(0).has_allocation());
  EXPECT_EQ(found.participants(0).allocation().assignments(0).arm(),
            allocation.allocation().assignments(0).arm());
  EXPECT_EQ(found.participants(3).allocation().assignments(0).arm(),
            allocation.allocation().assignments(0).arm());
  ASSERT_TRUE(LookupBatch(stub(), "batch", {"b3"}, false, &found).ok());
  EXPECT_FALSE(found.participants(0).has_allocation());

  // A second replica over the same Redis withdraws b1: this replica's cached trial is stale,
  // and its next batch answer must say so (a send must never go to a withdrawn participant).
  ServiceStack other(redis_->url());
  v1::WithdrawRequest withdraw;
  withdraw.set_trial_id("batch");
  withdraw.set_participant_id("b1");
  withdraw.set_reason("asked to stop");
  v1::WithdrawResponse withdrawn;
  ASSERT_TRUE(other.stub().Withdraw(ContextWith(kResearcher).get(), withdraw, &withdrawn).ok());
  ASSERT_TRUE(LookupBatch(stub(), "batch", {"b1", "b2"}, true, &found).ok());
  EXPECT_TRUE(found.participants(0).status().has_withdrawal());
  EXPECT_TRUE(found.participants(0).allocation().has_withdrawal());
  EXPECT_FALSE(found.participants(1).status().has_withdrawal());
}

TEST_F(RandomisationTest, GetParticipantsNamesABadRequestBeforeReadingAnything) {
  ASSERT_TRUE(CreateTrial(BatchDesign("batchbad")).ok());
  v1::GetParticipantsResponse found;
  grpc::Status status = LookupBatch(stub(), "batchbad", {}, false, &found);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("participant_ids: give 1 to 1000 ids (got 0)"));

  std::vector<std::string> too_many;
  for (int i = 0; i < 1001; ++i) too_many.push_back(absl::StrCat("p", i));
  status = LookupBatch(stub(), "batchbad", too_many, false, &found);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("(got 1001)"));

  status = LookupBatch(stub(), "batchbad", {"ok", std::string(8192, 'x')}, false, &found);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("participant_ids[1]: must be 1-128 characters"));
  EXPECT_LT(status.error_message().size(), 300u);

  status = LookupBatch(stub(), "no-such-trial", {"ok"}, false, &found);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_EQ(found.participants_size(), 0);
}

}  // namespace
}  // namespace fieldwork::randomisation
