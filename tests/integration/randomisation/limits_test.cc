// Ids are checked against their documented form before any lookup, lengths are capped, and an
// error never echoes more than a short prefix of a bad value. Before, an 8 KB id came back
// whole in the status and the client failed with RESOURCE_EXHAUSTED instead of the error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/randomisation/randomisation_fixture.h"

namespace fieldwork::randomisation {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kHuge(8192, 'x');
constexpr size_t kShortStatus = 300;  // an excerpt of a value, not the value

v1::TrialDesign Clustered(const std::string& id) {
  v1::TrialDesign design;
  design.set_trial_id(id);
  design.add_sites()->set_id("LA1");
  *design.add_factors() = TwoArms("intervention", v1::RANDOMISATION_METHOD_CLUSTER);
  return design;
}

TEST_F(RandomisationTest, OversizedIdsAreRefusedBeforeAnyLookupWithAShortStatus) {
  ASSERT_TRUE(CreateTrial(Clustered("limits")).ok());

  v1::GetTrialRequest get_trial;
  get_trial.set_trial_id(kHuge);
  v1::GetTrialResponse trial;
  grpc::Status status = stub().GetTrial(ContextWith(kResearcher).get(), get_trial, &trial);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message().size();
  EXPECT_THAT(status.error_message(), HasSubstr("trial_id: must be 1-64 characters"));
  EXPECT_THAT(status.error_message(), HasSubstr("(8192 bytes)"));
  EXPECT_LT(status.error_message().size(), kShortStatus);

  // Upper case is not the documented form either (it used to be looked up: NOT_FOUND).
  get_trial.set_trial_id("Limits");
  EXPECT_EQ(stub().GetTrial(ContextWith(kResearcher).get(), get_trial, &trial).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::GetParticipantRequest get_participant;
  get_participant.set_trial_id("limits");
  get_participant.set_participant_id(kHuge);
  v1::GetParticipantResponse participant;
  // The site-scoped partner's call looks the participant's site up first: checked before that too.
  for (const char* token : {kResearcher, kPartnerLa1}) {
    status = stub().GetParticipant(ContextWith(token).get(), get_participant, &participant);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << token;
    EXPECT_THAT(status.error_message(), HasSubstr("participant_id: must be 1-128 characters"));
    EXPECT_LT(status.error_message().size(), kShortStatus);
  }

  v1::WithdrawRequest withdraw;
  withdraw.set_trial_id("limits");
  withdraw.set_site(kHuge);
  v1::WithdrawResponse withdrawn;
  status = stub().Withdraw(ContextWith(kResearcher).get(), withdraw, &withdrawn);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_LT(status.error_message().size(), kShortStatus);
}

TEST_F(RandomisationTest, OversizedClusterAndCategoryAreRowErrorsShownAsExcerpts) {
  ASSERT_TRUE(CreateTrial(Clustered("capped")).ok());
  v1::Participant long_cluster = MakeParticipant("p1", "LA1", "", std::string(10'000, 'c'));
  v1::Participant ok = MakeParticipant("p2", "LA1", "", "team-1");
  grpc::Status status;
  v1::EnrolResponse response = Enrol("capped", {long_cluster, ok}, kResearcher, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.enrolled(), 1);
  ASSERT_EQ(response.errors_size(), 1);
  EXPECT_EQ(response.errors(0).field(), "cluster");
  EXPECT_THAT(response.errors(0).reason(), HasSubstr("at most 128 bytes"));
  EXPECT_THAT(response.errors(0).value(), HasSubstr("(10000 bytes)"));
  EXPECT_LT(response.errors(0).value().size(), 100u);

  // A bad id in an all-or-nothing batch: the status lists the row without the id itself.
  Enrol("capped", {MakeParticipant(kHuge, "LA1", "", "team-1")}, kResearcher, &status, true);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("row 1 participant_id"));
  EXPECT_THAT(status.error_message(), Not(HasSubstr(kHuge.substr(0, 100))));
}

}  // namespace
}  // namespace fieldwork::randomisation
