// Multiple testing, randomisation inference and the time-since-intervention bins.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "services/analysis/stats/multiple_testing.h"
#include "services/analysis/stats/randomisation_inference.h"
#include "services/analysis/stats/time_bins.h"
#include "tests/unit/analysis/fixtures.h"

namespace fieldwork::analysis {
namespace {

using fixtures::Csv;
using fixtures::Expected;
using fixtures::Near;
using fixtures::Num;
using fixtures::Nums;
using ::testing::HasSubstr;

TEST(MultipleTestingTest, MatchesPAdjust) {
  const auto& e = Expected("p_adjust");
  const std::vector<double> p = Nums(e["p"]);
  for (const auto& [name, method] : std::vector<std::pair<std::string, PAdjustMethod>>{
           {"holm", PAdjustMethod::kHolm},
           {"bh", PAdjustMethod::kBenjaminiHochberg},
           {"bonferroni", PAdjustMethod::kBonferroni}}) {
    absl::StatusOr<std::vector<double>> adj = AdjustPValues(p, method);
    ASSERT_TRUE(adj.ok()) << adj.status();
    const std::vector<double> want = Nums(e[name]);
    for (size_t i = 0; i < p.size(); ++i) {
      EXPECT_TRUE(Near((*adj)[i], want[i], 1e-12)) << name << " " << i;
    }
  }
}

TEST(MultipleTestingTest, ByHandAndMissing) {
  // Holm on (0.01, 0.04, 0.03): sorted 0.01*3, 0.03*2, 0.04*1 -> 0.03, 0.06, 0.06 (cummax).
  absl::StatusOr<std::vector<double>> h =
      AdjustPValues({0.01, 0.04, 0.03, std::nan("")}, PAdjustMethod::kHolm);
  ASSERT_TRUE(h.ok());
  EXPECT_NEAR((*h)[0], 0.03, 1e-15);
  EXPECT_NEAR((*h)[1], 0.06, 1e-15);
  EXPECT_NEAR((*h)[2], 0.06, 1e-15);
  EXPECT_TRUE(std::isnan((*h)[3]));
  // BH on the same: 0.04*3/3 = 0.04, 0.03*3/2 = 0.045 -> min 0.04, 0.01*3 = 0.03.
  absl::StatusOr<std::vector<double>> b =
      AdjustPValues({0.01, 0.04, 0.03}, PAdjustMethod::kBenjaminiHochberg);
  ASSERT_TRUE(b.ok());
  EXPECT_NEAR((*b)[0], 0.03, 1e-15);
  EXPECT_NEAR((*b)[1], 0.04, 1e-15);
  EXPECT_NEAR((*b)[2], 0.04, 1e-15);
  EXPECT_FALSE(AdjustPValues({0.5, 1.5}, PAdjustMethod::kHolm).ok());
  EXPECT_EQ(ParsePAdjustMethod("BH"), PAdjustMethod::kBenjaminiHochberg);
  EXPECT_FALSE(ParsePAdjustMethod("hommel").has_value());
  EXPECT_TRUE(AdjustPValues({}, PAdjustMethod::kHolm)->empty());
}

// The R script's 500 permutations, replayed by the callback.
TEST(RandomisationInferenceTest, ReplaysRsPermutations) {
  const Csv ri = Csv::Read("ri.csv");
  const Csv draws = Csv::Read("ri_draws.csv");
  const Eigen::VectorXd y = ri.Numbers("y");
  const auto n = static_cast<size_t>(y.size());
  std::vector<int> observed;
  for (double v : ri.Numbers("treat")) observed.push_back(static_cast<int>(v));
  std::vector<std::vector<int>> columns(n);
  for (size_t j = 0; j < n; ++j) {
    std::string column = "V";
    column += std::to_string(j + 1);  // not operator+: GCC 12 -O3 warns (-Wrestrict)
    for (std::int64_t v : draws.Integers(column)) {
      columns[j].push_back(static_cast<int>(v));
    }
  }
  AssignmentDraw draw = [&](std::int64_t i, std::vector<int>& a) {
    for (size_t j = 0; j < n; ++j) a[j] = columns[j][static_cast<size_t>(i)];
    return absl::OkStatus();
  };
  RandomisationInferenceOptions options;
  options.draws = static_cast<std::int64_t>(draws.rows());
  absl::StatusOr<RandomisationInferenceResult> r =
      RandomisationTestDifferenceInMeans(y, observed, draw, options);
  ASSERT_TRUE(r.ok()) << r.status();
  const auto& e = Expected("ri");
  EXPECT_TRUE(Near(r->observed, Num(e["observed"]), 1e-12));
  EXPECT_DOUBLE_EQ(r->p_value, Num(e["p_value"]));
  options.include_observed = true;
  r = RandomisationTestDifferenceInMeans(y, observed, draw, options);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(Near(r->p_value, Num(e["p_value_plus_one"]), 1e-12));
  // With only an intercept as covariate the OLS coefficient is the difference in means.
  options.include_observed = false;
  absl::StatusOr<RandomisationInferenceResult> ols = RandomisationTestOlsCoefficient(
      y, observed, Eigen::MatrixXd::Ones(static_cast<Eigen::Index>(n), 1), draw, options);
  ASSERT_TRUE(ols.ok()) << ols.status();
  EXPECT_NEAR(ols->observed, r->observed, 1e-12);
  EXPECT_EQ(ols->as_or_more_extreme, r->as_or_more_extreme);
}

// Four participants, two treated: all six assignments enumerated. y = (1, 2, 3, 10), observed
// treated {3, 4}: difference 6.5 - 1.5 = 5; the mirror {1, 2} gives -5; the other four give
// |.| <= 4. So two-sided p = 2/6.
TEST(RandomisationInferenceTest, ExactEnumerationByHand) {
  const std::vector<std::vector<int>> all = {{1, 1, 0, 0}, {1, 0, 1, 0}, {1, 0, 0, 1},
                                             {0, 1, 1, 0}, {0, 1, 0, 1}, {0, 0, 1, 1}};
  AssignmentDraw draw = [&](std::int64_t i, std::vector<int>& a) {
    a = all[static_cast<size_t>(i)];
    return absl::OkStatus();
  };
  RandomisationInferenceOptions options;
  options.draws = 6;
  options.keep_distribution = true;
  absl::StatusOr<RandomisationInferenceResult> r =
      RandomisationTestDifferenceInMeans(Eigen::Vector4d(1, 2, 3, 10), {0, 0, 1, 1}, draw, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(r->observed, 5.0);
  EXPECT_EQ(r->as_or_more_extreme, 2);
  EXPECT_DOUBLE_EQ(r->p_value, 2.0 / 6.0);
  EXPECT_EQ(r->distribution.size(), 6u);
  options.two_sided = false;
  r = RandomisationTestDifferenceInMeans(Eigen::Vector4d(1, 2, 3, 10), {0, 0, 1, 1}, draw, options);
  EXPECT_DOUBLE_EQ(r->p_value, 1.0 / 6.0);
}

TEST(RandomisationInferenceTest, Errors) {
  AssignmentDraw bad_size = [](std::int64_t, std::vector<int>& a) {
    a.resize(3);
    return absl::OkStatus();
  };
  EXPECT_FALSE(
      RandomisationTestDifferenceInMeans(Eigen::Vector4d(1, 2, 3, 4), {0, 0, 1, 1}, bad_size).ok());
  AssignmentDraw failing = [](std::int64_t, std::vector<int>&) {
    return absl::InternalError("randomiser broke");
  };
  EXPECT_THAT(std::string(RandomisationTestDifferenceInMeans(Eigen::Vector4d(1, 2, 3, 4),
                                                             {0, 0, 1, 1}, failing)
                              .status()
                              .message()),
              HasSubstr("randomiser broke"));
  EXPECT_FALSE(
      RandomisationTestDifferenceInMeans(Eigen::Vector4d(1, 2, 3, 4), {1, 1, 1, 1}, failing).ok());
  EXPECT_FALSE(RandomisationTestDifferenceInMeans(Eigen::VectorXd(), {}, failing).ok());
}

TEST(TimeBinsTest, EachBinIsTheIttOfItsRowsAndIsFlagged) {
  const Csv d = Csv::Read("itt_two_arm.csv");
  TimeBinInput in;
  in.itt.outcome = d.Numbers("y");
  in.itt.arm = d.Strings("arm");
  in.itt.control_arm = "control";
  in.itt.covariates = {{"baseline", d.Numbers("baseline")}};
  const Eigen::Index n = in.itt.outcome.size();
  in.time_since_intervention.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) in.time_since_intervention(i) = static_cast<double>(i % 30);
  in.bin_edges = {0, 7, 14, 29};
  absl::StatusOr<std::vector<TimeBinEffect>> bins = EstimateEffectByResponseTime(in);
  ASSERT_TRUE(bins.ok()) << bins.status();
  ASSERT_EQ(bins->size(), 3u);
  std::int64_t total = 0;
  for (const TimeBinEffect& b : *bins) {
    EXPECT_TRUE(b.exploratory);
    EXPECT_TRUE(b.post_treatment);
    EXPECT_THAT(b.label, HasSubstr("post-treatment"));
    EXPECT_TRUE(b.estimated);
    total += b.n;
  }
  EXPECT_EQ(total, n);  // the last bin includes its upper edge (29)
  // The middle bin equals the ITT fitted to its rows alone.
  IttInput sub;
  sub.control_arm = "control";
  sub.covariates = {{"baseline", Eigen::VectorXd((*bins)[1].n)}};
  sub.outcome.resize((*bins)[1].n);
  Eigen::Index r = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double t = in.time_since_intervention(i);
    if (t >= 7 && t < 14) {
      sub.outcome(r) = in.itt.outcome(i);
      sub.covariates[0].values(r) = in.itt.covariates[0].values(i);
      sub.arm.push_back(in.itt.arm[static_cast<size_t>(i)]);
      ++r;
    }
  }
  absl::StatusOr<IttResult> direct = EstimateItt(sub);
  ASSERT_TRUE(direct.ok());
  EXPECT_DOUBLE_EQ((*bins)[1].effects[0].effect.estimate, direct->effects[0].effect.estimate);
  EXPECT_DOUBLE_EQ((*bins)[1].effects[0].effect.std_error, direct->effects[0].effect.std_error);
}

TEST(TimeBinsTest, EmptyOrOneArmBinIsReportedNotFatal) {
  TimeBinInput in;
  in.itt.outcome = Eigen::VectorXd::LinSpaced(8, 1, 8);
  in.itt.arm = {"control", "treatment", "control", "treatment",
                "control", "treatment", "control", "control"};
  in.itt.control_arm = "control";
  in.time_since_intervention.resize(8);
  in.time_since_intervention << 1, 2, 3, 4, 5, 6, 20, 21;
  in.bin_edges = {0, 10, 20, 30, 40};
  absl::StatusOr<std::vector<TimeBinEffect>> bins = EstimateEffectByResponseTime(in);
  ASSERT_TRUE(bins.ok()) << bins.status();
  EXPECT_TRUE((*bins)[0].estimated);
  EXPECT_FALSE((*bins)[1].estimated);  // controls only
  EXPECT_FALSE((*bins)[2].estimated);  // empty
  EXPECT_FALSE((*bins)[1].warnings.empty());
  in.bin_edges = {10, 5};
  EXPECT_FALSE(EstimateEffectByResponseTime(in).ok());
}

}  // namespace
}  // namespace fieldwork::analysis
