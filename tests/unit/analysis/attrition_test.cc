#include "services/analysis/stats/attrition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "services/analysis/stats/logistic.h"
#include "tests/unit/analysis/fixtures.h"

namespace fieldwork::analysis {
namespace {

using fixtures::Columns;
using fixtures::Csv;
using fixtures::Expected;
using fixtures::ExpectTableMatches;
using fixtures::Near;
using fixtures::Num;
using fixtures::Nums;
using ::testing::HasSubstr;

TEST(AttritionTest, ResponseRatesAndDifferentialAttrition) {
  const Csv d = Csv::Read("attrition.csv");
  absl::StatusOr<AttritionReport> r =
      AnalyseAttrition(d.Strings("arm"), d.Numbers("responded"), "control");
  ASSERT_TRUE(r.ok()) << r.status();
  const auto& e = Expected("attrition_rates");
  ASSERT_EQ(r->arms.size(), 2u);
  for (size_t a = 0; a < 2; ++a) {
    EXPECT_EQ(r->arms[a].arm, e["arm"][a].get<std::string>());
    EXPECT_EQ(r->arms[a].randomised, static_cast<std::int64_t>(Nums(e["n"])[a]));
    EXPECT_EQ(r->arms[a].responded, static_cast<std::int64_t>(Nums(e["responded"])[a]));
    EXPECT_TRUE(Near(r->arms[a].rate, Nums(e["rate"])[a], 1e-12));
  }
  EXPECT_TRUE(Near(r->chi_square, Num(e["chisq"]), 1e-10));
  EXPECT_EQ(r->chi_square_df, 1);
  EXPECT_TRUE(Near(r->chi_square_p_value, Num(e["chisq_p"]), 1e-8));
  ExpectTableMatches(r->rate_differences.fit, Expected("attrition_lpm"));
}

TEST(AttritionTest, LogisticRegressionMatchesGlm) {
  const Csv d = Csv::Read("attrition.csv");
  Eigen::MatrixXd x = Columns(d, {"x1", "x1", "x2"});
  const std::vector<std::string>& arm = d.Strings("arm");
  for (size_t i = 0; i < arm.size(); ++i) {
    x(static_cast<Eigen::Index>(i), 1) = arm[i] == "treatment" ? 1.0 : 0.0;
  }
  absl::StatusOr<LogisticFit> fit =
      FitLogistic(x, {"(Intercept)", "armtreatment", "x1", "x2"}, d.Numbers("responded"));
  ASSERT_TRUE(fit.ok()) << fit.status();
  const auto& e = Expected("attrition_glm");
  for (Eigen::Index j = 0; j < 4; ++j) {
    const auto jj = static_cast<size_t>(j);
    EXPECT_TRUE(Near(fit->estimate(j), Nums(e["estimate"])[jj], 1e-8)) << j;
    EXPECT_TRUE(Near(fit->std_error(j), Nums(e["std_error"])[jj], 1e-8)) << j;
    EXPECT_TRUE(Near(fit->z(j), Nums(e["z"])[jj], 1e-8)) << j;
    EXPECT_TRUE(Near(fit->p_value(j), Nums(e["p_value"])[jj], 1e-8)) << j;
  }
  EXPECT_TRUE(Near(fit->deviance, Num(e["deviance"]), 1e-10));
  EXPECT_TRUE(Near(fit->null_deviance, Num(e["null_deviance"]), 1e-10));
  EXPECT_EQ(fit->iterations, static_cast<int>(Num(e["iterations"])));
  EXPECT_TRUE(fit->converged);
  const std::vector<double> head = Nums(e["fitted_head"]);
  for (size_t i = 0; i < head.size(); ++i) {
    EXPECT_TRUE(Near(fit->fitted(static_cast<Eigen::Index>(i)), head[i], 1e-8));
  }
}

TEST(AttritionTest, InverseProbabilityWeightedItt) {
  const Csv d = Csv::Read("attrition.csv");
  IpwInput in;
  in.itt.outcome = d.Numbers("y");  // NA for non-respondents
  in.itt.arm = d.Strings("arm");
  in.itt.control_arm = "control";
  in.itt.covariates = {{"x1", d.Numbers("x1")}};
  in.response_covariates = {{"x1", d.Numbers("x1")}, {"x2", d.Numbers("x2")}};
  absl::StatusOr<IpwResult> r = EstimateIttWithIpw(in);
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectTableMatches(r->itt.fit, Expected("attrition_ipw_HC2"));
  EXPECT_TRUE(std::isnan(r->weights(1)) || r->weights(1) >= 1.0);
}

TEST(AttritionTest, LeeBoundsMatchTheDefinition) {
  const Csv d = Csv::Read("attrition.csv");
  const std::vector<std::string>& arm = d.Strings("arm");
  Eigen::VectorXd treated(static_cast<Eigen::Index>(arm.size()));
  for (size_t i = 0; i < arm.size(); ++i) {
    treated(static_cast<Eigen::Index>(i)) = arm[i] == "treatment" ? 1.0 : 0.0;
  }
  absl::StatusOr<LeeBounds> b = ComputeLeeBounds(d.Numbers("y"), treated, d.Numbers("responded"));
  ASSERT_TRUE(b.ok()) << b.status();
  const auto& e = Expected("lee_bounds");
  EXPECT_TRUE(Near(b->trim_share, Num(e["trim_share"]), 1e-12));
  EXPECT_TRUE(Near(b->lower, Num(e["lower"]), 1e-10));
  EXPECT_TRUE(Near(b->upper, Num(e["upper"]), 1e-10));
  EXPECT_EQ(b->trimmed_arm, "treated");
  EXPECT_LE(b->lower, b->upper);
}

// By hand: treated 1..5 all respond (rate 1), control 2 of 4 respond (rate 0.5) with 0 and 2
// (mean 1). q = 0.5: keep 2.5 of 5. Lower: 1, 2 and half of 3 -> (1 + 2 + 1.5) / 2.5 = 1.8.
// Upper: 5, 4 and half of 3 -> (5 + 4 + 1.5) / 2.5 = 4.2.
TEST(AttritionTest, LeeBoundsByHand) {
  Eigen::VectorXd y(9);
  y << 1, 2, 3, 4, 5, 0, 2, std::nan(""), std::nan("");
  Eigen::VectorXd t(9);
  t << 1, 1, 1, 1, 1, 0, 0, 0, 0;
  Eigen::VectorXd r(9);
  r << 1, 1, 1, 1, 1, 1, 1, 0, 0;
  absl::StatusOr<LeeBounds> b = ComputeLeeBounds(y, t, r);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_DOUBLE_EQ(b->trim_share, 0.5);
  EXPECT_NEAR(b->lower, 1.8 - 1.0, 1e-12);
  EXPECT_NEAR(b->upper, 4.2 - 1.0, 1e-12);
  // Swap the arms: now the control arm is trimmed, and the bounds mirror.
  absl::StatusOr<LeeBounds> s = ComputeLeeBounds(y, (1.0 - t.array()).matrix(), r);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->trimmed_arm, "control");
  EXPECT_NEAR(s->lower, 1.0 - 4.2, 1e-12);
  EXPECT_NEAR(s->upper, 1.0 - 1.8, 1e-12);
}

TEST(AttritionTest, Errors) {
  EXPECT_FALSE(AnalyseAttrition({}, Eigen::VectorXd(), "control").ok());
  EXPECT_THAT(
      std::string(AnalyseAttrition({"control", "treatment"}, Eigen::Vector2d(1, 2), "control")
                      .status()
                      .message()),
      HasSubstr("not 0 or 1"));
  EXPECT_FALSE(ComputeLeeBounds(Eigen::Vector2d(1, 2), Eigen::Vector2d(1, 1), Eigen::Vector2d(1, 1))
                   .ok());  // no control arm
  EXPECT_FALSE(
      FitLogistic(Eigen::MatrixXd::Ones(2, 1), {"(Intercept)"}, Eigen::Vector2d(0, 3)).ok());
}

// With everyone (or no one) responding there is no test, so neither its p nor a caveat about its
// small expected counts; with a test, the caveat stays.
TEST(AttritionTest, NoTestNoCaveatWhenEveryoneOrNoOneResponded) {
  const std::vector<std::string> arm = {"control", "control", "treatment", "treatment"};
  absl::StatusOr<AttritionReport> everyone =
      AnalyseAttrition(arm, Eigen::Vector4d(1, 1, 1, 1), "control");
  ASSERT_TRUE(everyone.ok()) << everyone.status();
  EXPECT_TRUE(std::isnan(everyone->chi_square_p_value));
  EXPECT_THAT(everyone->warnings,
              ::testing::ElementsAre("attrition: everyone responded; no test of differences"));
  absl::StatusOr<AttritionReport> no_one =
      AnalyseAttrition(arm, Eigen::Vector4d(0, 0, 0, 0), "control");
  ASSERT_TRUE(no_one.ok()) << no_one.status();
  EXPECT_THAT(no_one->warnings,
              ::testing::ElementsAre("attrition: no one responded; no test of differences"));
  absl::StatusOr<AttritionReport> small =
      AnalyseAttrition(arm, Eigen::Vector4d(1, 0, 1, 1), "control");
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_THAT(small->warnings, ::testing::ElementsAre(HasSubstr("an expected count is below 5")));
}

TEST(AttritionTest, SeparationWarns) {
  Eigen::MatrixXd x(6, 2);
  x << 1, 1, 1, 2, 1, 3, 1, 4, 1, 5, 1, 6;
  Eigen::VectorXd y(6);
  y << 0, 0, 0, 1, 1, 1;
  absl::StatusOr<LogisticFit> fit = FitLogistic(x, {"(Intercept)", "x"}, y);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_FALSE(fit->warnings.empty());
}

}  // namespace
}  // namespace fieldwork::analysis
