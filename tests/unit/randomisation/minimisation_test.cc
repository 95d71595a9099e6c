// Minimisation (Pocock–Simon) with a random element.
#include "services/randomisation/methods/minimisation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "services/randomisation/methods/batch.h"
#include "tests/unit/randomisation/test_util.h"

namespace fieldwork::randomisation {
namespace {

using ::testing::HasSubstr;
using testing::TestGenerator;
using testing::TestSecret;

// A simulated roster: sex (2 levels, 50/50), age band (3 levels, 30/50/20), site (7 levels).
std::vector<Unit> Roster(int n, std::uint64_t seed) {
  Stream s = TestGenerator(seed, "roster").Open(Context().Add("test", "roster"));
  std::vector<Unit> units;
  for (int i = 0; i < n; ++i) {
    Unit u;
    u.id = absl::StrCat("p", i);
    u.categorical["sex"] = std::string(s.Below(2) == 0 ? "f" : "m");
    const std::uint64_t age = s.Below(10);
    u.categorical["age"] = std::string(age < 3 ? "18-29" : (age < 8 ? "30-49" : "50+"));
    u.categorical["site"] = absl::StrCat("site", s.Below(7));
    units.push_back(u);
  }
  return units;
}

MinimisationDesign TwoArmDesign() {
  MinimisationDesign d;
  d.arms = {{"treatment", 1}, {"control", 1}};
  d.factors = {{"sex", 1.0}, {"age", 1.0}, {"site", 1.0}};
  d.p_minimising = 0.8;
  return d;
}

// Sum over every factor level of |n_treatment − n_control|.
double MarginalImbalance(const std::vector<Unit>& units, const std::vector<int>& arms) {
  std::map<std::pair<std::string, std::string>, int> diff;
  for (std::size_t i = 0; i < units.size(); ++i) {
    for (const auto& [factor, level] : units[i].categorical) {
      diff[{factor, level}] += arms[i] == 0 ? 1 : -1;
    }
  }
  double total = 0;
  for (const auto& [key, d] : diff) total += std::abs(d);
  return total;
}

TEST(Minimisation, MarginalImbalanceFarBelowSimpleRandomisation) {
  const MinimisationDesign design = TwoArmDesign();
  double minimised = 0, simple = 0;
  const int replications = 20;
  for (int r = 0; r < replications; ++r) {
    const std::vector<Unit> roster = Roster(500, static_cast<std::uint64_t>(r));
    const Generator gen = TestGenerator(static_cast<std::uint64_t>(r));
    const auto m = AllocateMinimisation(gen, design, roster);
    ASSERT_TRUE(m.ok()) << m.status();
    const auto s = AllocateSimple(gen, design.arms, roster);
    ASSERT_TRUE(s.ok());
    minimised += MarginalImbalance(roster, *m);
    simple += MarginalImbalance(roster, *s);
  }
  minimised /= replications;
  simple /= replications;
  // 12 factor levels: simple randomisation leaves about 90 in total (about 7.5 a level),
  // minimisation with p = 0.8 about 20 (under 2 a level).
  EXPECT_LT(minimised, simple / 4) << "minimisation " << minimised << ", simple " << simple;
  EXPECT_LT(minimised, 25);
}

TEST(Minimisation, VarianceMeasureThreeArmsAndUnequalRatio) {
  MinimisationDesign design = TwoArmDesign();
  design.arms = {{"a", 2}, {"b", 1}, {"c", 1}};
  design.measure = ImbalanceMeasure::kVariance;
  design.factors[2].weight = 2.0;
  const std::vector<Unit> roster = Roster(400, 99);
  const auto m = AllocateMinimisation(TestGenerator(5), design, roster);
  ASSERT_TRUE(m.ok()) << m.status();
  // Every level's counts are close to 2:1:1.
  std::map<std::pair<std::string, std::string>, std::vector<int>> counts;
  for (std::size_t i = 0; i < roster.size(); ++i) {
    for (const auto& [factor, level] : roster[i].categorical) {
      auto& c = counts[{factor, level}];
      c.resize(3, 0);
      ++c[static_cast<std::size_t>((*m)[i])];
    }
  }
  for (const auto& [key, c] : counts) {
    const double n = c[0] + c[1] + c[2];
    EXPECT_NEAR(c[0], n / 2, 4) << key.first << "=" << key.second;
    EXPECT_NEAR(c[1], n / 4, 4) << key.first << "=" << key.second;
    EXPECT_NEAR(c[2], n / 4, 4) << key.first << "=" << key.second;
  }
}

TEST(Minimisation, DeterministicAndResumableFromPersistedState) {
  const MinimisationDesign design = TwoArmDesign();
  const std::vector<Unit> roster = Roster(120, 1);
  const Generator gen = TestGenerator(11);
  const auto all = AllocateMinimisation(gen, design, roster);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*AllocateMinimisation(gen, design, roster), *all);
  // Stop after 60, "persist" the state (a copy), resume with a fresh generator.
  MinimisationState state;
  for (std::size_t i = 0; i < 60; ++i)
    ASSERT_EQ(*MinimisationNext(gen, design, roster[i], state), (*all)[i]);
  MinimisationState persisted = state;
  const Generator again = *Generator::Create(TestSecret(11), Scope{"trial-1", "main", ""});
  for (std::size_t i = 60; i < roster.size(); ++i) {
    ASSERT_EQ(*MinimisationNext(again, design, roster[i], persisted), (*all)[i]) << i;
  }
  EXPECT_EQ(persisted.allocated, 120);
  // A different secret gives a different sequence.
  EXPECT_NE(*AllocateMinimisation(TestGenerator(12), design, roster), *all);
}

TEST(Minimisation, TakesTheMinimisingArmWithProbabilityP) {
  MinimisationDesign design = TwoArmDesign();
  design.factors = {{"sex", 1.0}};
  MinimisationState state;
  state.allocated = 10;
  state.counts["sex"]["f"] = {0, 10};  // treatment clearly minimises imbalance for "f"
  int took = 0;
  const int trials = 4000;
  const Generator gen = TestGenerator();
  for (int i = 0; i < trials; ++i) {
    Unit u;
    u.id = absl::StrCat("newcomer", i);
    u.categorical["sex"] = "f";
    MinimisationState copy = state;
    const auto arm = MinimisationNext(gen, design, u, copy);
    ASSERT_TRUE(arm.ok());
    took += *arm == 0 ? 1 : 0;
  }
  const double se = std::sqrt(0.8 * 0.2 / trials);
  EXPECT_NEAR(took / static_cast<double>(trials), 0.8, 4 * se);
  // p = 1: always.
  design.p_minimising = 1.0;
  for (int i = 0; i < 200; ++i) {
    Unit u;
    u.id = absl::StrCat("sure", i);
    u.categorical["sex"] = "f";
    MinimisationState copy = state;
    EXPECT_EQ(*MinimisationNext(gen, design, u, copy), 0);
  }
  // The imbalances behind the choice: adding to treatment gives |1 − 10| = 9, control 11.
  Unit u;
  u.id = "x";
  u.categorical["sex"] = "f";
  EXPECT_THAT(*MinimisationImbalances(design, u, state), ::testing::ElementsAre(9.0, 11.0));
}

TEST(Minimisation, TiesAndTheFirstAllocationsAreRandom) {
  MinimisationDesign design = TwoArmDesign();
  design.p_minimising = 1.0;
  design.random_first = 4;
  // Over many secrets, the first allocation (all arms tie) and the first `random_first`
  // allocations are about half treatment.
  std::vector<int> treated(6, 0);
  const int secrets = 2000;
  const std::vector<Unit> roster = Roster(6, 3);
  for (int r = 0; r < secrets; ++r) {
    const auto m =
        AllocateMinimisation(TestGenerator(static_cast<std::uint64_t>(r)), design, roster);
    ASSERT_TRUE(m.ok());
    for (std::size_t i = 0; i < 6; ++i) treated[i] += (*m)[i] == 0 ? 1 : 0;
  }
  const double se = std::sqrt(0.25 / secrets);
  for (std::size_t i = 0; i < 4; ++i)
    EXPECT_NEAR(treated[i] / static_cast<double>(secrets), 0.5, 4 * se) << i;
  // Without the random start, p = 1 and a lone factor: the second unit with the same level as
  // the first always goes to the other arm.
  design.random_first = 0;
  design.factors = {{"sex", 1.0}};
  std::vector<Unit> pair(2);
  pair[0].id = "a";
  pair[1].id = "b";
  pair[0].categorical["sex"] = pair[1].categorical["sex"] = "f";
  for (int r = 0; r < 50; ++r) {
    const auto m = AllocateMinimisation(TestGenerator(static_cast<std::uint64_t>(r)), design, pair);
    ASSERT_TRUE(m.ok());
    EXPECT_NE((*m)[0], (*m)[1]);
  }
}

TEST(Minimisation, BadInput) {
  const Generator gen = TestGenerator();
  MinimisationDesign design = TwoArmDesign();
  MinimisationState state;
  Unit unit;
  unit.id = "p7";
  unit.categorical = {{"sex", "f"}, {"site", "site1"}};  // no "age"
  auto r = MinimisationNext(gen, design, unit, state);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("categorical[\"age\"]: participant \"p7\""));
  EXPECT_EQ(state.allocated, 0);
  EXPECT_TRUE(state.counts.empty());
  unit.categorical["age"] = "";  // empty counts as missing
  EXPECT_FALSE(MinimisationNext(gen, design, unit, state).ok());
  unit.categorical["age"] = "50+";
  EXPECT_TRUE(MinimisationNext(gen, design, unit, state).ok());
  // In a replay the error names the row.
  std::vector<Unit> rows = Roster(5, 0);
  rows[3].categorical.erase("site");
  const auto replay = AllocateMinimisation(gen, design, rows);
  ASSERT_FALSE(replay.ok());
  EXPECT_THAT(replay.status().message(), HasSubstr("units[3].categorical[\"site\"]"));

