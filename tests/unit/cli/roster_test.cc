#include "services/cli/roster.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

v1::TrialDesign Design() {
  v1::TrialDesign design;
  design.set_trial_id("t");
  auto* age = design.add_covariates();
  age->set_name("age");
  age->set_kind(v1::Covariate::KIND_NUMERIC);
  auto* role = design.add_covariates();
  role->set_name("role");
  role->set_kind(v1::Covariate::KIND_CATEGORICAL);
  return design;
}

TEST(RosterTest, ReadsRowsWithCovariatesAndReportsBadRowsByLine) {
  const std::string csv =
      "\xEF\xBB\xBFparticipant_id,site,cohort,age,role\r\n"
      "p1,LA1,2020,34,\"social worker, senior\"\r\n"
      "p2,LA1,2020,thirty,manager\r\n"
      "p3,LA2,2021,,manager\r\n"
      "p4,LA2\r\n";
  absl::StatusOr<Roster> roster = ReadRoster(csv, "roster.csv", Design());
  ASSERT_TRUE(roster.ok()) << roster.status();
  ASSERT_EQ(roster->rows.size(), 2u);
  EXPECT_EQ(roster->rows[0].line, 2);
  EXPECT_EQ(roster->rows[0].participant.covariates().at("age").number(), 34);
  EXPECT_EQ(roster->rows[0].participant.covariates().at("role").category(), "social worker, senior");
  EXPECT_EQ(roster->rows[1].participant.participant_id(), "p3");
  EXPECT_EQ(roster->rows[1].participant.covariates().count("age"), 0u) << "an empty cell is missing";
  ASSERT_EQ(roster->errors.size(), 2u);
  EXPECT_EQ(roster->errors[0].line, 3);
  EXPECT_EQ(roster->errors[0].column, "age");
  EXPECT_EQ(roster->errors[0].value, "thirty");
  EXPECT_EQ(roster->errors[1].line, 5);
  EXPECT_THAT(roster->errors[1].reason, HasSubstr("2 fields, the header has 5"));
}

TEST(RosterTest, UnknownColumnsFailTheFileNamingThem) {
  absl::StatusOr<Roster> roster = ReadRoster("participant_id,email\np1,a@b.c\n", "r.csv", Design());
  EXPECT_EQ(roster.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(roster.status().message(), HasSubstr("r.csv: line 1, column \"email\""));
  EXPECT_THAT(ReadRoster("site\nLA1\n", "r.csv", Design()).status().message(), HasSubstr("no participant_id column"));
  EXPECT_THAT(ReadRoster("", "r.csv", Design()).status().message(), HasSubstr("no header row"));
}

}  // namespace
}  // namespace fieldwork::cli
