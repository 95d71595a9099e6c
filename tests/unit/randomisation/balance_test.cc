// Balance statistics against values from R (stats::t.test, oneway.test, chisq.test, and the
// Mahalanobis statistic written out with cov() and solve()).
#include "services/randomisation/methods/balance.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tests/unit/randomisation/test_util.h"

namespace fieldwork::randomisation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// R:
//   x <- c(5.1, 4.8, 6.2, 5.9, 5.0, 6.8, 7.1, 5.5, 6.9, 7.4, 6.0, 6.6)
//   arm <- c(0,0,0,0,0,1,1,1,1,1,1,1)
//   cat <- c("a","b","a","a","b","b","b","a","b","b","c","c")
//   arm3 <- c(0,1,2,0,1,2,0,1,2,0,1,2)
const std::vector<double> kX = {5.1, 4.8, 6.2, 5.9, 5.0, 6.8, 7.1, 5.5, 6.9, 7.4, 6.0, 6.6};
const std::vector<int> kArm = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1};
const std::vector<std::string> kCat = {"a", "b", "a", "a", "b", "b", "b", "a", "b", "b", "c", "c"};
const std::vector<int> kArm3 = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2};

std::vector<Unit> Units() {
  std::vector<Unit> units = testing::MakeUnits(12);
  for (std::size_t i = 0; i < 12; ++i) {
    units[i].covariates = {kX[i]};
    units[i].categorical["cat"] = kCat[i];
  }
  return units;
}

const std::vector<Arm> kTwo = {{"control", 1}, {"treatment", 1}};
const std::vector<Arm> kThree = {{"a", 1}, {"b", 1}, {"c", 1}};

TEST(Balance, TwoArmsMatchR) {
  const auto report = ComputeBalance(kTwo, Units(), kArm, BalanceOptions{{"x"}, {"cat"}});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->arm_counts, ElementsAre(5, 7));
  const NumericBalance& x = report->numeric[0];
  EXPECT_EQ(x.name, "x");
  EXPECT_EQ(x.test, "welch_t");
  EXPECT_NEAR(x.mean[0], 5.4, 1e-12);
  EXPECT_NEAR(x.mean[1], 6.614285714285714, 1e-12);
  EXPECT_NEAR(x.sd[0], 0.612372435695795, 1e-12);
  EXPECT_NEAR(x.sd[1], 0.656832224718437, 1e-12);
  EXPECT_NEAR(x.smd[1], 1.912286373689053, 1e-12);
  EXPECT_NEAR(x.max_abs_smd, 1.912286373689053, 1e-12);
  // t.test(x[arm==1], x[arm==0])
  EXPECT_NEAR(x.statistic, 3.28506248782532051, 1e-10);
  EXPECT_NEAR(x.df1, 9.15414539462291366, 1e-10);
  EXPECT_NEAR(x.p_value, 0.00923922588655982, 1e-10);
  // chisq.test(table(arm, cat), correct = FALSE)
  const CategoricalBalance& c = report->categorical[0];
  EXPECT_THAT(c.levels, ElementsAre("a", "b", "c"));
  EXPECT_THAT(c.counts[0], ElementsAre(3, 2, 0));
  EXPECT_NEAR(c.chi_square, 3.428571428571428, 1e-10);
  EXPECT_EQ(c.df, 2);
  EXPECT_NEAR(c.p_value, 0.180092312147952, 1e-10);
  EXPECT_GT(c.max_abs_smd, 0);
  // Mahalanobis over x and the dummies cat == "b", cat == "c", 3 df.
  EXPECT_NEAR(report->joint.statistic, 6.9060976209604625, 1e-9);
  EXPECT_EQ(report->joint.df, 3);
  EXPECT_NEAR(report->joint.p_value, 0.0749517548633389, 1e-9);
  EXPECT_EQ(report->joint.n, 12);
  // chisq.test(c(5, 7), p = c(1, 1) / 2)
  EXPECT_NEAR(report->sample_ratio.chi_square, 0.333333333333333, 1e-12);
  EXPECT_NEAR(report->sample_ratio.p_value, 0.563702861650773, 1e-12);
}

TEST(Balance, ThreeArmsUseAnovaMatchingR) {
  const auto report = ComputeBalance(kThree, Units(), kArm3, BalanceOptions{{"x"}, {}});
  ASSERT_TRUE(report.ok());
  const NumericBalance& x = report->numeric[0];
  EXPECT_EQ(x.test, "anova_f");
  // oneway.test(x ~ factor(arm3), var.equal = TRUE)
  EXPECT_NEAR(x.statistic, 3.7381342062193106, 1e-10);
  EXPECT_EQ(x.df1, 2);
  EXPECT_EQ(x.df2, 9);
  EXPECT_NEAR(x.p_value, 0.0658000812402589, 1e-10);
  EXPECT_EQ(x.smd.size(), 3U);
  EXPECT_EQ(x.smd[0], 0);
}

TEST(Balance, SampleRatioMismatchAgainstDesignRatios) {
  // chisq.test(c(30, 12, 9), p = c(2, 1, 1) / 4)
  const auto srm = SampleRatioTest(std::vector<std::int64_t>{30, 12, 9},
                                   std::vector<Arm>{{"a", 2}, {"b", 1}, {"c", 1}});
  ASSERT_TRUE(srm.ok());
  EXPECT_NEAR(srm->chi_square, 1.941176470588235, 1e-12);
  EXPECT_EQ(srm->df, 2);
  EXPECT_NEAR(srm->p_value, 0.378860113653428, 1e-12);
  EXPECT_THAT(srm->expected, ElementsAre(25.5, 12.75, 12.75));
}

TEST(Balance, MissingValuesAndDegenerateCases) {
  std::vector<Unit> units = Units();
  units[0].covariates[0] = std::numeric_limits<double>::quiet_NaN();
  units[1].categorical.erase("cat");
  const auto report = ComputeBalance(kTwo, units, kArm, BalanceOptions{{"x"}, {"cat"}});
  ASSERT_TRUE(report.ok());
  EXPECT_THAT(report->numeric[0].n, ElementsAre(4, 7));
  EXPECT_EQ(report->joint.n, 10);
  EXPECT_FALSE(std::isnan(report->numeric[0].p_value));
  // Everyone in one arm: tests are undefined (NaN), counts still reported.
  const std::vector<int> all_control(12, 0);
  const auto one_arm = ComputeBalance(kTwo, Units(), all_control, BalanceOptions{{"x"}, {"cat"}});
  ASSERT_TRUE(one_arm.ok());
  EXPECT_TRUE(std::isnan(one_arm->numeric[0].p_value));
  EXPECT_TRUE(std::isnan(one_arm->categorical[0].p_value));
  EXPECT_TRUE(std::isnan(one_arm->joint.p_value));
  EXPECT_NEAR(one_arm->sample_ratio.chi_square, 12, 1e-12);
}

TEST(Balance, BadInput) {
  std::vector<int> arms = kArm;
  arms[4] = 2;
  auto r = ComputeBalance(kTwo, Units(), arms, BalanceOptions{{"x"}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("arm_of[4]: participant \"u0004\""));
  r = ComputeBalance(kTwo, Units(), kArm, BalanceOptions{{"x", "y"}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("units[0].covariates"));
  r = ComputeBalance(kTwo, Units(), std::vector<int>(3, 0), BalanceOptions{{"x"}, {}});
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(SampleRatioTest(std::vector<std::int64_t>{1, 2}, kThree).ok());
}

}  // namespace
}  // namespace fieldwork::randomisation