  auto expect_invalid = [&](const MinimisationDesign& d, const std::string& text) {
    MinimisationState s;
    const auto res = MinimisationNext(gen, d, unit, s);
    ASSERT_FALSE(res.ok()) << text;
    EXPECT_EQ(res.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(res.status().message(), HasSubstr(text));
  };
  MinimisationDesign d = TwoArmDesign();
  d.p_minimising = 1.5;
  expect_invalid(d, "minimisation.p_minimising");
  d = TwoArmDesign();
  d.factors[1].weight = 0;
  expect_invalid(d, "minimisation.factors[1].weight");
  d = TwoArmDesign();
  d.factors.clear();
  expect_invalid(d, "minimisation.factors");
  d = TwoArmDesign();
  d.arms[0].weight = 0;
  expect_invalid(d, "arms[0].weight");
  // A persisted state that does not fit the design.
  MinimisationState wrong;
  wrong.counts["sex"]["f"] = {1, 2, 3};
  const auto res = MinimisationNext(gen, TwoArmDesign(), unit, wrong);
  ASSERT_FALSE(res.ok());
  EXPECT_THAT(res.status().message(), HasSubstr("state.counts[\"sex\"][\"f\"]: has 3 arms"));
}

}  // namespace
}  // namespace fieldwork::randomisation
