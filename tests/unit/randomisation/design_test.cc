// The single entry point, several independent factors, and the report's designs.
#include "services/randomisation/methods/design.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "services/randomisation/methods/orders.h"
#include "tests/unit/randomisation/test_util.h"

namespace fieldwork::randomisation {
namespace {

using ::testing::HasSubstr;
using testing::MakeUnits;
using testing::TestSecret;

FactorDesign Factor(std::string name, Method method, std::vector<Arm> arms) {
  FactorDesign f;
  f.name = std::move(name);
  f.method = method;
  f.arms = std::move(arms);
  return f;
}

TEST(Design, FactorsAreIndependent) {
  // Two factors with identical designs: their allocations differ and are uncorrelated.
  const std::vector<Unit> units = MakeUnits(4000, 4);
  const std::vector<Arm> arms = {{"t", 1}, {"c", 1}};
  const std::vector<FactorDesign> factors = {
      Factor("message", Method::kCompleteWithinStrata, arms),
      Factor("reminder", Method::kCompleteWithinStrata, arms)};
  const auto result = AllocateFactors(TestSecret(1), "trial-1", "", factors, units);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 2U);
  const auto& a = (*result)[0].arms;
  const auto& b = (*result)[1].arms;
  EXPECT_NE(a, b);
  int both = 0;
  for (std::size_t i = 0; i < units.size(); ++i) both += (a[i] == 0 && b[i] == 0) ? 1 : 0;
  // P(both treated) = 1/4: within 4 standard errors.
  EXPECT_NEAR(both / 4000.0, 0.25, 4 * std::sqrt(0.25 * 0.75 / 4000));
  // A factor's allocation is the same alone as alongside others.
  const auto alone = AllocateFactor(TestSecret(1), "trial-1", "", factors[1], units);
  EXPECT_EQ(alone->arms, b);
}

TEST(Design, CohortsAreRandomisedSeparately) {
  // SWING: the same ids in two cohorts get independent allocations.
  const std::vector<Unit> units = MakeUnits(281);
  const FactorDesign f = Factor("main", Method::kComplete, {{"t", 1}, {"c", 1}});
  const auto c2020 = AllocateFactor(TestSecret(2), "swing", "2020", f, units);
  const auto c2021 = AllocateFactor(TestSecret(2), "swing", "2021", f, units);
  ASSERT_TRUE(c2020.ok() && c2021.ok());
  EXPECT_NE(c2020->arms, c2021->arms);
}

TEST(Design, EveryMethodRunsThroughTheEntryPoint) {
  std::vector<Unit> units = MakeUnits(276, 2);  // MoD-ING
  Stream s = testing::TestGenerator(0, "x").Open(Context().Add("test", "design"));
  for (std::size_t i = 0; i < units.size(); ++i) {
    units[i].cluster = absl::StrCat("team", i % 46);
    units[i].stratum = absl::StrCat("s", i % 46 % 2);
    units[i].covariates = {testing::Normal(s), testing::Normal(s)};
    units[i].categorical["grade"] = absl::StrCat("g", s.Below(3));
  }
  const std::vector<Arm> arms = {{"treatment", 1}, {"control", 1}};
  for (const Method m : {Method::kSimple, Method::kComplete, Method::kCompleteWithinStrata,
                         Method::kCluster, Method::kClusterWithinStrata, Method::kRerandomisation,
                         Method::kPermutedBlocks, Method::kMinimisation}) {
    SCOPED_TRACE(MethodName(m));
    FactorDesign f = Factor("main", m, arms);
    f.block_sizes = {2, 4};
    f.minimisation_factors = {{"grade", 1.0}};
    f.rerandomisation.acceptance_probability = 0.2;
    const auto r = AllocateFactor(TestSecret(3), "moding", "", f, units);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->arms.size(), units.size());
    for (const int a : r->arms) EXPECT_TRUE(a == 0 || a == 1);
    if (m == Method::kRerandomisation) {
      EXPECT_LE(r->distance, r->threshold);
    }
    EXPECT_EQ(IsSequential(m), m == Method::kPermutedBlocks || m == Method::kMinimisation);
  }
}

TEST(Design, BadInputNamesTheFactor) {
  const std::vector<Unit> units = MakeUnits(10);
  FactorDesign f = Factor("main", Method::kComplete, {{"t", 1}, {"c", 0}});
  auto r = AllocateFactor(TestSecret(0), "t", "", f, units);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("factor \"main\": arms[1].weight"));
  f.arms[1].weight = 1;
  f.name.clear();
  EXPECT_THAT(AllocateFactor(TestSecret(0), "t", "", f, units).status().message(),
              HasSubstr("factor.name"));
  f.name = "main";
  EXPECT_THAT(AllocateFactor("short", "t", "", f, units).status().message(), HasSubstr("secret"));
  const std::vector<FactorDesign> twice = {f, f};
  EXPECT_THAT(AllocateFactors(TestSecret(0), "t", "", twice, units).status().message(),
              HasSubstr("factors[1].name: duplicate"));
}

}  // namespace
}  // namespace fieldwork::randomisation
