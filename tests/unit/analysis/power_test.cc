#include "services/analysis/stats/power.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "tests/unit/analysis/fixtures.h"

namespace fieldwork::analysis {
namespace {

using fixtures::Expected;
using fixtures::Near;
using fixtures::Num;
using ::testing::HasSubstr;

void ExpectMdes(const Mdes& m, const nlohmann::json& e) {
  EXPECT_TRUE(Near(m.mdes, Num(e["mdes"]), 1e-10));
  EXPECT_TRUE(Near(m.multiplier, Num(e["multiplier"]), 1e-10));
  EXPECT_TRUE(Near(m.df, Num(e["df"]), 1e-12));
}

TEST(PowerTest, PowerUpMdesIraN250) {
  IndividualDesign d;
  d.n = 250;
  absl::StatusOr<Mdes> m = PlannedMdes(d);
  ASSERT_TRUE(m.ok()) << m.status();
  ExpectMdes(*m, Expected("power_ira_250"));
  EXPECT_EQ(std::round(m->mdes * 1000.0) / 1000.0, 0.356);  // PowerUp!'s published figure
  EXPECT_EQ(m->df, 248.0);
}

TEST(PowerTest, IndividualWithCovariatesAndResponseRate) {
  IndividualDesign d;
  d.n = 1200;
  d.response_rate = 0.29;
  d.treated_share = 0.4;
  d.covariates = 3;
  d.r_squared = 0.3;
  d.test.power = 0.9;
  absl::StatusOr<Mdes> m = PlannedMdes(d);
  ASSERT_TRUE(m.ok()) << m.status();
  ExpectMdes(*m, Expected("power_ira_cov"));
  EXPECT_NEAR(m->effective_n, 348.0, 1e-9);
}

TEST(PowerTest, ClusterDesigns) {
  ClusterDesign d;
  d.cluster_size = 25;
  d.clusters = 40;
  d.icc = 0.12;
  d.covariates = 1;
  d.r_squared_individual = 0.2;
  d.r_squared_cluster = 0.4;
  absl::StatusOr<Mdes> m = PlannedMdes(d);
  ASSERT_TRUE(m.ok()) << m.status();
  ExpectMdes(*m, Expected("power_cra2"));

  ClusterDesign thin;
  thin.cluster_size = 25;
  thin.clusters = 40;
  thin.icc = 0.12;
  thin.response_rate = 0.6;
  absl::StatusOr<Mdes> t = PlannedMdes(thin);
  ASSERT_TRUE(t.ok()) << t.status();
  ExpectMdes(*t, Expected("power_cra2_rr"));
}

TEST(PowerTest, PowerForEffectAsPowerUp) {
  IndividualDesign d;
  d.n = 250;
  const auto& e = Expected("power_ira_es");
  EXPECT_TRUE(Near(*PowerForEffect(d, 0.3), Num(e["power"]), 1e-9));
  d.test.two_tailed = false;
  EXPECT_TRUE(Near(*PowerForEffect(d, 0.3), Num(e["power_one_tailed"]), 1e-9));
  // At the MDES the power is (close to) the target.
  IndividualDesign at;
  at.n = 250;
  EXPECT_NEAR(*PowerForEffect(at, PlannedMdes(at)->mdes), 0.8, 0.01);

  ClusterDesign c;
  c.cluster_size = 25;
  c.clusters = 40;
  c.icc = 0.12;
  c.covariates = 1;
  c.r_squared_individual = 0.2;
  c.r_squared_cluster = 0.4;
  EXPECT_TRUE(Near(*PowerForEffect(c, 0.25), Num(Expected("power_cra2_es")["power"]), 1e-9));
}

TEST(PowerTest, AchievedMdes) {
  absl::StatusOr<AchievedMdes> a = ComputeAchievedMdes(0.9, 330.5, 4.2);
  ASSERT_TRUE(a.ok()) << a.status();
  const auto& e = Expected("achieved_mdes");
  EXPECT_TRUE(Near(a->multiplier, Num(e["multiplier"]), 1e-10));
  EXPECT_TRUE(Near(a->mdes, Num(e["mdes"]), 1e-10));
  EXPECT_NEAR(a->mdes_raw, a->mdes * 4.2, 1e-12);
  EXPECT_FALSE(ComputeAchievedMdes(0.0, 10, 1).ok());
  EXPECT_FALSE(ComputeAchievedMdes(1.0, 10, 0).ok());
}

// The report: "MDES 0.27 rather than 0.18 because the response rate was 29% not 50%".
TEST(PowerTest, LedgerSplitsTheChange) {
  IndividualDesign plan;
  plan.n = 2000;
  plan.response_rate = 0.5;
  plan.r_squared = 0.3;
  plan.covariates = 2;
  absl::StatusOr<MdesLedger> l = BuildMdesLedger(plan, 0.29, 0.27);
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_NEAR(l->planned, PlannedMdes(plan)->mdes, 1e-15);
  IndividualDesign at = plan;
  at.response_rate = 0.29;
  EXPECT_NEAR(l->planned_at_actual_response, PlannedMdes(at)->mdes, 1e-15);
  // With many df the MDES scales as 1 / sqrt(response rate).
  EXPECT_NEAR(l->ratio_response_rate, std::sqrt(0.5 / 0.29), 2e-3);
  EXPECT_NEAR(l->change_due_to_response_rate + l->change_other, l->change_total, 1e-15);
  EXPECT_NEAR(l->ratio_response_rate * l->ratio_other, l->ratio_total, 1e-14);
  EXPECT_NEAR(l->share_due_to_response_rate, l->change_due_to_response_rate / (0.27 - l->planned),
              1e-12);
  EXPECT_THAT(l->summary, HasSubstr("29%"));
  EXPECT_FALSE(BuildMdesLedger(plan, 0.0, 0.27).ok());
}

TEST(PowerTest, Errors) {
  IndividualDesign d;
  d.n = 3;  // df = 1
  EXPECT_TRUE(PlannedMdes(d).ok());
  d.n = 2;
  EXPECT_THAT(std::string(PlannedMdes(d).status().message()), HasSubstr("degrees of freedom"));
  IndividualDesign bad;
  bad.n = 100;
  bad.treated_share = 1.0;
  EXPECT_FALSE(PlannedMdes(bad).ok());
  bad.treated_share = 0.5;
  bad.response_rate = 1.5;
  EXPECT_FALSE(PlannedMdes(bad).ok());
  ClusterDesign c;
  c.clusters = 2;
  c.cluster_size = 10;
  EXPECT_FALSE(PlannedMdes(c).ok());
}

}  // namespace
}  // namespace fieldwork::analysis
