// Complete, complete-within-strata, simple and cluster randomisation: exact counts, the
// 10,000-replay frequency checks, order independence and bad input.
#include "services/randomisation/methods/batch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "tests/unit/randomisation/test_util.h"

namespace fieldwork::randomisation {
namespace {

using testing::ById;
using ::testing::HasSubstr;
using testing::MakeUnits;
using testing::Permuted;
using testing::TestGenerator;

std::vector<Arm> Ratio(std::vector<std::int64_t> weights) {
  std::vector<Arm> arms;
  for (std::size_t a = 0; a < weights.size(); ++a) {
    arms.push_back(Arm{absl::StrCat("arm", a), weights[a]});
  }
  return arms;
}

// Counts by stratum and arm.
std::map<std::string, std::vector<std::int64_t>> CountsByStratum(absl::Span<const Unit> units,
                                                                 absl::Span<const int> arms,
                                                                 std::size_t k) {
  std::map<std::string, std::vector<std::int64_t>> counts;
  for (std::size_t i = 0; i < units.size(); ++i) {
    auto& c = counts[units[i].stratum];
    c.resize(k, 0);
    ++c[static_cast<std::size_t>(arms[i])];
  }
  return counts;
}

class ExactCountsByRatio : public ::testing::TestWithParam<std::vector<std::int64_t>> {};

TEST_P(ExactCountsByRatio, EveryStratumHasExactCountsWithinOne) {
  const std::vector<Arm> arms = Ratio(GetParam());
  const std::int64_t total = TotalWeight(arms);
  // Strata of every size from 1 to 40, with several secrets.
  std::vector<Unit> units;
  for (int size = 1; size <= 40; ++size) {
    for (int j = 0; j < size; ++j) {
      Unit u;
      u.id = absl::StrCat("size", size, "-", j);
      u.stratum = absl::StrCat("stratum", size);
      units.push_back(u);
    }
  }
  for (std::uint64_t secret = 0; secret < 20; ++secret) {
    const auto result = AllocateCompleteWithinStrata(TestGenerator(secret), arms, units);
    ASSERT_TRUE(result.ok()) << result.status();
    for (const auto& [stratum, counts] : CountsByStratum(units, *result, arms.size())) {
      const std::int64_t n = std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
      for (std::size_t a = 0; a < arms.size(); ++a) {
        const std::int64_t floor = n * arms[a].weight / total;
        if (n * arms[a].weight % total == 0) {
          EXPECT_EQ(counts[a], floor) << stratum << " arm " << a;
        } else {
          EXPECT_GE(counts[a], floor) << stratum << " arm " << a;
          EXPECT_LE(counts[a], floor + 1) << stratum << " arm " << a;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ratios, ExactCountsByRatio,
                         ::testing::Values(std::vector<std::int64_t>{1, 1},
                                           std::vector<std::int64_t>{2, 1},
                                           std::vector<std::int64_t>{1, 1, 1},
                                           std::vector<std::int64_t>{3, 2, 1}));

TEST(CompleteRandomisation, ExactCountsIgnoringStrata) {
  const std::vector<Unit> units = MakeUnits(1969, 7);  // Beneficiaries: N = 1,969
  const auto result = AllocateComplete(TestGenerator(), Ratio({1, 1}), units);
  ASSERT_TRUE(result.ok());
  const int treated = static_cast<int>(std::count(result->begin(), result->end(), 0));
  EXPECT_TRUE(treated == 984 || treated == 985) << treated;
}

// Over 10,000 replays with different secrets, every unit gets each arm with the design
// probability (within 4 standard errors), including where the ratio does not divide the
// stratum size, and the remainder is not given to one arm systematically.
TEST(CompleteWithinStrata, TenThousandReplaysHaveDesignProbabilities) {
  struct Case {
    std::vector<std::int64_t> weights;
    int n;  // units per stratum
  };
  // 2:1 with 11 per stratum (floor counts 7 and 3, one left over: to arm 0 with
  // probability 1/3, to arm 1 with 2/3); 1:1:1 with 7 (one left over, each arm 1/3); 1:1
  // with 9.
  const std::vector<Case> cases = {{{2, 1}, 11}, {{1, 1, 1}, 7}, {{1, 1}, 9}};
  constexpr int kReplays = 10000;
  for (const Case& c : cases) {
    const std::vector<Arm> arms = Ratio(c.weights);
    const std::size_t k = arms.size();
    const auto total = static_cast<double>(TotalWeight(arms));
    const std::vector<Unit> units = MakeUnits(c.n * 2, 2);
    std::vector<std::vector<int>> freq(units.size(), std::vector<int>(k, 0));
    std::vector<int> extra(k, 0);  // replays in which stratum s0's arm got the remainder
    for (int r = 0; r < kReplays; ++r) {
      const auto result = AllocateCompleteWithinStrata(
          TestGenerator(static_cast<std::uint64_t>(r) + 1000), arms, units);
      ASSERT_TRUE(result.ok());
      std::vector<std::int64_t> s0(k, 0);
      for (std::size_t i = 0; i < units.size(); ++i) {
        ++freq[i][static_cast<std::size_t>((*result)[i])];
        if (units[i].stratum == "s0") ++s0[static_cast<std::size_t>((*result)[i])];
      }
      for (std::size_t a = 0; a < k; ++a) {
        if (s0[a] * static_cast<std::int64_t>(total) > c.n * arms[a].weight) ++extra[a];
      }
    }
    for (std::size_t i = 0; i < units.size(); ++i) {
      for (std::size_t a = 0; a < k; ++a) {
        const double p = static_cast<double>(arms[a].weight) / total;
        const double se = std::sqrt(p * (1 - p) / kReplays);
        EXPECT_NEAR(freq[i][a] / static_cast<double>(kReplays), p, 4 * se)
            << "ratio case n=" << c.n << " unit " << units[i].id << " arm " << a;
      }
    }
    for (std::size_t a = 0; a < k; ++a) {
      // Probability arm a gets the extra unit: the fractional part of n·w_a/W.
      const double expected = static_cast<double>(c.n * arms[a].weight % TotalWeight(arms)) / total;
      const double se = std::sqrt(std::max(expected * (1 - expected), 1e-12) / kReplays);
      EXPECT_NEAR(extra[a] / static_cast<double>(kReplays), expected, 4 * se + 1e-12)
          << "remainder to arm " << a << " with n=" << c.n;
    }
  }
}

TEST(ExactCounts, RemainderMarginalsMatchFractionalParts) {
  // Weights 3:2:2, n = 5: floors 2,1,1; residues 1,3,3 (of W = 7); one extra unit goes to arm
  // 0 with probability 1/7 and to each other arm with 3/7.
  const std::vector<std::int64_t> weights = {3, 2, 2};
  std::vector<int> extra(3, 0);
  const int replays = 14000;
  const Generator gen = TestGenerator();
  for (int r = 0; r < replays; ++r) {
    Stream s = gen.Open(Context().Add("test", static_cast<std::uint64_t>(r)));
    const auto counts = ExactCounts(s, weights, 5);
    ASSERT_EQ(counts[0] + counts[1] + counts[2], 5);
    for (std::size_t a = 0; a < 3; ++a) {
      const std::int64_t base = 5 * weights[a] / 7;
      ASSERT_GE(counts[a], base);
      ASSERT_LE(counts[a], base + 1);
      if (counts[a] > base) ++extra[a];
    }
  }
  const std::vector<double> expected = {1.0 / 7, 3.0 / 7, 3.0 / 7};
  for (std::size_t a = 0; a < 3; ++a) {
    const double se = std::sqrt(expected[a] * (1 - expected[a]) / replays);
    EXPECT_NEAR(extra[a] / static_cast<double>(replays), expected[a], 4 * se) << a;
  }
  // Two extra units among four equal arms: every pair is possible (the arm order is
  // shuffled before systematic sampling).
  std::map<std::vector<std::int64_t>, int> patterns;
  for (int r = 0; r < 600; ++r) {
    Stream s = gen.Open(Context().Add("pairs", static_cast<std::uint64_t>(r)));
    ++patterns[ExactCounts(s, std::vector<std::int64_t>{1, 1, 1, 1}, 6)];
  }
  EXPECT_EQ(patterns.size(), 6U);
}

TEST(SimpleRandomisation, FrequenciesFollowWeightsAndKeysById) {
  const std::vector<Unit> units = MakeUnits(6000);
  const auto result = AllocateSimple(TestGenerator(), Ratio({2, 1}), units);
  ASSERT_TRUE(result.ok());
  const auto first = static_cast<double>(std::count(result->begin(), result->end(), 0));
  const double se = std::sqrt(6000 * (2.0 / 3) * (1.0 / 3));
  EXPECT_NEAR(first, 4000, 4 * se);
  // Each participant's arm depends only on their own id: a subset gets the same arms.
  const std::vector<Unit> subset(units.begin() + 100, units.begin() + 200);
  const auto sub = AllocateSimple(TestGenerator(), Ratio({2, 1}), subset);
  ASSERT_TRUE(sub.ok());
  for (std::size_t i = 0; i < subset.size(); ++i) EXPECT_EQ((*sub)[i], (*result)[i + 100]);
}

TEST(BatchMethods, ResultDoesNotDependOnInputOrder) {
  std::vector<Unit> units = MakeUnits(301, 7);
  for (std::size_t i = 0; i < units.size(); ++i)
    units[i].cluster = absl::StrCat("team", i % 40 % 7, "-", i % 40);
  // Clusters must not span strata for cluster_within_strata: stratum = cluster's stratum.
  for (Unit& u : units) u.stratum = absl::StrCat("s", u.cluster.substr(4, 1));
  const std::vector<Arm> arms = Ratio({1, 1, 1});
  const Generator gen = TestGenerator(7);
  using Fn = std::function<absl::StatusOr<std::vector<int>>(absl::Span<const Unit>)>;
  const std::vector<std::pair<std::string, Fn>> methods = {
      {"simple", [&](auto u) { return AllocateSimple(gen, arms, u); }},
      {"complete", [&](auto u) { return AllocateComplete(gen, arms, u); }},
      {"complete_within_strata",
       [&](auto u) { return AllocateCompleteWithinStrata(gen, arms, u); }},
      {"cluster", [&](auto u) { return AllocateCluster(gen, arms, u); }},
      {"cluster_within_strata", [&](auto u) { return AllocateClusterWithinStrata(gen, arms, u); }},
  };
  for (const auto& [name, fn] : methods) {
    const auto reference = fn(units);
    ASSERT_TRUE(reference.ok()) << name << ": " << reference.status();
    const auto expected = ById(units, *reference);
    for (std::uint64_t seed = 0; seed < 5; ++seed) {
      const std::vector<Unit> shuffled = Permuted(units, seed);
      const auto again = fn(shuffled);
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(ById(shuffled, *again), expected) << name << " with input order " << seed;
    }
  }
}

TEST(BatchMethods, DifferentDrawsStrataAndSecretsDiffer) {
  const std::vector<Unit> units = MakeUnits(200, 2);
  const std::vector<Arm> arms = Ratio({1, 1});
  const auto d0 = AllocateCompleteWithinStrata(TestGenerator(), arms, units, 0);
  const auto d1 = AllocateCompleteWithinStrata(TestGenerator(), arms, units, 1);
  const auto other = AllocateCompleteWithinStrata(TestGenerator(1), arms, units, 0);
  EXPECT_NE(*d0, *d1);
  EXPECT_NE(*d0, *other);
  EXPECT_EQ(*d0, *AllocateCompleteWithinStrata(TestGenerator(), arms, units, 0));
}

TEST(ClusterRandomisation, MembersShareArmAndClusterCountsAreExact) {
  // MoD-ING as cluster randomisation: 276 staff in 46 teams of 6, in 2 sites.
  std::vector<Unit> units;
  for (int i = 0; i < 276; ++i) {
    Unit u;
    u.id = absl::StrCat("staff", i);
    u.cluster = absl::StrCat("team", i / 6);
    u.stratum = (i / 6) % 2 == 0 ? "site-a" : "site-b";
    units.push_back(u);
  }
  for (const bool within : {false, true}) {
    const auto result = within ? AllocateClusterWithinStrata(TestGenerator(), Ratio({1, 1}), units)
                               : AllocateCluster(TestGenerator(), Ratio({1, 1}), units);
    ASSERT_TRUE(result.ok()) << result.status();
    std::map<std::string, std::set<int>> arms_of_cluster;
    std::map<std::string, std::map<int, std::set<std::string>>> clusters_by_stratum_arm;
    for (std::size_t i = 0; i < units.size(); ++i) {
      arms_of_cluster[units[i].cluster].insert((*result)[i]);
      clusters_by_stratum_arm[within ? units[i].stratum : ""][(*result)[i]].insert(
          units[i].cluster);
    }
    for (const auto& [cluster, arms] : arms_of_cluster) EXPECT_EQ(arms.size(), 1U) << cluster;
    for (const auto& [stratum, by_arm] : clusters_by_stratum_arm) {
      // 46 clusters: 23 per arm; within strata 23 per site → 11/12 per arm.
      const auto n0 = by_arm.at(0).size(), n1 = by_arm.at(1).size();
      EXPECT_LE(std::max(n0, n1) - std::min(n0, n1), 1U) << stratum;
    }
  }
}

TEST(ClusterRandomisation, ClusterAcrossStrata) {
  std::vector<Unit> units = MakeUnits(20, 2);
  for (std::size_t i = 0; i < units.size(); ++i) units[i].cluster = absl::StrCat("c", i / 4);
  // c0 = u0000..u0003 spans s0 and s1.
  auto forbidden = AllocateClusterWithinStrata(TestGenerator(), Ratio({1, 1}), units);
  ASSERT_FALSE(forbidden.ok());
  EXPECT_EQ(forbidden.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(forbidden.status().message(), HasSubstr("units[1].cluster"));
  EXPECT_THAT(forbidden.status().message(), HasSubstr("\"c0\" spans strata"));
  EXPECT_THAT(forbidden.status().message(), HasSubstr("u0001"));
  // Allowed: still one arm per cluster.
  auto allowed =
      AllocateClusterWithinStrata(TestGenerator(), Ratio({1, 1}), units,
                                  ClusterOptions{.forbid_clusters_across_strata = false});
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  for (std::size_t i = 0; i < units.size(); ++i) {
    EXPECT_EQ((*allowed)[i], (*allowed)[i / 4 * 4]) << units[i].id;
  }
  // A member without a cluster id.
  units[5].cluster.clear();
  auto missing = AllocateCluster(TestGenerator(), Ratio({1, 1}), units);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("units[5].cluster"));
  EXPECT_THAT(missing.status().message(), HasSubstr("u0005"));
}

TEST(BatchMethods, BadInput) {
  const std::vector<Unit> units = MakeUnits(10);
  const Generator gen = TestGenerator();
  auto expect_invalid = [](const absl::StatusOr<std::vector<int>>& r, const std::string& text) {
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr(text));
  };
  expect_invalid(AllocateComplete(gen, {}, units), "arms:");
  expect_invalid(AllocateComplete(gen, {{"a", 1}, {"b", 0}}, units), "arms[1].weight");
  expect_invalid(AllocateCompleteWithinStrata(gen, {{"a", -2}, {"b", 1}}, units),
                 "arms[0].weight: arm \"a\" has weight -2");
  expect_invalid(AllocateSimple(gen, {{"a", 1}, {"a", 1}}, units), "arms[1].name: duplicate");
  expect_invalid(AllocateSimple(gen, {{"", 1}}, units), "arms[0].name: empty");
  std::vector<Unit> bad = units;
  bad[3].id.clear();
  expect_invalid(AllocateComplete(gen, {{"a", 1}, {"b", 1}}, bad), "units[3].id: empty");
  bad = units;
  bad[7].id = bad[2].id;
  expect_invalid(AllocateCompleteWithinStrata(gen, {{"a", 1}, {"b", 1}}, bad),
                 "units[7].id: duplicate participant id \"u0002\"");
  // No units is not an error: nothing to allocate.
  const auto empty = AllocateCompleteWithinStrata(gen, {{"a", 1}}, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace fieldwork::randomisation
