// RunPlan against R: the committed fixtures (tests/fixtures/analysis, made by make_fixtures.R)
// loaded as a trial through the in-memory sources and analysed under a plan, so what the service
// puts in AnalyseResponse — each effect's SE and df, the joint Wald F with df1 and df2, the
// take-up effect with its first-stage F — is checked against estimatr, car and iv_robust, not
// only what the statistics library computes.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "services/analysis/analyser.h"
#include "services/analysis/join.h"
#include "services/analysis/memory_sources.h"
#include "tests/unit/analysis/fixtures.h"
#include "tests/unit/analysis/test_trials.h"

namespace fieldwork::analysis {
namespace {

namespace v1 = ::fieldwork::v1;
using fixtures::Csv;
using fixtures::Expected;
using fixtures::Near;
using fixtures::Num;
using testing::LockedRecord;

// One participant per fixture row: site `sites[i]`, arm `arms[i]`, numeric covariate x1 and an
// endline response with scale wellbeing = y. Participant ids are zero-padded so that the join's
// id order is the file's row order.
MemoryTrialData FixtureTrial(const Csv& csv, const std::vector<std::string>& arm_names,
                             const std::vector<std::string>& arms,
                             const std::vector<std::string>& sites) {
  MemoryTrialData data;
  data.trial = testing::MakeTrial("ref");
  v1::TrialDesign& design = *data.trial.mutable_design();
  design.mutable_factors(0)->clear_arms();
  for (const std::string& name : arm_names) {
    v1::Arm& arm = *design.mutable_factors(0)->add_arms();
    arm.set_name(name);
    arm.set_weight(1);
  }
  design.clear_sites();
  for (const std::string& site : std::set<std::string>(sites.begin(), sites.end()))
    design.add_sites()->set_id(site);
  v1::Covariate& x1 = *design.add_covariates();
  x1.set_name("x1");
  x1.set_kind(v1::Covariate::KIND_NUMERIC);
  testing::AddWave(data, "endline");
  const Eigen::VectorXd x = csv.Numbers("x1");
  const Eigen::VectorXd y = csv.Numbers("y");
  for (size_t i = 0; i < csv.rows(); ++i) {
    const std::string id = absl::StrFormat("p%04d", i);
    const auto k = static_cast<Eigen::Index>(i);
    v1::ParticipantStatus& status = testing::AddParticipant(data, id, sites[i], arms[i]);
    (*status.mutable_participant()->mutable_covariates())["x1"].set_number(x[k]);
    testing::AddResponse(data, id, "endline", "wellbeing", y[k]);
  }
  return data;
}

v1::AnalyseResponse Analyse(MemoryTrialData data, const v1::AnalysisPlan& plan) {
  MemorySources sources;
  sources.trials()["ref"] = std::move(data);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sources.AsSources(), "ref");
  EXPECT_TRUE(joined.ok()) << joined.status();
  absl::StatusOr<v1::AnalyseResponse> result = RunPlan(LockedRecord(plan), *joined, absl::Now());
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : v1::AnalyseResponse();
}

v1::AnalysisPlan PlanWithX1(bool site_fixed_effects) {
  v1::AnalysisPlan plan = testing::MakePlan("ref");
  plan.add_covariates("x1");
  plan.set_site_fixed_effects(site_fixed_effects);
  return plan;
}

// The term of an estimatr table by its index; R's names are "armletter", ours the arm.
void ExpectEffect(const v1::Inference& e, const nlohmann::json& table, size_t term) {
  EXPECT_TRUE(Near(e.estimate(), Num(table["estimate"][term]), 1e-8));
  EXPECT_TRUE(Near(e.std_error(), Num(table["std_error"][term]), 1e-8));
  EXPECT_TRUE(Near(e.df(), Num(table["df"][term]), 1e-6));
  EXPECT_TRUE(Near(e.p_value(), Num(table["p_value"][term]), 1e-6));
  EXPECT_TRUE(Near(e.conf_low(), Num(table["conf_low"][term]), 1e-8));
  EXPECT_TRUE(Near(e.conf_high(), Num(table["conf_high"][term]), 1e-8));
}

// itt_three_arm.csv: lm_robust(y ~ arm + x1 + site) (HC2) and car::linearHypothesis of both
// arms' effects being zero.
TEST(AnalyserReferenceTest, ThreeArmEffectsAndJointWaldTestWithDegreesOfFreedom) {
  const Csv csv = Csv::Read("itt_three_arm.csv");
  const v1::AnalyseResponse result =
      Analyse(FixtureTrial(csv, {"control", "letter", "video"}, csv.Strings("arm"),
                           csv.Strings("site")),
              PlanWithX1(/*site_fixed_effects=*/true));
  ASSERT_EQ(result.outcomes_size(), 1);
  const v1::OutcomeResult& o = result.outcomes(0);
  EXPECT_EQ(o.n(), 600);
  const nlohmann::json& table = Expected("itt3_standard");
  ASSERT_EQ(o.effects_size(), 2);
  EXPECT_EQ(o.effects(0).arm(), "letter");
  ExpectEffect(o.effects(0).effect(), table, 1);
  EXPECT_EQ(o.effects(1).arm(), "video");
  ExpectEffect(o.effects(1).effect(), table, 2);

  const nlohmann::json& wald = Expected("itt3_standard_wald");
  EXPECT_TRUE(Near(o.joint_f(), Num(wald["f"]), 1e-8));
  EXPECT_EQ(o.joint_df1(), static_cast<int>(Num(wald["df1"])));
  EXPECT_TRUE(Near(o.joint_df2(), Num(wald["df2"]), 1e-6));
  EXPECT_TRUE(Near(o.joint_p_value(), Num(wald["p_value"]), 1e-6));
  EXPECT_EQ(o.joint_df1(), 2);
  EXPECT_FALSE(result.descriptive());
}

// iv.csv: iv_robust(y ~ d + x1 | z + x1) (HC2) with its first-stage F; z is the assignment
// (treatment when 1) and d the take-up, here the opens of campaign "video".
TEST(AnalyserReferenceTest, TakeUpEffectAndFirstStageF) {
  const Csv csv = Csv::Read("iv.csv");
  const Eigen::VectorXd z = csv.Numbers("z");
  const Eigen::VectorXd d = csv.Numbers("d");
  std::vector<std::string> arms;
  for (Eigen::Index i = 0; i < z.size(); ++i) arms.push_back(z[i] == 1 ? "treatment" : "control");
  MemoryTrialData data =
      FixtureTrial(csv, {"control", "treatment"}, arms, std::vector<std::string>(csv.rows(), "LA1"));
  for (Eigen::Index i = 0; i < d.size(); ++i) {
    if (d[i] == 1) {
      data.engagement.push_back({absl::StrFormat("p%04d", i), "video",
                                 EngagementEvent::Kind::kOpened, absl::UnixEpoch()});
    }
  }
  v1::AnalysisPlan plan = PlanWithX1(/*site_fixed_effects=*/false);
  plan.set_takeup_campaign("video");
  const v1::AnalyseResponse result = Analyse(std::move(data), plan);
  ASSERT_EQ(result.outcomes_size(), 1);
  const v1::OutcomeResult& o = result.outcomes(0);
  ASSERT_TRUE(o.has_cace()) << o.DebugString();
  const nlohmann::json& iv = Expected("iv_HC2");
  ExpectEffect(o.cace().effect(), iv, 1);  // the term "d"
  EXPECT_TRUE(Near(o.cace().first_stage_f(), Num(iv["first_stage_f"]), 1e-8));
  EXPECT_EQ(o.joint_df1(), 0);  // two arms: no joint test
}

}  // namespace
}  // namespace fieldwork::analysis
