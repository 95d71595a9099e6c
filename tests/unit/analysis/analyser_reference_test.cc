// RunPlan against R: the committed fixtures (tests/fixtures/analysis, made by make_fixtures.R)
// loaded as a trial through the in-memory sources and analysed under a plan, so what the service
// puts in AnalyseResponse — each effect's SE and df, the joint Wald F with df1 and df2, the
// take-up effect with its first-stage F — is checked against estimatr, car and iv_robust, not
// only what the statistics library computes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/analysis/analyser.h"
#include "services/analysis/join.h"
#include "services/analysis/memory_sources.h"
#include "services/analysis/plan_validation.h"
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


// The CV experiment in long format (cv_long.csv: 300 participants x 10 decisions) as a trial:
// factor "condition" (control, training), each participant's ten ratings stored as decisions of
// block "cv" in wave "experiment" with the candidate's ethnicity as an attribute, and two
// decisions the model must leave out (one unanswered, one without the attribute).
MemoryTrialData CvTrial() {
  const Csv csv = Csv::Read("cv_long.csv");
  MemoryTrialData data;
  data.trial = testing::MakeTrial("cv");
  data.trial.mutable_design()->mutable_factors(0)->set_name("condition");
  data.trial.mutable_design()->mutable_factors(0)->mutable_arms(1)->set_name("training");
  testing::AddWave(data, "experiment");
  const Eigen::VectorXd rating = csv.Numbers("rating");
  const std::vector<std::int64_t> participant = csv.Integers("participant");
  const std::vector<std::string>& condition = csv.Strings("condition");
  const std::vector<std::string>& ethnicity = csv.Strings("ethnicity");
  v1::Response* response = nullptr;
  for (size_t i = 0; i < csv.rows(); ++i) {
    const std::string id = absl::StrFormat("p%04d", participant[i]);
    if (i == 0 || participant[i] != participant[i - 1]) {
      testing::AddParticipant(data, id, "LA1", condition[i]);
      data.allocations.back().mutable_assignments(0)->set_factor("condition");
      response = &data.responses.emplace_back();
      response->set_trial_id("cv");
      response->set_wave_id("experiment");
      response->set_participant_id(id);
      response->set_counted(true);
    }
    v1::Decision& d = *response->add_decisions();
    d.set_block("cv");
    d.set_index(response->decisions_size());
    d.set_item_id(absl::StrFormat("rate_cv%02d", d.index()));
    d.set_value(absl::StrFormat("%.4f", rating[static_cast<Eigen::Index>(i)]));
    (*d.mutable_attributes())["ethnicity"] = ethnicity[i];
  }
  v1::Decision& unanswered = *response->add_decisions();
  unanswered.set_block("cv");
  (*unanswered.mutable_attributes())["ethnicity"] = "minority";
  v1::Decision& unlabelled = *response->add_decisions();
  unlabelled.set_block("cv");
  unlabelled.set_value("3");
  return data;
}

void ExpectInference(const v1::Inference& got, const nlohmann::json& want) {
  EXPECT_TRUE(Near(got.estimate(), Num(want["estimate"]), 1e-8));
  EXPECT_TRUE(Near(got.std_error(), Num(want["std_error"]), 1e-8));
  EXPECT_TRUE(Near(got.df(), Num(want["df"]), 1e-6));
}

