#include "services/analysis/stats/iv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/analysis/fixtures.h"

namespace fieldwork::analysis {
namespace {

using fixtures::Columns;
using fixtures::Csv;
using fixtures::Expected;
using fixtures::ExpectTableMatches;
using fixtures::Near;
using fixtures::Num;
using ::testing::HasSubstr;

const std::vector<std::string> kX = {"(Intercept)", "d", "x1"};
const std::vector<std::string> kZ = {"(Intercept)", "z", "x1"};

void ExpectFirstStage(const IvFit& fit, const nlohmann::json& e,
                      const std::string& endogenous = "d") {
  ASSERT_EQ(fit.first_stages.size(), 1u);
  const FirstStage& fs = fit.first_stages[0];
  EXPECT_EQ(fs.endogenous, endogenous);
  EXPECT_TRUE(Near(fs.f_statistic, Num(e["first_stage_f"]), 1e-8));
  EXPECT_EQ(fs.numerator_df, static_cast<int>(Num(e["first_stage_df1"])));
  EXPECT_EQ(fs.denominator_df, Num(e["first_stage_df2"]));
  EXPECT_TRUE(Near(fs.p_value, Num(e["first_stage_p"]), 1e-8, 1e-300));
}

class IvTest : public ::testing::TestWithParam<SeType> {};

TEST_P(IvTest, MatchesIvRobust) {
  const Csv d = Csv::Read("iv.csv");
  OlsOptions options;
  options.se_type = GetParam();
  std::string key = std::string("iv_") + SeTypeName(GetParam());
  if (IsClusterRobust(GetParam())) {
    options.clusters = d.Integers("school");
    key = std::string("iv_school_") + SeTypeName(GetParam());
  }
  absl::StatusOr<IvFit> fit =
      FitIv(Columns(d, {"d", "x1"}), kX, Columns(d, {"z", "x1"}), kZ, d.Numbers("y"), options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  ExpectTableMatches(fit->fit, Expected(key));
  ExpectFirstStage(*fit, Expected(key));
}

INSTANTIATE_TEST_SUITE_P(SeTypes, IvTest,
                         ::testing::Values(SeType::kClassical, SeType::kHC0, SeType::kHC2,
                                           SeType::kHC3, SeType::kCR1Stata, SeType::kCR2),
                         [](const auto& param_info) {
                           return std::string(SeTypeName(param_info.param));
                         });

TEST(IvFitTest, WeightedHc2) {
  const Csv d = Csv::Read("iv.csv");
  OlsOptions options;
  options.weights = d.Numbers("w");
  absl::StatusOr<IvFit> fit =
      FitIv(Columns(d, {"d", "x1"}), kX, Columns(d, {"z", "x1"}), kZ, d.Numbers("y"), options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  ExpectTableMatches(fit->fit, Expected("iv_weighted_HC2"));
}

TEST(IvFitTest, TakeUpEffectIsTheIvEstimate) {
  const Csv d = Csv::Read("iv.csv");
  TakeUpInput in;
  in.itt.outcome = d.Numbers("y");
  const Eigen::VectorXd z = d.Numbers("z");
  for (Eigen::Index i = 0; i < z.size(); ++i) {
    in.itt.arm.push_back(z(i) == 1.0 ? "video" : "control");
  }
  in.itt.control_arm = "control";
  in.itt.covariates = {{"x1", d.Numbers("x1")}};
  in.took_up = d.Numbers("d");
  absl::StatusOr<IvFit> fit = EstimateTakeUpEffect(in);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_EQ(fit->fit.coefficients[1].term, "took_up");
  ExpectTableMatches(fit->fit, Expected("iv_HC2"));
  ExpectFirstStage(*fit, Expected("iv_HC2"), "took_up");
}

TEST(IvFitTest, Errors) {
  const Csv d = Csv::Read("iv.csv");
  // No excluded instrument.
  absl::Status s =
      FitIv(Columns(d, {"d", "x1"}), kX, Columns(d, {"x1"}), {"(Intercept)", "x1"}, d.Numbers("y"))
          .status();
  EXPECT_THAT(std::string(s.message()), HasSubstr("not identified"));
  EXPECT_FALSE(FitIv(Eigen::MatrixXd(0, 3), kX, Eigen::MatrixXd(0, 3), kZ, Eigen::VectorXd()).ok());
  TakeUpInput bad;
  bad.itt.outcome = Eigen::Vector3d(1, 2, 3);
  bad.itt.arm = {"control", "video", "video"};
  bad.itt.control_arm = "control";
  bad.took_up = Eigen::Vector3d(0, 1, 2);
  EXPECT_THAT(std::string(EstimateTakeUpEffect(bad).status().message()), HasSubstr("0 or 1"));
}

}  // namespace
}  // namespace fieldwork::analysis
