// Morgan–Rubin rerandomisation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "services/randomisation/methods/batch.h"
#include "tests/unit/randomisation/test_util.h"

namespace fieldwork::randomisation {
namespace {

using testing::ById;
using ::testing::HasSubstr;
using testing::MakeUnits;
using testing::Normal;
using testing::Permuted;
using testing::TestGenerator;

// n units in `strata` strata with q correlated normal covariates.
std::vector<Unit> WithCovariates(int n, int strata, int q) {
  std::vector<Unit> units = MakeUnits(n, strata);
  Stream s = TestGenerator(0, "covariates").Open(Context().Add("test", "covariates"));
  for (Unit& u : units) {
    const double common = Normal(s);
    for (int j = 0; j < q; ++j) u.covariates.push_back(0.5 * common + Normal(s) + j);
  }
  return units;
}

const std::vector<Arm> kTwoArms = {{"treatment", 1}, {"control", 1}};

TEST(Rerandomisation, AcceptedDrawsMeetTheThresholdAndEarlierDrawsDoNot) {
  const std::vector<Unit> units = WithCovariates(200, 1, 3);
  RerandomisationOptions options;
  options.acceptance_probability = 0.2;
  for (std::uint64_t secret = 0; secret < 30; ++secret) {
    const Generator gen = TestGenerator(secret);
    const auto r = Rerandomise(gen, kTwoArms, units, options);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->df, 3);
    EXPECT_NEAR(r->threshold, 1.005174, 1e-5);  // qchisq(0.2, 3)
    EXPECT_LE(r->distance, r->threshold);
    EXPECT_NEAR(*MahalanobisDistance(units, r->arms, 2), r->distance, 1e-9);
    // The accepted draw is draw draws_used − 1 of complete randomisation; the earlier draws
    // were rejected.
    EXPECT_EQ(*AllocateComplete(gen, kTwoArms, units, r->draws_used - 1), r->arms);
    for (std::uint64_t d = 0; d + 1 < r->draws_used; ++d) {
      const auto earlier = AllocateComplete(gen, kTwoArms, units, d);
      EXPECT_GT(*MahalanobisDistance(units, *earlier, 2), r->threshold) << "draw " << d;
    }
  }
}

TEST(Rerandomisation, AcceptanceRateNearTheConfiguredProbability) {
  const std::vector<Unit> units = WithCovariates(200, 1, 3);
  const Generator gen = TestGenerator(42);
  for (const double p : {0.1, 0.5}) {
    RerandomisationOptions options;
    options.acceptance_probability = p;
    const double threshold = Rerandomise(gen, kTwoArms, units, options)->threshold;
    const int draws = 2000;
    int accepted = 0;
    for (int d = 0; d < draws; ++d) {
      const auto arms = AllocateComplete(gen, kTwoArms, units, static_cast<std::uint64_t>(d));
      accepted += *MahalanobisDistance(units, *arms, 2) <= threshold ? 1 : 0;
    }
    const double rate = accepted / static_cast<double>(draws);
    const double se = std::sqrt(p * (1 - p) / draws);
    EXPECT_NEAR(rate, p, 4 * se) << "configured " << p;
  }
  // And the draws Rerandomise uses: on average about 1/p of them.
  RerandomisationOptions options;
  options.acceptance_probability = 0.25;
  double used = 0;
  const int runs = 200;
  for (int r = 0; r < runs; ++r) {
    used += static_cast<double>(
        Rerandomise(TestGenerator(static_cast<std::uint64_t>(r) + 500), kTwoArms, units, options)
            ->draws_used);
  }
  // Geometric with mean 4 and sd sqrt(12): 4 standard errors of the mean of 200 runs is ~1.
  EXPECT_NEAR(used / runs, 4.0, 1.0);
}

TEST(Rerandomisation, TwoArmDistanceIsNpqTimesStandardisedSquaredDifference) {
  // One covariate: M = n·p·(1−p)·d²/s².
  std::vector<Unit> units = MakeUnits(6);
  const std::vector<double> x = {1, 2, 3, 4, 5, 9};
  for (std::size_t i = 0; i < 6; ++i) units[i].covariates = {x[i]};
  const std::vector<int> arms = {0, 0, 1, 1, 1, 1};
  const double s2 = (9 + 4 + 1 + 0 + 1 + 25) / 5.0;  // mean 4
  const double d = 1.5 - 21.0 / 4;
  EXPECT_NEAR(*MahalanobisDistance(units, arms, 2), 6 * (2.0 / 6) * (4.0 / 6) * d * d / s2, 1e-12);
}

TEST(Rerandomisation, StratifiedKeepsExactCountsAndThreeArmsUseTwiceTheDf) {
  const std::vector<Unit> units = WithCovariates(281, 2, 2);  // SWING 2020 cohort size
  RerandomisationOptions options;
  options.acceptance_probability = 0.1;
  options.within_strata = true;
  const std::vector<Arm> arms = {{"a", 1}, {"b", 1}, {"c", 1}};
  const Generator gen = TestGenerator(8);
  const auto r = Rerandomise(gen, arms, units, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->df, 4);
  EXPECT_LE(r->distance, r->threshold);
  EXPECT_EQ(*AllocateCompleteWithinStrata(gen, arms, units, r->draws_used - 1), r->arms);
  std::map<std::string, std::vector<int>> counts;
  for (std::size_t i = 0; i < units.size(); ++i) {
    auto& c = counts[units[i].stratum];
    c.resize(3, 0);
    ++c[static_cast<std::size_t>(r->arms[i])];
  }
  for (const auto& [stratum, c] : counts) {
    EXPECT_LE(*std::max_element(c.begin(), c.end()) - *std::min_element(c.begin(), c.end()), 1)
        << stratum;
  }
  // Order independence, as for every batch method.
  const std::vector<Unit> shuffled = Permuted(units, 3);
  const auto again = Rerandomise(gen, arms, shuffled, options);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ById(shuffled, again->arms), ById(units, r->arms));
  EXPECT_EQ(again->draws_used, r->draws_used);
}

