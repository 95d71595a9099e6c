// RunPlan's plan weights, Hedges' g, mean imputation with missingness indicators and the
// inverse-probability-of-response robustness analysis against R (weights_trial.csv and the
// weights_* / impute_* cases of make_fixtures.R), and the refusals of unusable weights at
// ValidatePlan, RegisterPlan (nothing stored) and Analyse; the export's weights column and
// codebook.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "services/analysis/analyser.h"
#include "services/analysis/export.h"
#include "services/analysis/join.h"
#include "services/analysis/memory_sources.h"
#include "services/analysis/plan_registry.h"
#include "services/analysis/plan_validation.h"
#include "services/common/clock.h"
#include "tests/unit/analysis/fixtures.h"
#include "tests/unit/analysis/test_trials.h"

namespace fieldwork::analysis {
namespace {

namespace v1 = ::fieldwork::v1;
using fixtures::Csv;
using fixtures::Expected;
using fixtures::Near;
using fixtures::Num;
using ::testing::HasSubstr;

// The design of weights_trial.csv: factor "arm" (control, treatment), numeric x1, x2 and w,
// categorical g3 (levels a, b, c).
v1::Trial WeightsTrial() {
  v1::Trial trial = testing::MakeTrial("wt");
  v1::TrialDesign& design = *trial.mutable_design();
  design.clear_covariates();
  for (const char* name : {"x1", "x2", "w"}) {
    v1::Covariate& c = *design.add_covariates();
    c.set_name(name);
    c.set_kind(v1::Covariate::KIND_NUMERIC);
  }
  v1::Covariate& g3 = *design.add_covariates();
  g3.set_name("g3");
  g3.set_kind(v1::Covariate::KIND_CATEGORICAL);
  for (const char* level : {"a", "b", "c"}) g3.add_levels(level);
  return trial;
}

// One participant per row (ids in row order); "NA" cells leave the covariate out; a response
// with scale wellbeing = y for respondents.
MemoryTrialData FixtureTrial() {
  const Csv csv = Csv::Read("weights_trial.csv");
  MemoryTrialData data;
  data.trial = WeightsTrial();
  testing::AddWave(data, "endline");
  const std::vector<std::string>& arms = csv.Strings("arm");
  const std::vector<std::string>& g3 = csv.Strings("g3");
  const Eigen::VectorXd x1 = csv.Numbers("x1");
  const Eigen::VectorXd x2 = csv.Numbers("x2");
  const Eigen::VectorXd w = csv.Numbers("w");
  const Eigen::VectorXd y = csv.Numbers("y");
  for (size_t i = 0; i < csv.rows(); ++i) {
    const auto k = static_cast<Eigen::Index>(i);
    const std::string id = absl::StrFormat("p%04d", i);
    v1::ParticipantStatus& status = testing::AddParticipant(data, id, "LA1", arms[i]);
    auto& covariates = *status.mutable_participant()->mutable_covariates();
    covariates.clear();
    covariates["x1"].set_number(x1[k]);
    covariates["w"].set_number(w[k]);
    if (std::isfinite(x2[k])) covariates["x2"].set_number(x2[k]);
    if (g3[i] != "NA") covariates["g3"].set_category(g3[i]);
    if (std::isfinite(y[k])) testing::AddResponse(data, id, "endline", "wellbeing", y[k]);
  }
  return data;
}

v1::PlanRecord Locked(v1::AnalysisPlan plan) {
  plan.set_factor("arm");
  plan.set_alpha(0.05);
  v1::PlanRecord record;
  *record.mutable_plan() = std::move(plan);
  record.set_state(v1::PLAN_STATE_LOCKED);
  return record;
}

absl::StatusOr<v1::AnalyseResponse> RunWeightsPlan(MemoryTrialData data, const v1::AnalysisPlan& plan) {
  MemorySources sources;
  sources.trials()["wt"] = std::move(data);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sources.AsSources(), "wt");
  if (!joined.ok()) return joined.status();
  return RunPlan(Locked(plan), *joined, absl::Now());
}

v1::AnalysisPlan Plan(const std::vector<std::string>& covariates, const std::string& weights) {
  v1::AnalysisPlan plan = testing::MakePlan("wt");
  for (const std::string& c : covariates) plan.add_covariates(c);
  plan.set_weights(weights);
  return plan;
}

// The treatment effect against an estimatr table's "armtreatment" term (index 1).
void ExpectEffect(const v1::Effect& e, const nlohmann::json& table) {
  EXPECT_EQ(e.arm(), "treatment");
  EXPECT_TRUE(Near(e.effect().estimate(), Num(table["estimate"][1]), 1e-8));
  EXPECT_TRUE(Near(e.effect().std_error(), Num(table["std_error"][1]), 1e-8));
  EXPECT_TRUE(Near(e.effect().df(), Num(table["df"][1]), 1e-6));
  EXPECT_TRUE(Near(e.effect().p_value(), Num(table["p_value"][1]), 1e-6));
  EXPECT_TRUE(Near(e.effect().conf_low(), Num(table["conf_low"][1]), 1e-8));
  EXPECT_TRUE(Near(e.effect().conf_high(), Num(table["conf_high"][1]), 1e-8));
}

void ExpectG(const v1::Effect& e, const nlohmann::json& g) {
  ASSERT_TRUE(e.has_standardised());
  const v1::StandardisedEffect& s = e.standardised();
  EXPECT_TRUE(Near(s.g(), Num(g["g"]), 1e-8));
  EXPECT_TRUE(Near(s.std_error(), Num(g["std_error"]), 1e-8));
  EXPECT_TRUE(Near(s.conf_low(), Num(g["conf_low"]), 1e-8));
  EXPECT_TRUE(Near(s.conf_high(), Num(g["conf_high"]), 1e-8));
  EXPECT_TRUE(Near(s.pooled_sd(), Num(g["pooled_sd"]), 1e-12));
  EXPECT_TRUE(Near(s.correction(), Num(g["correction"]), 1e-12));
}

// lm_robust(y ~ arm + x1, weights = w) among respondents, its Hedges' g, and the robustness
// analysis: glm(responded ~ arm + x1) over everyone, then lm_robust(weights = w / p-hat).
TEST(AnalyserWeightsTest, WeightedEffectGAndIpwRobustnessMatchR) {
  absl::StatusOr<v1::AnalyseResponse> result = RunWeightsPlan(FixtureTrial(), Plan({"x1"}, "w"));
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcomes_size(), 1);
  const v1::OutcomeResult& o = result->outcomes(0);
  const nlohmann::json& main = Expected("weights_main_HC2");
  EXPECT_EQ(o.n(), static_cast<int64_t>(Num(main["nobs"])));
  ASSERT_EQ(o.effects_size(), 1);
  ExpectEffect(o.effects(0), main);
  ExpectG(o.effects(0), Expected("weights_main_g"));
  EXPECT_EQ(o.imputations_size(), 0);  // x1 is complete