TEST(AnalyserReferenceTest, LongFormatInteractionClusteredByParticipant) {
  MemoryTrialData data = CvTrial();
  v1::PlanRecord record;
  v1::AnalysisPlan& plan = *record.mutable_plan();
  plan.set_trial_id("cv");
  plan.set_factor("condition");
  plan.set_control_arm("control");
  plan.set_alpha(0.05);
  plan.set_estimator(v1::ESTIMATOR_LONG_INTERACTION);
  plan.mutable_interaction()->set_attribute("ethnicity");
  plan.mutable_interaction()->set_reference_level("majority");
  v1::PlannedOutcome& outcome = *plan.add_outcomes();
  outcome.set_name("rating");
  outcome.mutable_source()->mutable_decisions()->set_wave_id("experiment");
  outcome.mutable_source()->mutable_decisions()->set_block("cv");
  record.set_state(v1::PLAN_STATE_LOCKED);
  MemorySources sources;
  sources.trials()["cv"] = std::move(data);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sources.AsSources(), "cv");
  ASSERT_TRUE(joined.ok()) << joined.status();
  absl::StatusOr<v1::AnalyseResponse> r = RunPlan(record, *joined, absl::UnixEpoch());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outcomes_size(), 1);
  const v1::OutcomeResult& o = r->outcomes(0);
  const v1::LongInteractionResult& x = o.interaction();
  // n counts decisions, clusters participants; the two unusable decisions are said.
  EXPECT_EQ(o.n(), 3000);
  EXPECT_EQ(x.decisions(), 3000);
  EXPECT_EQ(x.clusters(), 300);
  EXPECT_EQ(o.se_type(), "CR2");
  ASSERT_EQ(o.arms_size(), 2);
  EXPECT_EQ(o.arms(0).arm(), "control");
  EXPECT_EQ(o.arms(0).n() + o.arms(1).n(), 3000);
  EXPECT_EQ(o.arms(0).randomised() + o.arms(1).randomised(), 300);
  EXPECT_EQ(o.attrition().overall_rate(), 1.0);
  std::vector<std::string> warnings(o.warnings().begin(), o.warnings().end());
  EXPECT_NE(std::find(warnings.begin(), warnings.end(), "1 unanswered decision(s) left out"),
            warnings.end());
  EXPECT_NE(std::find(warnings.begin(), warnings.end(),
                      "1 decision(s) without the attribute \"ethnicity\" left out"),
            warnings.end());

  // The coefficients as estimatr's lm_robust(rating ~ ethnicity * condition, clusters =
  // participant), by name and value.
  const nlohmann::json& table = Expected("cv_long_CR2");
  ASSERT_EQ(x.terms_size(), 4);
  for (int j = 0; j < 4; ++j) {
    SCOPED_TRACE(x.terms(j));
    EXPECT_EQ(x.terms(j), table["term"][static_cast<size_t>(j)].get<std::string>());
    const v1::Inference& c = x.coefficients(j);
    EXPECT_TRUE(Near(c.estimate(), fixtures::Nums(table["estimate"])[static_cast<size_t>(j)], 1e-8));
    EXPECT_TRUE(Near(c.std_error(), fixtures::Nums(table["std_error"])[static_cast<size_t>(j)], 1e-8));
    EXPECT_TRUE(Near(c.df(), fixtures::Nums(table["df"])[static_cast<size_t>(j)], 1e-6));
    EXPECT_TRUE(Near(c.p_value(), fixtures::Nums(table["p_value"])[static_cast<size_t>(j)], 1e-6));
  }
  // The contrasts the report prints, against clubSandwich's linear_contrast.
  const nlohmann::json& k = Expected("cv_long_contrasts");
  ASSERT_EQ(x.arm_effects_size(), 2);
  EXPECT_EQ(x.arm_effects(0).arm(), "training");
  EXPECT_EQ(x.arm_effects(0).versus_arm(), "control");
  EXPECT_EQ(x.arm_effects(0).level(), "majority");
  ExpectInference(x.arm_effects(0).inference(), k["training_among_majority"]);
  EXPECT_EQ(x.arm_effects(1).level(), "minority");
  ExpectInference(x.arm_effects(1).inference(), k["training_among_minority"]);
  ASSERT_EQ(x.level_effects_size(), 2);
  EXPECT_EQ(x.level_effects(0).level(), "minority");
  EXPECT_EQ(x.level_effects(0).versus_level(), "majority");
  EXPECT_EQ(x.level_effects(0).arm(), "control");
  ExpectInference(x.level_effects(0).inference(), k["minority_in_control"]);
  ExpectInference(x.level_effects(1).inference(), k["minority_in_training"]);
  ASSERT_EQ(x.cells_size(), 4);
  const std::vector<std::string> cells = {"cell_majority_control", "cell_minority_control",
                                          "cell_majority_training", "cell_minority_training"};
  int64_t decisions = 0;
  for (int c = 0; c < 4; ++c) {
    SCOPED_TRACE(cells[static_cast<size_t>(c)]);
    EXPECT_EQ(absl::StrCat("cell_", x.cells(c).level(), "_", x.cells(c).arm()), cells[static_cast<size_t>(c)]);
    ExpectInference(x.cells(c).inference(), k[cells[static_cast<size_t>(c)]]);
    decisions += x.cells(c).n();
  }
  EXPECT_EQ(decisions, 3000);
  // One interaction term: F(1, J - 1) is its t squared.
  EXPECT_EQ(x.interaction_df1(), 1);
  EXPECT_EQ(x.interaction_df2(), 299.0);
  const double t = fixtures::Nums(table["statistic"])[3];
  EXPECT_TRUE(Near(x.interaction_f(), t * t, 1e-8));
  // No per-participant effects for a long-format outcome; nothing for the multiple-testing family.
  EXPECT_EQ(o.effects_size(), 0);
}