TEST(Rerandomisation, GivesUpClearlyAfterMaxDraws) {
  const std::vector<Unit> units = WithCovariates(100, 1, 4);
  RerandomisationOptions options;
  options.acceptance_probability = 1e-9;
  options.max_draws = 25;
  const auto r = Rerandomise(TestGenerator(), kTwoArms, units, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("none of 25 draws"));
  EXPECT_THAT(r.status().message(), HasSubstr("raise max_draws"));
}

TEST(Rerandomisation, BadInput) {
  const Generator gen = TestGenerator();
  RerandomisationOptions options;
  auto expect_invalid = [&](const std::vector<Unit>& units, const RerandomisationOptions& o,
                            const std::string& text) {
    const auto r = Rerandomise(gen, kTwoArms, units, o);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr(text));
  };
  std::vector<Unit> units = WithCovariates(50, 1, 2);
  units[7].covariates[1] = std::numeric_limits<double>::quiet_NaN();
  expect_invalid(units, options, "units[7].covariates[1]: participant \"u0007\"");
  units = WithCovariates(50, 1, 2);
  units[9].covariates.pop_back();
  expect_invalid(units, options,
                 "units[9].covariates: participant \"u0009\" has 1 values, expected 2");
  units = WithCovariates(50, 1, 2);
  for (Unit& u : units) u.covariates[1] = 3.0;  // constant
  expect_invalid(units, options, "singular");
  units = MakeUnits(50);
  expect_invalid(units, options, "at least one numeric covariate");
  units = WithCovariates(50, 1, 2);
  RerandomisationOptions bad = options;
  bad.acceptance_probability = 0;
  expect_invalid(units, bad, "rerandomisation.acceptance_probability");
  bad = options;
  bad.max_draws = 0;
  expect_invalid(units, bad, "rerandomisation.max_draws");
  // Acceptance probability 1 accepts the first draw.
  bad = options;
  bad.acceptance_probability = 1;
  EXPECT_EQ(Rerandomise(gen, kTwoArms, units, bad)->draws_used, 1U);
}

}  // namespace
}  // namespace fieldwork::randomisation