  ASSERT_TRUE(o.has_ipw()) << o.DebugString();
  const v1::InverseProbabilityWeighting& ipw = o.ipw();
  EXPECT_EQ(ipw.n(), o.n());
  EXPECT_THAT(std::vector<std::string>(ipw.response_model_terms().begin(),
                                       ipw.response_model_terms().end()),
              ::testing::ElementsAre("(Intercept)", "armtreatment", "x1"));
  ASSERT_EQ(ipw.effects_size(), 1);
  ExpectEffect(ipw.effects(0), Expected("weights_ipw_HC2"));
  ExpectG(ipw.effects(0), Expected("weights_ipw_g"));
  EXPECT_TRUE(Near(ipw.min_weight(), Num(Expected("weights_ipw_range")["min"]), 1e-10));
  EXPECT_TRUE(Near(ipw.max_weight(), Num(Expected("weights_ipw_range")["max"]), 1e-10));
}

// Covariates x1, x2 (40 missing) and g3 (30 missing): each set to the respondents' mean (g3's
// dummies to their shares) with an indicator per covariate, as done by hand in R; the robustness
// analysis imputes the response model's covariates over everyone.
TEST(AnalyserWeightsTest, MeanImputationWithIndicatorsAndIpwMatchR) {
  absl::StatusOr<v1::AnalyseResponse> result = RunWeightsPlan(FixtureTrial(), Plan({"x1", "x2", "g3"}, ""));
  ASSERT_TRUE(result.ok()) << result.status();
  const v1::OutcomeResult& o = result->outcomes(0);
  ASSERT_EQ(o.effects_size(), 1);
  ExpectEffect(o.effects(0), Expected("impute_main_HC2"));
  ExpectG(o.effects(0), Expected("impute_main_g"));

  const nlohmann::json& counts = Expected("impute_counts");
  ASSERT_EQ(o.imputations_size(), 2);
  EXPECT_EQ(o.imputations(0).covariate(), "x2");
  EXPECT_EQ(o.imputations(0).indicator(), "x2_missing");
  EXPECT_EQ(o.imputations(0).missing(), static_cast<int64_t>(Num(counts["x2_missing"])));
  EXPECT_TRUE(Near(o.imputations(0).fill_value(), Num(counts["x2_mean"]), 1e-12));
  EXPECT_FALSE(o.imputations(0).categorical());
  EXPECT_EQ(o.imputations(1).covariate(), "g3");
  EXPECT_EQ(o.imputations(1).indicator(), "g3_missing");
  EXPECT_EQ(o.imputations(1).missing(), static_cast<int64_t>(Num(counts["g3_missing"])));
  EXPECT_TRUE(o.imputations(1).categorical());

  ASSERT_TRUE(o.has_ipw());
  ASSERT_EQ(o.ipw().effects_size(), 1);
  ExpectEffect(o.ipw().effects(0), Expected("impute_ipw_HC2"));
  ExpectG(o.ipw().effects(0), Expected("impute_ipw_g"));
}