// The long-format interaction's plan: its parts must be there, and what is not defined for it
// (per-participant extras, a per-participant outcome) is refused, every problem named.
TEST(AnalyserReferenceTest, LongFormatPlansAreValidatedFieldByField) {
  const v1::Trial trial = CvTrial().trial;
  v1::AnalysisPlan plan;
  plan.set_trial_id("cv");
  plan.set_factor("condition");
  plan.set_control_arm("control");
  plan.set_estimator(v1::ESTIMATOR_LONG_INTERACTION);
  plan.set_se_type(v1::SE_TYPE_HC2);
  plan.set_site_fixed_effects(true);
  plan.set_randomisation_inference_draws(100);
  plan.add_outcomes()->set_name("rating");
  plan.mutable_outcomes(0)->mutable_source()->mutable_decisions()->set_wave_id("experiment");
  v1::PlannedOutcome& score = *plan.add_outcomes();
  score.set_name("score");
  score.mutable_source()->mutable_survey()->set_wave_id("experiment");
  score.mutable_source()->mutable_survey()->set_score_id("s");
  NormalisePlan(trial, plan);
  const absl::Status refused = ValidatePlan(trial, plan);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  for (const char* problem :
       {"plan.outcomes[0].source.decisions.block: required",
        "plan.outcomes[1].source: the long-format interaction analyses decisions (source.decisions)",
        "plan.se_type: the long-format interaction estimator needs CR0, CR1 or CR2",
        "plan.interaction.attribute: required", "plan.interaction.reference_level: required",
        "plan.site_fixed_effects: not available with the long-format interaction",
        "plan.randomisation_inference_draws: not available with the long-format interaction"}) {
    EXPECT_THAT(std::string(refused.message()), ::testing::HasSubstr(problem));
  }
  // Decisions with another estimator, and an interaction without the long format.
  v1::AnalysisPlan itt = testing::MakePlan("cv");
  itt.set_factor("condition");
  *itt.mutable_outcomes(0)->mutable_source() = plan.outcomes(0).source();
  itt.mutable_outcomes(0)->mutable_source()->mutable_decisions()->set_block("cv");
  itt.mutable_interaction()->set_attribute("ethnicity");
  NormalisePlan(trial, itt);
  EXPECT_THAT(std::string(ValidatePlan(trial, itt).message()),
              ::testing::AllOf(
                  ::testing::HasSubstr("plan.outcomes[0].source: decisions are analysed only by ESTIMATOR_LONG_INTERACTION"),
                  ::testing::HasSubstr("plan.interaction: only with ESTIMATOR_LONG_INTERACTION")));
}

}  // namespace
}  // namespace fieldwork::analysis
