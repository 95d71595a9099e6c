// GetParticipants, the batch lookup messaging's send worker asks once per batch of sends (and
// survey-ingest, roster_only, per batch of responses): one answer per id in the order asked,
// arms only when asked, a write made through another replica seen at once, and every bad
// request named before anything is read.
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
                         v1::GetParticipantsResponse* response, bool roster_only = false,
                         const std::string& token = kResearcher) {
  v1::GetParticipantsRequest request;
  request.set_trial_id(trial);
  for (const std::string& id : ids) request.add_participant_ids(id);
  request.set_include_allocations(arms);
  request.set_roster_only(roster_only);
  return stub.GetParticipants(ContextWith(token).get(), request, response);
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

// roster_only answers from the service's index: it must say what the records say, also after
// another replica's writes, and keep a site-scoped caller to its sites.
TEST_F(RandomisationTest, GetParticipantsRosterOnlyAgreesWithTheRecords) {
  v1::TrialDesign design = BatchDesign("roster");
  design.add_sites()->set_id("LA2");
  design.add_cohorts("2020");
  design.add_cohorts("2021");
  ASSERT_TRUE(CreateTrial(design).ok());
  ASSERT_TRUE(Lock("roster").ok());
  Enrol("roster", {MakeParticipant("r1", "LA1", "2020"), MakeParticipant("r2", "LA2", "2021"),
                   MakeParticipant("r3", "LA1", "2020")});
  Randomise("roster", "2020");
  Randomise("roster", "2021");
  Enrol("roster", {MakeParticipant("r4", "LA2", "2021")});  // after the batch: not allocated

  ServiceStack other(redis_->url());
  v1::WithdrawRequest withdraw;
  withdraw.set_trial_id("roster");
  withdraw.set_participant_id("r1");
  withdraw.set_reason("asked to stop");
  v1::WithdrawResponse withdrawn;
  ASSERT_TRUE(other.stub().Withdraw(ContextWith(kResearcher).get(), withdraw, &withdrawn).ok());
  v1::RecordLeaverRequest leaver;
  leaver.set_trial_id("roster");
  leaver.set_participant_id("r2");
  leaver.mutable_left_on()->set_year(2021);
  leaver.mutable_left_on()->set_month(3);
  leaver.mutable_left_on()->set_day(1);
  v1::RecordLeaverResponse left;
  ASSERT_TRUE(other.stub().RecordLeaver(ContextWith(kResearcher).get(), leaver, &left).ok());

  const std::vector<std::string> ids = {"r1", "r2", "r3", "r4", "nobody"};
  v1::GetParticipantsResponse records;
  v1::GetParticipantsResponse roster;
  ASSERT_TRUE(LookupBatch(stub(), "roster", ids, false, &records).ok());
  ASSERT_TRUE(LookupBatch(stub(), "roster", ids, false, &roster, /*roster_only=*/true).ok());
  ASSERT_EQ(roster.participants_size(), 5);
  for (int i = 0; i < 4; ++i) {
    const v1::ParticipantLookup& facts = roster.participants(i);
    const v1::ParticipantStatus& status = records.participants(i).status();
    SCOPED_TRACE(facts.participant_id());
    EXPECT_EQ(facts.participant_id(), ids[static_cast<size_t>(i)]);
    EXPECT_TRUE(facts.enrolled());
    EXPECT_FALSE(facts.has_status());
    EXPECT_FALSE(facts.has_allocation());
    EXPECT_EQ(facts.roster().site(), status.participant().site());
    EXPECT_EQ(facts.roster().cohort(), status.participant().cohort());
    EXPECT_EQ(facts.roster().allocated(), status.allocated());
    EXPECT_EQ(facts.roster().withdrawn(), status.has_withdrawal());
    EXPECT_EQ(facts.roster().left(), status.has_left_on());
  }
  EXPECT_TRUE(roster.participants(0).roster().withdrawn());
  EXPECT_TRUE(roster.participants(1).roster().left());
  EXPECT_EQ(roster.participants(1).roster().site(), "LA2");
  EXPECT_EQ(roster.participants(1).roster().cohort(), "2021");
  EXPECT_TRUE(roster.participants(2).roster().allocated());
  EXPECT_FALSE(roster.participants(3).roster().allocated());
  EXPECT_FALSE(roster.participants(4).enrolled());
  EXPECT_FALSE(roster.participants(4).has_roster());

  // A partner of LA1 may look up LA1's participants only, roster or not.
  ASSERT_TRUE(LookupBatch(stub(), "roster", {"r1", "r3"}, false, &roster, true, kPartnerLa1).ok());
  grpc::Status status =
      LookupBatch(stub(), "roster", {"r1", "r2"}, false, &roster, true, kPartnerLa1);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  // A roster holds no arms.
  status = LookupBatch(stub(), "roster", {"r1"}, true, &roster, true);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("roster_only"));
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