// Everybody responded: no robustness analysis (there is no non-response to weight for).
TEST(AnalyserWeightsTest, NoIpwWhenEveryoneResponded) {
  MemoryTrialData data;
  data.trial = WeightsTrial();
  testing::AddWave(data, "endline");
  for (int i = 0; i < 8; ++i) {
    const std::string id = absl::StrFormat("p%d", i);
    v1::ParticipantStatus& status =
        testing::AddParticipant(data, id, "LA1", i % 2 == 0 ? "control" : "treatment");
    (*status.mutable_participant()->mutable_covariates())["x1"].set_number(i * 0.5);
    testing::AddResponse(data, id, "endline", "wellbeing", i + (i % 3));
  }
  absl::StatusOr<v1::AnalyseResponse> result = RunWeightsPlan(std::move(data), Plan({"x1"}, ""));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->outcomes(0).has_ipw());
  EXPECT_TRUE(result->outcomes(0).effects(0).has_standardised());
}

// Analyse refuses a weight that is missing, zero, negative or not a number for an analysed
// participant, naming every one and the column; withdrawn participants are not analysed.
TEST(AnalyserWeightsTest, UnusableWeightsAreRefusedNamingEachParticipant) {
  MemoryTrialData data = FixtureTrial();
  auto covariates = [&](size_t i) -> auto& {
    return *data.participants[i].mutable_participant()->mutable_covariates();
  };
  covariates(3).erase("w");
  covariates(7)["w"].set_number(0);
  covariates(11)["w"].set_number(-2.5);
  covariates(12)["w"].set_category("heavy");
  covariates(20)["w"].set_number(-1);
  testing::Withdraw(data.participants[20]);
  absl::StatusOr<v1::AnalyseResponse> result = RunWeightsPlan(std::move(data), Plan({"x1"}, "w"));
  ASSERT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition) << result.status();
  const std::string message(result.status().message());
  EXPECT_THAT(message, HasSubstr("plan.weights: covariate \"w\" cannot weight 4 participant(s)"));
  EXPECT_THAT(message, HasSubstr("participant \"p0003\": w is missing"));
  EXPECT_THAT(message, HasSubstr("participant \"p0007\": w is 0, not a finite number > 0"));
  EXPECT_THAT(message, HasSubstr("participant \"p0011\": w is -2.5, not a finite number > 0"));
  EXPECT_THAT(message, HasSubstr("participant \"p0012\": w is \"heavy\", not a number"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("p0020")));
}

TEST(AnalyserWeightsTest, ValidatePlanRefusesAWeightsColumnThatIsNotANumericCovariate) {
  const v1::Trial trial = WeightsTrial();
  v1::AnalysisPlan plan = Plan({}, "sampling_weight");
  NormalisePlan(trial, plan);
  absl::Status unknown = ValidatePlan(trial, plan);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.message(),
              HasSubstr("plan.weights: \"sampling_weight\" is not a numeric covariate of the "
                        "trial's design"));
  plan.set_weights("g3");
  EXPECT_THAT(ValidatePlan(trial, plan).message(), HasSubstr("plan.weights: \"g3\""));
  plan.set_weights("w");
  EXPECT_TRUE(ValidatePlan(trial, plan).ok());
}

