#include "services/analysis/stats/ols.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "services/analysis/stats/ols_internal.h"
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

OlsFit MustFit(const Eigen::MatrixXd& x, const std::vector<std::string>& names,
               const Eigen::VectorXd& y, const OlsOptions& options) {
  absl::StatusOr<OlsFit> fit = FitOls(x, names, y, options);
  EXPECT_TRUE(fit.ok()) << fit.status();
  return fit.ok() ? *std::move(fit) : OlsFit{};
}

}  // namespace

// Names the parameter in test output.
void PrintTo(SeType type, std::ostream* os) { *os << SeTypeName(type); }

namespace {

class MtcarsTest : public ::testing::TestWithParam<SeType> {};

TEST_P(MtcarsTest, MpgOnHpMatchesEstimatr) {
  const Csv mt = Csv::Read("mtcars.csv");
  OlsOptions options;
  options.se_type = GetParam();
  std::string key = std::string("mtcars_hp_") + SeTypeName(GetParam());
  if (IsClusterRobust(GetParam())) {
    options.clusters = mt.Integers("cyl");
    key = std::string("mtcars_hp_cyl_") + SeTypeName(GetParam());
  }
  const OlsFit fit =
      MustFit(Columns(mt, {"hp"}), {"(Intercept)", "hp"}, mt.Numbers("mpg"), options);
  ExpectTableMatches(fit, Expected(key));
  EXPECT_TRUE(fit.warnings.empty());
}

INSTANTIATE_TEST_SUITE_P(AllSeTypes, MtcarsTest,
                         ::testing::Values(SeType::kClassical, SeType::kHC0, SeType::kHC1,
                                           SeType::kHC2, SeType::kHC3, SeType::kCR0,
                                           SeType::kCR1Stata, SeType::kCR2),
                         [](const auto& param_info) {
                           return std::string(SeTypeName(param_info.param));
                         });

TEST(OlsTest, DefaultsAreHc2AndCr2) {
  const Csv mt = Csv::Read("mtcars.csv");
  const OlsFit hc = MustFit(Columns(mt, {"hp"}), {"(Intercept)", "hp"}, mt.Numbers("mpg"), {});
  EXPECT_EQ(hc.se_type, SeType::kHC2);
  OlsOptions clustered;
  clustered.clusters = mt.Integers("cyl");
  const OlsFit cr =
      MustFit(Columns(mt, {"hp"}), {"(Intercept)", "hp"}, mt.Numbers("mpg"), clustered);
  EXPECT_EQ(cr.se_type, SeType::kCR2);
  EXPECT_EQ(cr.n_clusters, 3);
}

TEST(OlsTest, Cr2AgreesWithClubSandwich) {
  const Csv mt = Csv::Read("mtcars.csv");
  OlsOptions options;
  options.clusters = mt.Integers("cyl");
  const OlsFit fit =
      MustFit(Columns(mt, {"hp"}), {"(Intercept)", "hp"}, mt.Numbers("mpg"), options);
  const auto& club = Expected("mtcars_hp_cyl_club");
  for (size_t j = 0; j < 2; ++j) {
    EXPECT_TRUE(Near(fit.coefficients[j].std_error, fixtures::Nums(club["std_error"])[j], 1e-8));
    EXPECT_TRUE(Near(fit.coefficients[j].df, fixtures::Nums(club["df"])[j], 1e-6));
    EXPECT_TRUE(Near(fit.coefficients[j].p_value, fixtures::Nums(club["p_value"])[j], 1e-8));
  }
}

TEST(OlsTest, SeveralCovariatesSixClusters) {
  const Csv mt = Csv::Read("mtcars.csv");
  const Eigen::MatrixXd x = Columns(mt, {"hp", "wt", "qsec"});
  const std::vector<std::string> names = {"(Intercept)", "hp", "wt", "qsec"};
  ExpectTableMatches(MustFit(x, names, mt.Numbers("mpg"), {}), Expected("mtcars_multi_HC2"));
  for (SeType t : {SeType::kCR2, SeType::kCR1Stata}) {
    OlsOptions options;
    options.se_type = t;
    options.clusters = mt.Integers("carb");
    const OlsFit fit = MustFit(x, names, mt.Numbers("mpg"), options);
    ExpectTableMatches(fit, Expected(std::string("mtcars_multi_") + SeTypeName(t)));
    if (t == SeType::kCR2) {
      const auto& club = Expected("mtcars_multi_club");
      for (size_t j = 0; j < 4; ++j) {
        EXPECT_TRUE(Near(fit.coefficients[j].df, fixtures::Nums(club["df"])[j], 1e-6));
      }
      // A contrast's own Bell–McCaffrey df, as clubSandwich's linear_contrast.
      Eigen::VectorXd c(4);
      c << 0, 1, 1, 0;
      absl::StatusOr<LinearCombination> lc = EstimateLinearCombination(fit, c);
      ASSERT_TRUE(lc.ok()) << lc.status();
      const auto& e = Expected("mtcars_multi_contrast_club");
      EXPECT_TRUE(Near(lc->estimate, Num(e["estimate"]), 1e-8));
      EXPECT_TRUE(Near(lc->std_error, Num(e["std_error"]), 1e-8));
      EXPECT_TRUE(Near(lc->df, Num(e["df"]), 1e-6));
    }
  }
}

TEST(OlsTest, WeightedLeastSquaresMatchesEstimatr) {
  const Csv d = Csv::Read("weighted.csv");
  const Eigen::MatrixXd x = Columns(d, {"x1", "x2"});
  const std::vector<std::string> names = {"(Intercept)", "x1", "x2"};
  for (SeType t : {SeType::kClassical, SeType::kHC1, SeType::kHC2, SeType::kHC3}) {
    OlsOptions options;
    options.se_type = t;
    options.weights = d.Numbers("w");
    SCOPED_TRACE(SeTypeName(t));
    ExpectTableMatches(MustFit(x, names, d.Numbers("y"), options),
                       Expected(std::string("weighted_") + SeTypeName(t)));
  }
  for (SeType t : {SeType::kCR1Stata, SeType::kCR2}) {
    OlsOptions options;
    options.se_type = t;
    options.weights = d.Numbers("w");
    options.clusters = d.Integers("g");
    SCOPED_TRACE(SeTypeName(t));
    const OlsFit fit = MustFit(x, names, d.Numbers("y"), options);
    ExpectTableMatches(fit, Expected(std::string("weighted_g_") + SeTypeName(t)));
    if (t == SeType::kCR2) {
      const auto& club = Expected("weighted_g_club");
      for (size_t j = 0; j < 3; ++j) {
        EXPECT_TRUE(Near(fit.coefficients[j].df, fixtures::Nums(club["df"])[j], 1e-6));
      }
    }
  }
}

TEST(OlsTest, RankDeficientDesignDropsTheLaterColumnAsLm) {
  const Csv mt = Csv::Read("mtcars.csv");
  Eigen::MatrixXd x = Columns(mt, {"hp", "wt", "wt"});
  x.col(3) = x.col(1) + x.col(2);  // s = hp + wt
  const OlsFit fit = MustFit(x, {"(Intercept)", "hp", "wt", "s"}, mt.Numbers("mpg"), OlsOptions{});
  const auto& lm = Expected("mtcars_rank_deficient_lm");
  const std::vector<double> est = fixtures::Nums(lm["estimate"]);
  for (size_t j = 0; j < 4; ++j) EXPECT_TRUE(Near(fit.coefficients[j].estimate, est[j], 1e-8));
  EXPECT_TRUE(fit.coefficients[3].aliased);
  EXPECT_TRUE(std::isnan(fit.coefficients[3].std_error));
  EXPECT_EQ(fit.rank, 3);
  EXPECT_EQ(fit.df_residual, 29);
  ASSERT_EQ(fit.warnings.size(), 1u);
  EXPECT_THAT(fit.warnings[0], HasSubstr("rank deficient"));
  EXPECT_THAT(fit.warnings[0], HasSubstr("s"));
  // The kept coefficients are those of the model without s.
  OlsFit reduced = fit;
  reduced.coefficients.pop_back();
  ExpectTableMatches(reduced, Expected("mtcars_rank_deficient_reduced_HC2"));
  // A contrast on the aliased column is refused; one on the others is fine.
  EXPECT_FALSE(EstimateLinearCombination(fit, Eigen::Vector4d(0, 0, 0, 1)).ok());
  EXPECT_TRUE(EstimateLinearCombination(fit, Eigen::Vector4d(0, 1, -1, 0)).ok());
}

TEST(OlsTest, ZeroColumnIsAliased) {
  Eigen::MatrixXd x(5, 3);
  x << 1, 1, 0, 1, 2, 0, 1, 3, 0, 1, 4, 0, 1, 5, 0;
  Eigen::VectorXd y(5);
  y << 1, 3, 2, 5, 4;
  const OlsFit fit = MustFit(x, {"(Intercept)", "x", "zero"}, y, {});
  EXPECT_TRUE(fit.coefficients[2].aliased);
  EXPECT_NEAR(fit.coefficients[1].estimate, 0.8, 1e-12);
  EXPECT_NEAR(fit.coefficients[0].estimate, 0.6, 1e-12);
}

// A dummy that picks out one observation gives it leverage 1: HC2 and HC3 divide by
// 1 - h = 0. The result is defined (no NaN), the warning says why.
TEST(OlsTest, LeverageOneWarnsAndStaysDefined) {
  Eigen::MatrixXd x(6, 3);
  x << 1, 0, 0,  //
      1, 1, 0,   //
      1, 2, 0,   //
      1, 3, 0,   //
      1, 4, 0,   //
      1, 5, 1;   // the only row with d = 1
  Eigen::VectorXd y(6);
  y << 1.0, 2.5, 2.9, 4.2, 5.1, 9.0;
  for (SeType t : {SeType::kHC2, SeType::kHC3}) {
    OlsOptions options;
    options.se_type = t;
    const OlsFit fit = MustFit(x, {"(Intercept)", "x", "d"}, y, options);
    for (const Coefficient& c : fit.coefficients) {
      EXPECT_FALSE(std::isnan(c.estimate)) << c.term;
      EXPECT_FALSE(std::isnan(c.std_error)) << c.term;
    }
    ASSERT_EQ(fit.warnings.size(), 1u);
    EXPECT_THAT(fit.warnings[0], HasSubstr("leverage 1"));
    // Slope and intercept come from the first five rows alone; their HC2 SEs equal those of
    // the regression on those rows.
    OlsOptions sub_options;
    sub_options.se_type = t;
    const OlsFit sub = MustFit(x.topLeftCorner(5, 2), {"(Intercept)", "x"}, y.head(5), sub_options);
    EXPECT_NEAR(fit.coefficients[1].estimate, sub.coefficients[1].estimate, 1e-12);
    EXPECT_NEAR(fit.coefficients[1].std_error, sub.coefficients[1].std_error, 1e-12);
  }
}

TEST(OlsTest, ClusterAloneInItsArmWarnsUnderCr2) {
  // Cluster 3 is the only one with d = 1: its block of I - H is singular.
  Eigen::MatrixXd x(8, 3);
  Eigen::VectorXd y(8);
  std::vector<std::int64_t> g = {1, 1, 2, 2, 3, 3, 4, 4};
  for (int i = 0; i < 8; ++i) {
    x(i, 0) = 1;
    x(i, 1) = i * 0.5 + (i % 3);
    x(i, 2) = g[static_cast<size_t>(i)] == 3 ? 1 : 0;
    y(i) = 1 + 0.3 * i + (i % 2) * 0.7;
  }
  OlsOptions options;
  options.clusters = g;
  const OlsFit fit = MustFit(x, {"(Intercept)", "x", "d"}, y, options);
  ASSERT_FALSE(fit.warnings.empty());
  EXPECT_THAT(fit.warnings[0], HasSubstr("cluster"));
  for (const Coefficient& c : fit.coefficients) EXPECT_FALSE(std::isnan(c.std_error)) << c.term;
}

TEST(OlsTest, ClearErrors) {
  const Eigen::MatrixXd empty(0, 1);
  EXPECT_THAT(std::string(FitOls(empty, {"a"}, Eigen::VectorXd(), {}).status().message()),
              HasSubstr("empty"));
  Eigen::MatrixXd x = Eigen::MatrixXd::Ones(4, 2);
  x.col(1) << 1, 2, 3, 4;
  const Eigen::VectorXd y = Eigen::Vector4d(1, 2, 2, 5);
  EXPECT_FALSE(FitOls(x, {"a"}, y, {}).ok());                              // names
  EXPECT_FALSE(FitOls(x, {"a", "b"}, Eigen::Vector3d(1, 2, 3), {}).ok());  // rows
  OlsOptions one_cluster;
  one_cluster.clusters = {7, 7, 7, 7};
  const absl::Status s = FitOls(x, {"a", "b"}, y, one_cluster).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("at least 2 clusters"));
  OlsOptions bad_weights;
  bad_weights.weights = Eigen::Vector4d(1, 0, 1, 1);
  EXPECT_THAT(std::string(FitOls(x, {"a", "b"}, y, bad_weights).status().message()),
              HasSubstr("positive"));
  Eigen::VectorXd y_nan = y;
  y_nan(2) = std::nan("");
  EXPECT_FALSE(FitOls(x, {"a", "b"}, y_nan, {}).ok());
  // Two rows, two coefficients: no residual degrees of freedom.
  EXPECT_THAT(std::string(FitOls(x.topRows(2), {"a", "b"}, y.head(2), {}).status().message()),
              HasSubstr("no residual degrees of freedom"));
  OlsOptions hc_with_clusters;
  hc_with_clusters.se_type = SeType::kHC2;
  hc_with_clusters.clusters = {1, 1, 2, 2};
  EXPECT_FALSE(FitOls(x, {"a", "b"}, y, hc_with_clusters).ok());
}

