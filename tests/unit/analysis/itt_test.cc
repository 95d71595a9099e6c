#include "services/analysis/stats/itt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/unit/analysis/fixtures.h"

namespace fieldwork::analysis {
namespace {

using fixtures::Csv;
using fixtures::Expected;
using fixtures::ExpectTableMatches;
using fixtures::Near;
using fixtures::Num;
using fixtures::Nums;
using ::testing::HasSubstr;

IttInput TwoArm() {
  const Csv d = Csv::Read("itt_two_arm.csv");
  IttInput in;
  in.outcome = d.Numbers("y");
  in.arm = d.Strings("arm");
  in.control_arm = "control";
  in.covariates = {{"baseline", d.Numbers("baseline")}, {"age", d.Numbers("age")}};
  in.strata = d.Strings("stratum");
  return in;
}

IttInput ThreeArm() {
  const Csv d = Csv::Read("itt_three_arm.csv");
  IttInput in;
  in.outcome = d.Numbers("y");
  in.arm = d.Strings("arm");
  in.control_arm = "control";
  in.covariates = {{"x1", d.Numbers("x1")}};
  in.strata = d.Strings("site");
  return in;
}

void ExpectMeans(const IttResult& r, const nlohmann::json& e) {
  const std::vector<double> m = Nums(e["adjusted_mean"]);
  const std::vector<double> se = Nums(e["std_error"]);
  ASSERT_EQ(r.arm_summaries.size(), m.size());
  for (size_t a = 0; a < m.size(); ++a) {
    SCOPED_TRACE(r.arm_summaries[a].arm);
    EXPECT_TRUE(Near(r.arm_summaries[a].adjusted.estimate, m[a], 1e-8));
    EXPECT_TRUE(Near(r.arm_summaries[a].adjusted.std_error, se[a], 1e-8));
  }
}

void ExpectWald(const WaldTest& w, const nlohmann::json& e) {
  EXPECT_TRUE(Near(w.f_statistic, Num(e["f"]), 1e-8));
  EXPECT_EQ(w.numerator_df, static_cast<int>(Num(e["df1"])));
  EXPECT_TRUE(Near(w.denominator_df, Num(e["df2"]), 1e-12));
  EXPECT_TRUE(Near(w.p_value, Num(e["p_value"]), 1e-8));
}

TEST(IttTest, TwoArmWithCovariatesAndStrata) {
  absl::StatusOr<IttResult> r = EstimateItt(TwoArm());
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectTableMatches(r->fit, Expected("itt2_standard"));
  ExpectMeans(*r, Expected("itt2_standard_means"));
  const auto& raw = Expected("itt2_raw");
  for (size_t a = 0; a < 2; ++a) {
    EXPECT_EQ(r->arm_summaries[a].n, static_cast<std::int64_t>(Nums(raw["n"])[a]));
    EXPECT_TRUE(Near(r->arm_summaries[a].raw_mean, Nums(raw["mean"])[a], 1e-10));
    EXPECT_TRUE(Near(r->arm_summaries[a].raw_sd, Nums(raw["sd"])[a], 1e-10));
  }
  ASSERT_EQ(r->effects.size(), 1u);
  const Coefficient& treat = r->fit.coefficients[1];
  EXPECT_EQ(treat.term, "armtreatment");
  EXPECT_DOUBLE_EQ(r->effects[0].effect.estimate, treat.estimate);
  EXPECT_TRUE(Near(r->effects[0].effect.std_error, treat.std_error, 1e-12));
  EXPECT_TRUE(Near(r->effects[0].effect.p_value, treat.p_value, 1e-10));
  // With one restriction the joint F is t^2.
  EXPECT_TRUE(Near(r->joint_test.f_statistic, treat.statistic * treat.statistic, 1e-10));
  EXPECT_TRUE(Near(r->joint_test.p_value, treat.p_value, 1e-8));
}

TEST(IttTest, TwoArmLinAdjustmentAsLmLin) {
  IttOptions options;
  options.lin_adjustment = true;
  absl::StatusOr<IttResult> r = EstimateItt(TwoArm(), options);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectTableMatches(r->fit, Expected("itt2_lin"));
  ExpectMeans(*r, Expected("itt2_lin_means"));
  EXPECT_EQ(r->fit.coefficients[7].term, "armtreatment:baseline_c");
}

TEST(IttTest, TwoArmUnadjustedMeansAreRawMeans) {
  IttInput in = TwoArm();
  in.covariates.clear();
  in.strata.clear();
  absl::StatusOr<IttResult> r = EstimateItt(in);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectTableMatches(r->fit, Expected("itt2_unadjusted"));
  for (const ArmSummary& s : r->arm_summaries) {
    EXPECT_NEAR(s.adjusted.estimate, s.raw_mean, 1e-10);
  }
}

TEST(IttTest, ThreeArmWaldTestAndContrast) {
  absl::StatusOr<IttResult> r = EstimateItt(ThreeArm());
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectTableMatches(r->fit, Expected("itt3_standard"));
  ExpectMeans(*r, Expected("itt3_standard_means"));
  ExpectWald(r->joint_test, Expected("itt3_standard_wald"));
  ASSERT_EQ(r->effects.size(), 2u);
  EXPECT_EQ(r->effects[1].arm, "video");

  absl::StatusOr<LinearCombination> vl = ContrastArms(*r, "video", "letter");
  ASSERT_TRUE(vl.ok()) << vl.status();
  const auto& e = Expected("itt3_standard_video_vs_letter");
  EXPECT_TRUE(Near(vl->estimate, Num(e["estimate"]), 1e-8));
  EXPECT_TRUE(Near(vl->std_error, Num(e["std_error"]), 1e-8));
  EXPECT_TRUE(Near(vl->statistic * vl->statistic, Num(e["f"]), 1e-8));
  EXPECT_TRUE(Near(vl->p_value, Num(e["p_value"]), 1e-8));
  // The contrast is the difference of the adjusted means.
  EXPECT_NEAR(vl->estimate,
              r->arm_summaries[2].adjusted.estimate - r->arm_summaries[1].adjusted.estimate, 1e-12);
  EXPECT_FALSE(ContrastArms(*r, "video", "podcast").ok());
}

TEST(IttTest, ThreeArmLinAndClassicalWald) {
  IttOptions lin;
  lin.lin_adjustment = true;
  absl::StatusOr<IttResult> r = EstimateItt(ThreeArm(), lin);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectTableMatches(r->fit, Expected("itt3_lin"));
  ExpectWald(r->joint_test, Expected("itt3_lin_wald"));
  IttOptions classical;
  classical.se_type = SeType::kClassical;
  absl::StatusOr<IttResult> c = EstimateItt(ThreeArm(), classical);
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectWald(c->joint_test, Expected("itt3_classical_wald"));
}

TEST(IttTest, ArmOrderAndErrors) {
  IttInput in = ThreeArm();
  in.arm_order = {"video", "letter"};
  absl::StatusOr<IttResult> r = EstimateItt(in);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->arms, (std::vector<std::string>{"control", "video", "letter"}));
  EXPECT_EQ(r->fit.coefficients[1].term, "armvideo");

  IttInput bad = ThreeArm();
  bad.control_arm = "placebo";
  EXPECT_THAT(std::string(EstimateItt(bad).status().message()), HasSubstr("placebo"));
  IttInput empty;
  empty.control_arm = "control";
  EXPECT_THAT(std::string(EstimateItt(empty).status().message()), HasSubstr("empty"));
  IttInput one_arm = TwoArm();
  for (std::string& a : one_arm.arm) a = "control";
  EXPECT_THAT(std::string(EstimateItt(one_arm).status().message()), HasSubstr("two arms"));
  IttInput missing = TwoArm();
  missing.outcome(3) = std::nan("");
  EXPECT_THAT(std::string(EstimateItt(missing).status().message()), HasSubstr("respondents"));
}

}  // namespace
}  // namespace fieldwork::analysis