// The export carries the weights column, and its codebook says how each outcome's effects are
// reported (SE and its df, Hedges' g, the weights) and how missing covariates are handled.
TEST(ExportWeightsTest, WeightsColumnAndTheCodebookSaysHowEffectsAreReported) {
  MemorySources sources;
  MemoryTrialData& data = sources.trials()["t1"];
  data.trial = testing::MakeTrial("t1");
  testing::AddWave(data, "endline");
  testing::AddParticipant(data, "a", "LA1", "control", 41.5, "senior");
  testing::AddResponse(data, "a", "endline", "wellbeing", 0.1);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok());
  v1::AnalysisPlan plan = testing::MakePlan("t1");
  plan.set_factor("arm");
  plan.add_covariates("grade");
  plan.set_weights("age");
  const Dataset dataset = BuildDataset(plan, *joined);
  EXPECT_EQ(dataset.header,
            "participant_id,site,cohort,cluster,arm,withdrawn,left,grade,age,wellbeing,"
            "responded_endline\n");
  ASSERT_EQ(dataset.lines.size(), 1u);
  EXPECT_EQ(dataset.lines[0], "a,LA1,,team-LA1,control,0,0,senior,41.5,0.1,1\n");
  ASSERT_EQ(dataset.codebook.size(), 11u);
  EXPECT_THAT(dataset.codebook[7].description(), HasSubstr("adds the indicator grade_missing"));
  EXPECT_THAT(dataset.codebook[8].description(), HasSubstr("analysis weight from enrolment"));
  EXPECT_THAT(dataset.codebook[9].description(),
              HasSubstr("each arm's effect against control with its SE (HC2), degrees of "
                        "freedom (n - rank), CI and p, and Hedges' g"));
  EXPECT_THAT(dataset.codebook[9].description(), HasSubstr("weighted by age"));
  plan.set_estimator(v1::ESTIMATOR_CLUSTERED);
  plan.clear_weights();
  const Dataset clustered = BuildDataset(plan, *joined);
  EXPECT_THAT(clustered.codebook[8].description(),
              HasSubstr("SE (CR2 by cluster), degrees of freedom (Bell-McCaffrey)"));
}

class WeightsRegistryTest : public ::testing::Test {
 protected:
  WeightsRegistryTest()
      : clock_(absl::FromUnixSeconds(1'600'000'000)), registry_(store_, sources_, clock_) {
    sources_.trials()["wt"] = FixtureTrial();
  }
  MemoryPlanStore store_;
  MemorySources sources_;
  ManualClock clock_;
  PlanRegistry registry_;
};

// An enrolled participant's unusable weight refuses the plan, and nothing is stored; once the
// weight is fixed the same plan registers.
TEST_F(WeightsRegistryTest, RegisterPlanRefusesUnusableEnrolledWeightsAndStoresNothing) {
  auto& covariates =
      *sources_.trials()["wt"].participants[5].mutable_participant()->mutable_covariates();
  covariates["w"].set_number(0);
  absl::StatusOr<RegisterResult> refused = registry_.Register("alice", Plan({"x1"}, "w"), "");
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  EXPECT_THAT(refused.status().message(),
              HasSubstr("participant \"p0005\": w is 0, not a finite number > 0"));
  EXPECT_EQ(registry_.Get("wt", "main").status().code(), absl::StatusCode::kNotFound);

  covariates["w"].set_number(1.5);
  absl::StatusOr<RegisterResult> registered = registry_.Register("alice", Plan({"x1"}, "w"), "");
  ASSERT_TRUE(registered.ok()) << registered.status();
  EXPECT_EQ(registered->record.plan().weights(), "w");
}

// The plan's hash covers the weights, and a plan without them hashes as before the field
// existed: the expected value is SHA-256 of MakePlan("t1")'s normalised encoding written out by
// hand (trial_id, plan_id, factor, control_arm, the outcome, alpha), not by this code.
TEST(PlanHashTest, WeightsChangeTheHashAndAPlanWithoutThemKeepsItsOldHash) {
  v1::Trial trial = testing::MakeTrial("t1");
  v1::AnalysisPlan plan = testing::MakePlan("t1");
  NormalisePlan(trial, plan);
  EXPECT_EQ(PlanSha256(plan), "169ad13091cf4fe80ce89e82e4cb00768908c884ceeb56b62b76a9af110139b2");
  v1::AnalysisPlan weighted = plan;
  weighted.set_weights("age");
  EXPECT_NE(PlanSha256(weighted), PlanSha256(plan));
  EXPECT_THAT(ChangedFields(plan, weighted), ::testing::ElementsAre("weights"));
}

}  // namespace
}  // namespace fieldwork::analysis