// Hand-checkable: y = 2 + 3x exactly plus symmetric noise; classical SE by formula.
TEST(OlsTest, ClassicalByHand) {
  Eigen::MatrixXd x(4, 2);
  x << 1, 0, 1, 1, 1, 2, 1, 3;
  Eigen::VectorXd y(4);
  y << 2.5, 4.5, 8.5, 10.5;
  OlsOptions options;
  options.se_type = SeType::kClassical;
  const OlsFit fit = MustFit(x, {"(Intercept)", "x"}, y, options);
  // Sxy = 14, Sxx = 5: b = (6.5 - 1.5 * 2.8, 2.8); residuals .2 -.6 .6 -.2, RSS = 0.8,
  // s2 = 0.8 / 2; Var(slope) = s2 / Sxx.
  EXPECT_NEAR(fit.coefficients[1].estimate, 2.8, 1e-12);
  EXPECT_NEAR(fit.coefficients[0].estimate, 2.3, 1e-12);
  EXPECT_NEAR(fit.coefficients[1].std_error, std::sqrt(0.4 / 5.0), 1e-12);
  EXPECT_EQ(fit.coefficients[1].df, 2.0);
}

TEST(OlsTest, Cr2DfGramFormulaEqualsExplicit) {
  const Csv d = Csv::Read("weighted.csv");
  OlsOptions options;
  options.weights = d.Numbers("w");
  options.clusters = d.Integers("g");
  const OlsFit fit =
      MustFit(Columns(d, {"x1", "x2"}), {"(Intercept)", "x1", "x2"}, d.Numbers("y"), options);
  ASSERT_NE(fit.cr2, nullptr);
  for (int j = 0; j < 3; ++j) {
    const Eigen::VectorXd c = Eigen::VectorXd::Unit(3, j) + 0.5 * Eigen::VectorXd::Ones(3);
    EXPECT_TRUE(Near(internal::Cr2ContrastDf(*fit.cr2, c, 0),
                     internal::Cr2ContrastDf(*fit.cr2, c, 1 << 30), 1e-9));
  }
}

TEST(OlsTest, SeTypeNames) {
  EXPECT_EQ(ParseSeType("stata"), SeType::kCR1Stata);
  EXPECT_EQ(ParseSeType("CR1"), SeType::kCR1Stata);
  EXPECT_EQ(ParseSeType("HC2"), SeType::kHC2);
  EXPECT_FALSE(ParseSeType("HC4").has_value());
}

}  // namespace
}  // namespace fieldwork::analysis
