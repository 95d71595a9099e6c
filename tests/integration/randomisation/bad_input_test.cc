// Bad input to the randomisation service: each gives a clear error and writes nothing wrong.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/integration/randomisation/randomisation_fixture.h"

namespace fieldwork::randomisation {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

v1::TrialDesign StratifiedDesign(const std::string& id) {
  v1::TrialDesign design;
  design.set_trial_id(id);
  design.add_sites()->set_id("LA1");
  design.add_sites()->set_id("LA2");
  auto* grade = design.add_covariates();
  grade->set_name("grade");
  grade->set_kind(v1::Covariate::KIND_CATEGORICAL);
  grade->add_levels("junior");
  grade->add_levels("senior");
  v1::Factor factor = TwoArms("intervention", v1::RANDOMISATION_METHOD_COMPLETE_WITHIN_STRATA);
  factor.add_strata("site");
  factor.add_strata("grade");
  *design.add_factors() = factor;
  return design;
}

v1::Participant Graded(const std::string& id, const std::string& site, const std::string& grade) {
  v1::Participant p = MakeParticipant(id, site);
  SetCategory(p, "grade", grade);
  return p;
}

TEST_F(RandomisationTest, UnknownTrialIsNotFound) {
  v1::GetTrialRequest request;
  request.set_trial_id("no-such-trial");
  v1::GetTrialResponse response;
  EXPECT_EQ(stub().GetTrial(ContextWith(kResearcher).get(), request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::Status status;
  Enrol("no-such-trial", {MakeParticipant("a", "LA1")}, kResearcher, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(RandomisationTest, BadDesignsAreRefusedNamingTheField) {
  v1::TrialDesign zero = StratifiedDesign("zero-weight");
  zero.mutable_factors(0)->mutable_arms(1)->set_weight(0);
  grpc::Status status = CreateTrial(zero);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("factors[0].arms[1].weight must be positive"));

  v1::TrialDesign negative = StratifiedDesign("negative-weight");
  negative.mutable_factors(0)->mutable_arms(0)->set_weight(-2);
  EXPECT_THAT(CreateTrial(negative).error_message(), HasSubstr("factors[0].arms[0].weight"));

  v1::TrialDesign bad_strata = StratifiedDesign("bad-strata");
  bad_strata.mutable_factors(0)->add_strata("team");
  EXPECT_THAT(CreateTrial(bad_strata).error_message(), HasSubstr("factors[0].strata[2]"));

  v1::TrialDesign bad_id = StratifiedDesign("Bad Id!");
  EXPECT_THAT(CreateTrial(bad_id).error_message(), HasSubstr("trial_id"));

  // Free text is bounded, and a bad id is quoted short, not echoed whole.
  v1::TrialDesign long_title = StratifiedDesign("long-title");
  long_title.set_title(std::string(1001, 't'));
  status = CreateTrial(long_title);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("title is 1001 bytes, more than the limit of 1000"));
  v1::TrialDesign long_site = StratifiedDesign("long-site");
  long_site.mutable_sites(1)->set_id(long_site.sites(0).id() + std::string(10000, 's'));
  long_site.mutable_sites(0)->set_id(long_site.sites(1).id());
  status = CreateTrial(long_site);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LT(status.error_message().size(), 200u) << status.error_message();

  // An enum number the proto does not define (proto3 keeps it) is refused by its path, even
  // where the design would never read it (a stratified design's minimisation options).
  v1::TrialDesign bad_enum = StratifiedDesign("bad-enum");
  bad_enum.mutable_factors(0)->mutable_minimisation()->set_imbalance(
      static_cast<v1::MinimisationOptions::Imbalance>(42));
  status = CreateTrial(bad_enum);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("factors[0].minimisation.imbalance: 42"));

  // Nothing was created.
  v1::ListTrialsRequest list;
  v1::ListTrialsResponse trials;
  ASSERT_TRUE(stub().ListTrials(ContextWith(kResearcher).get(), list, &trials).ok());
  EXPECT_EQ(trials.trials_size(), 0);
}

TEST_F(RandomisationTest, CreateIsIdempotentButADifferentDesignIsAlreadyExists) {
  ASSERT_TRUE(CreateTrial(StratifiedDesign("idem")).ok());
  EXPECT_TRUE(CreateTrial(StratifiedDesign("idem")).ok());
  v1::TrialDesign changed = StratifiedDesign("idem");
  changed.set_title("another");
  EXPECT_EQ(CreateTrial(changed).error_code(), grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(RandomisationTest, LockedDesignCannotChange) {
  ASSERT_TRUE(CreateTrial(StratifiedDesign("locked")).ok());
  v1::UpdateDesignRequest update;
  *update.mutable_design() = StratifiedDesign("locked");
  update.mutable_design()->set_title("edited while a draft");
  v1::UpdateDesignResponse updated;
  ASSERT_TRUE(stub().UpdateDesign(ContextWith(kResearcher).get(), update, &updated).ok());
  ASSERT_TRUE(Lock("locked").ok());
  update.mutable_design()->set_title("edited after the lock");
  const grpc::Status status = stub().UpdateDesign(ContextWith(kResearcher).get(), update, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("LOCKED"));
  v1::GetTrialRequest get;
  get.set_trial_id("locked");
  v1::GetTrialResponse trial;
  ASSERT_TRUE(stub().GetTrial(ContextWith(kResearcher).get(), get, &trial).ok());
  EXPECT_EQ(trial.trial().design().title(), "edited while a draft");
  EXPECT_EQ(trial.trial().design_sha256().size(), 64u);
}

TEST_F(RandomisationTest, EveryBadRowIsReportedAndGoodRowsKept) {
  ASSERT_TRUE(CreateTrial(StratifiedDesign("rows")).ok());
  std::vector<v1::Participant> rows = {
      Graded("ok-1", "LA1", "junior"),
      Graded("bad-level", "LA1", "principal"),  // row 2: a stratum value the design does not know
      Graded("ok-2", "LA2", "senior"),
      Graded("ok-1", "LA2", "junior"),          // row 4: duplicate id in the batch
      Graded("bad-site", "LA9", "junior"),      // row 5: unknown site
      MakeParticipant("no-grade", "LA1"),       // row 6: missing stratification variable
  };
  v1::EnrolResponse response = Enrol("rows", rows);
  EXPECT_EQ(response.enrolled(), 2);
  EXPECT_EQ(response.rejected(), 4);
  ASSERT_EQ(response.errors_size(), 4);
  EXPECT_EQ(response.errors(0).row(), 2);
  EXPECT_EQ(response.errors(0).field(), "covariates.grade");
  EXPECT_THAT(response.errors(0).reason(), HasSubstr("\"principal\" is not one of its levels"));
  EXPECT_EQ(response.errors(1).row(), 4);
  EXPECT_EQ(response.errors(1).field(), "participant_id");
  EXPECT_THAT(response.errors(1).reason(), HasSubstr("repeated in this batch (first at row 1)"));
  EXPECT_EQ(response.errors(2).row(), 5);
  EXPECT_EQ(response.errors(2).field(), "site");
  EXPECT_EQ(response.errors(3).row(), 6);
  EXPECT_EQ(response.errors(3).field(), "covariates.grade");
  EXPECT_EQ(Enrolled(stub(), "rows"), 2);

  // Retrying the same good row changes nothing; the same id with other data is refused.
  v1::EnrolResponse retry = Enrol("rows", {Graded("ok-1", "LA1", "junior"), Graded("ok-2", "LA2", "junior")});
  EXPECT_EQ(retry.enrolled(), 0);
  EXPECT_EQ(retry.unchanged(), 1);
  ASSERT_EQ(retry.errors_size(), 1);
  EXPECT_THAT(retry.errors(0).reason(), HasSubstr("already enrolled with different data"));
}

TEST_F(RandomisationTest, AllOrNothingRejectsTheWholeBatch) {
  ASSERT_TRUE(CreateTrial(StratifiedDesign("aon")).ok());
  grpc::Status status;
  Enrol("aon", {Graded("a", "LA1", "junior"), Graded("b", "LA1", "boss")}, kResearcher, &status, true);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("row 2 covariates.grade"));
  EXPECT_EQ(Enrolled(stub(), "aon"), 0);
}

TEST_F(RandomisationTest, MinimisationNeedsItsFactorValues) {
  v1::TrialDesign design = StratifiedDesign("mini");
  v1::Factor factor = TwoArms("intervention", v1::RANDOMISATION_METHOD_MINIMISATION);
  factor.mutable_minimisation()->add_factors()->set_variable("grade");
  *design.mutable_factors(0) = factor;
  ASSERT_TRUE(CreateTrial(design).ok());
  v1::EnrolResponse response = Enrol("mini", {MakeParticipant("x", "LA1")});
  ASSERT_EQ(response.errors_size(), 1);
  EXPECT_EQ(response.errors(0).field(), "covariates.grade");
  EXPECT_THAT(response.errors(0).reason(), HasSubstr("minimisation"));
}

TEST_F(RandomisationTest, ClusterAcrossSitesIsRefusedWhenTheDesignForbidsIt) {
  v1::TrialDesign design;
  design.set_trial_id("teams");
  design.add_sites()->set_id("LA1");
  design.add_sites()->set_id("LA2");
  v1::Factor factor = TwoArms("intervention", v1::RANDOMISATION_METHOD_CLUSTER);
  *design.add_factors() = factor;
  ASSERT_TRUE(CreateTrial(design).ok());
  v1::EnrolResponse response = Enrol("teams", {MakeParticipant("a", "LA1", "", "team-1"),
                                               MakeParticipant("b", "LA2", "", "team-1"),
                                               MakeParticipant("c", "LA2", "", "")});
  EXPECT_EQ(response.enrolled(), 1);
  ASSERT_EQ(response.errors_size(), 2);
  EXPECT_EQ(response.errors(0).row(), 2);
  EXPECT_EQ(response.errors(0).field(), "cluster");
  EXPECT_THAT(response.errors(0).reason(), HasSubstr("forbids clusters across sites"));
  EXPECT_EQ(response.errors(1).row(), 3);
  EXPECT_THAT(response.errors(1).reason(), HasSubstr("required"));
  // A later call is checked against the clusters already enrolled (kept with the trial's
  // state, not rebuilt from every participant): team-1 is at LA1.
  v1::EnrolResponse later = Enrol("teams", {MakeParticipant("d", "LA2", "", "team-1"),
                                            MakeParticipant("e", "LA1", "", "team-1"),
                                            MakeParticipant("f", "LA2", "", "team-2")});
  EXPECT_EQ(later.enrolled(), 2);
  ASSERT_EQ(later.errors_size(), 1);
  EXPECT_EQ(later.errors(0).row(), 1);
  EXPECT_THAT(later.errors(0).reason(), HasSubstr("is already in site \"LA1\""));
}

TEST_F(RandomisationTest, PartnersStayInTheirSitesAndNeverSeeArmsOrSecrets) {
  ASSERT_TRUE(CreateTrial(StratifiedDesign("partner")).ok());
  grpc::Status status;
  Enrol("partner", {Graded("p1", "LA1", "junior"), Graded("p2", "LA2", "junior")}, kPartnerLa1, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("row 2"));
  EXPECT_EQ(Enrolled(stub(), "partner"), 0) << "nothing half-way";
  EXPECT_EQ(Enrol("partner", {Graded("p1", "LA1", "junior")}, kPartnerLa1).enrolled(), 1);
  // A partner cannot create trials, read allocations, or see the secret.
  EXPECT_EQ(CreateTrial(StratifiedDesign("by-partner"), kPartnerLa1).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::GetAllocationRequest get;
  get.set_trial_id("partner");
  get.set_participant_id("p1");
  v1::GetAllocationResponse allocation;
  EXPECT_EQ(stub().GetAllocation(ContextWith(kPartnerLa1).get(), get, &allocation).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::RevealSecretRequest reveal;
  reveal.set_trial_id("partner");
  v1::RevealSecretResponse secret;
  EXPECT_EQ(stub().RevealSecret(ContextWith(kResearcher).get(), reveal, &secret).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Even an admin gets the secret only once the trial is closed.
  EXPECT_EQ(stub().RevealSecret(ContextWith(kAdmin).get(), reveal, &secret).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // No token at all.
  v1::GetTrialRequest trial;
  trial.set_trial_id("partner");
  v1::GetTrialResponse got;
  EXPECT_EQ(stub().GetTrial(ContextWith("").get(), trial, &got).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(RandomisationTest, WithdrawalsAndLeaversKeepTheAllocation) {
  ASSERT_TRUE(CreateTrial(StratifiedDesign("withdraw")).ok());
  std::vector<v1::Participant> roster;
  for (int i = 0; i < 12; ++i) roster.push_back(Graded(absl::StrCat("w", i), i < 6 ? "LA1" : "LA2", "junior"));
  Enrol("withdraw", roster);
  ASSERT_TRUE(Lock("withdraw").ok());
  Randomise("withdraw");
  v1::WithdrawRequest site;
  site.set_trial_id("withdraw");
  site.set_site("LA2");
  site.set_reason("the LA withdrew");
  site.mutable_date()->set_year(2021);
  site.mutable_date()->set_month(3);
  site.mutable_date()->set_day(1);
  v1::WithdrawResponse withdrawn;
  ASSERT_TRUE(stub().Withdraw(ContextWith(kResearcher).get(), site, &withdrawn).ok());
  EXPECT_EQ(withdrawn.withdrawn(), 6);
  ASSERT_TRUE(stub().Withdraw(ContextWith(kResearcher).get(), site, &withdrawn).ok());
  EXPECT_EQ(withdrawn.withdrawn(), 0) << "withdrawing twice changes nothing";
  v1::RecordLeaverRequest leaver;
  leaver.set_trial_id("withdraw");
  leaver.set_participant_id("w0");
  leaver.mutable_left_on()->set_year(2021);
  leaver.mutable_left_on()->set_month(2);
  leaver.mutable_left_on()->set_day(30);  // not a date
  v1::RecordLeaverResponse left;
  const grpc::Status bad_date = stub().RecordLeaver(ContextWith(kPartnerLa1).get(), leaver, &left);
  EXPECT_EQ(bad_date.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad_date.error_message(), HasSubstr("left_on"));
  leaver.mutable_left_on()->set_day(15);
  EXPECT_TRUE(stub().RecordLeaver(ContextWith(kPartnerLa1).get(), leaver, &left).ok());
  leaver.set_participant_id("w7");  // LA2: not the partner's site
  EXPECT_EQ(stub().RecordLeaver(ContextWith(kPartnerLa1).get(), leaver, &left).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  const std::vector<v1::Allocation> allocations = Allocations("withdraw");
  ASSERT_EQ(allocations.size(), 12u);
  int withdrawn_count = 0;
  for (const auto& a : allocations) {
    EXPECT_EQ(a.assignments_size(), 1) << "the allocation is kept for intent-to-treat";
    if (a.has_withdrawal()) {
      ++withdrawn_count;
      EXPECT_EQ(a.site(), "LA2");
      EXPECT_TRUE(a.withdrawal().with_site());
    }
    if (a.participant_id() == "w0") {
      EXPECT_EQ(a.left_on().day(), 15);
    }
  }
  EXPECT_EQ(withdrawn_count, 6);
  EXPECT_TRUE(Verify("withdraw").valid());
}

}  // namespace
}  // namespace fieldwork::randomisation
