// RunPlan on simulated two-arm data: the estimate and its HC2 SE against the difference in
// means and Welch's SE computed here, who is analysed, attrition, Holm-adjusted p-values,
// MDES, the take-up effect and the warnings for unlocked or deviated plans; and the join and
// the CSV export the analysis uses.
#include "services/analysis/analyser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>

#include "services/analysis/export.h"
#include "services/analysis/join.h"
#include "services/analysis/memory_sources.h"
#include "services/analysis/redraw.h"
#include "tests/unit/analysis/test_trials.h"

namespace fieldwork::analysis {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;
using testing::LockedRecord;

struct Simulated {
  MemorySources sources;
  // Respondents' outcomes by arm, as simulated.
  std::vector<double> control, treatment;
};

// n participants alternating between arms; outcome N(0, 1) + effect for the treated; every
// third control and every fifth treated participant does not respond; p0 withdrawn, p1 left.
std::unique_ptr<Simulated> Simulate(int n, double effect) {
  auto sim = std::make_unique<Simulated>();
  MemoryTrialData& data = sim->sources.trials()["t1"];
  data.trial = testing::MakeTrial("t1");
  testing::AddWave(data, "endline");
  std::mt19937_64 generator(20210104);
  std::normal_distribution<double> normal(0, 1);
  for (int i = 0; i < n; ++i) {
    const bool treated = i % 2 == 1;
    const std::string id = absl::StrCat("p", i);
    v1::ParticipantStatus& status = testing::AddParticipant(
        data, id, i % 4 < 2 ? "LA1" : "LA2", treated ? "treatment" : "control", 30 + i % 20);
    status.mutable_participant()->set_cluster(absl::StrCat("team", i / 8));
    if (i == 0) testing::Withdraw(status);
    if (i == 1) testing::Leave(status);
    const double y = normal(generator) + (treated ? effect : 0);
    const bool responds = treated ? i % 5 != 0 : i % 3 != 0;
    if (!responds) continue;
    v1::Score& burnout = *testing::AddResponse(data, id, "endline", "wellbeing", y,
                                               absl::UnixEpoch() + absl::Hours(24 * (i % 20) + 1))
                              .add_scales();
    burnout.set_id("burnout");
    burnout.set_present(true);
    burnout.set_value(-y + normal(generator));
    if (i == 0) continue;  // withdrawn: not analysed
    (treated ? sim->treatment : sim->control).push_back(y);
  }
  return sim;
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}
double Variance(const std::vector<double>& v) {
  const double m = Mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size() - 1);
}

TEST(AnalyserTest, EstimateIsTheDifferenceInMeansWithWelchSeAndCoversTheTruth) {
  auto sim = Simulate(2000, 0.3);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sim->sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok());
  absl::StatusOr<v1::AnalyseResponse> result =
      RunPlan(LockedRecord(testing::MakePlan("t1")), *joined, absl::Now());
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->outcomes_size(), 1);
  const v1::OutcomeResult& o = result->outcomes(0);
  EXPECT_EQ(o.n(), static_cast<int64_t>(sim->control.size() + sim->treatment.size()));
  ASSERT_EQ(o.effects_size(), 1);
  const v1::Inference& e = o.effects(0).effect();
  EXPECT_NEAR(e.estimate(), Mean(sim->treatment) - Mean(sim->control), 1e-10);
  // HC2 SE of a difference in means is Welch's.
  const double welch =
      std::sqrt(Variance(sim->treatment) / static_cast<double>(sim->treatment.size()) +
                Variance(sim->control) / static_cast<double>(sim->control.size()));
  EXPECT_NEAR(e.std_error(), welch, 1e-10);
  EXPECT_LT(e.conf_low(), 0.3);
  EXPECT_GT(e.conf_high(), 0.3);
  EXPECT_EQ(o.se_type(), "HC2");
  ASSERT_EQ(o.arms_size(), 2);
  EXPECT_EQ(o.arms(0).arm(), "control");
  EXPECT_NEAR(o.arms(0).adjusted_mean().estimate(), Mean(sim->control), 1e-10);
  EXPECT_EQ(o.arms(1).n(), static_cast<int64_t>(sim->treatment.size()));
}

TEST(AnalyserTest, WithdrawnAreExcludedLeaversKeptAndAttritionReported) {
  auto sim = Simulate(300, 0.3);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sim->sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok());
  absl::StatusOr<v1::AnalyseResponse> result =
      RunPlan(LockedRecord(testing::MakePlan("t1")), *joined, absl::Now());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->allocated(), 300);
  EXPECT_EQ(result->withdrawn(), 1);
  EXPECT_EQ(result->leavers(), 1);
  const v1::Attrition& a = result->outcomes(0).attrition();
  ASSERT_EQ(a.arms_size(), 2);
  EXPECT_EQ(a.arms(0).randomised(), 149);  // 150 control, p0 withdrawn
  EXPECT_EQ(a.arms(0).responded(), static_cast<int64_t>(sim->control.size()));
  EXPECT_EQ(a.arms(1).randomised(), 150);
  EXPECT_EQ(a.arms(1).responded(), static_cast<int64_t>(sim->treatment.size()));
  const double rate0 = static_cast<double>(sim->control.size()) / 149.0;
  const double rate1 = static_cast<double>(sim->treatment.size()) / 150.0;
  EXPECT_NEAR(a.differential_points(), 100 * (rate1 - rate0), 1e-10);
  EXPECT_TRUE(a.lee_computed());
  EXPECT_LE(a.lee_lower(), a.lee_upper());
}

TEST(AnalyserTest, HolmAdjustsThePrimaryOutcomesTogether) {
  auto sim = Simulate(400, 0.2);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sim->sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok());
  v1::AnalysisPlan plan = testing::MakePlan("t1");
  v1::PlannedOutcome& burnout = *plan.add_outcomes();
  burnout.set_name("burnout");
  burnout.set_primary(true);
  burnout.mutable_source()->mutable_survey()->set_wave_id("endline");
  burnout.mutable_source()->mutable_survey()->set_score_id("burnout");
  absl::StatusOr<v1::AnalyseResponse> result = RunPlan(LockedRecord(plan), *joined, absl::Now());
  ASSERT_TRUE(result.ok()) << result.status();
  const double p1 = result->outcomes(0).effects(0).effect().p_value();
  const double p2 = result->outcomes(1).effects(0).effect().p_value();
  const double low = std::min(p1, p2), high = std::max(p1, p2);
  const double adj_low = std::min(1.0, 2 * low);
  const double adj_high = std::max(adj_low, std::min(1.0, high));
  EXPECT_DOUBLE_EQ(result->outcomes(0).effects(0).adjusted_p_value(), p1 < p2 ? adj_low : adj_high);
  EXPECT_DOUBLE_EQ(result->outcomes(1).effects(0).adjusted_p_value(), p1 < p2 ? adj_high : adj_low);
}

TEST(AnalyserTest, MdesLedgerAndTakeUpEffect) {
  auto sim = Simulate(600, 0.3);
  MemoryTrialData& data = sim->sources.trials()["t1"];
  for (int i = 1; i < 600; i += 4)
    data.engagement.push_back(
        {absl::StrCat("p", i), "video", EngagementEvent::Kind::kOpened, absl::UnixEpoch()});
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sim->sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok());
  v1::AnalysisPlan plan = testing::MakePlan("t1");
  plan.set_takeup_campaign("video");
  v1::PowerAssumptions& power = *plan.mutable_power();
  power.set_n(600);
  power.set_treated_share(0.5);
  power.set_alpha(0.05);
  power.set_power(0.8);
  power.set_response_rate(0.9);
  absl::StatusOr<v1::AnalyseResponse> result = RunPlan(LockedRecord(plan), *joined, absl::Now());
  ASSERT_TRUE(result.ok()) << result.status();
  const v1::OutcomeResult& o = result->outcomes(0);
  IndividualDesign design;
  design.n = 600;
  design.response_rate = 0.9;
  EXPECT_DOUBLE_EQ(o.mdes().planned(), PlannedMdes(design)->mdes);
  const double achieved = PowerUpMultiplier(o.effects(0).effect().df(), {}) *
                          o.effects(0).effect().std_error() / std::sqrt(Variance(sim->control));
  EXPECT_NEAR(o.mdes().achieved(), achieved, 1e-10);
  EXPECT_NEAR(o.mdes().actual_response_rate(), o.attrition().overall_rate(), 1e-12);
  EXPECT_FALSE(o.mdes().summary().empty());
  // Half the treated opened (every other odd id), nobody in control: CACE = ITT / 0.5 roughly.
  ASSERT_TRUE(o.has_cace());
  EXPECT_EQ(o.cace().takeup_rate_by_arm().at("treatment"), 0.5);
  EXPECT_EQ(o.cace().takeup_rate_by_arm().at("control"), 0.0);
  EXPECT_GT(o.cace().first_stage_f(), 10);
  EXPECT_GT(o.cace().effect().estimate(), o.effects(0).effect().estimate());
}

TEST(AnalyserTest, UnlockedAndDeviatedPlansAreFlagged) {
  auto sim = Simulate(100, 0.3);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sim->sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok());
  v1::PlanRecord record = LockedRecord(testing::MakePlan("t1"));
  record.set_state(v1::PLAN_STATE_DRAFT);
  record.add_deviations()->set_reason("late covariate");
  absl::StatusOr<v1::AnalyseResponse> result = RunPlan(record, *joined, absl::Now());
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(result->warnings(), ::testing::Contains(HasSubstr("not locked")));
  EXPECT_THAT(result->warnings(),
              ::testing::Contains(HasSubstr("changed 1 time(s) after locking")));
  EXPECT_EQ(result->plan().deviations(0).reason(), "late covariate");
}

// A small trial where everyone in both arms responded: the chi-square test of attrition is not
// run, and its warnings say so once, without the "attrition: " prefix twice and without a
// caveat about expected counts below 5 of a test that did not happen.
TEST(AnalyserTest, AttritionWarningsNameTheirPartOnce) {
  MemorySources sources;
  MemoryTrialData& data = sources.trials()["t1"];
  data.trial = testing::MakeTrial("t1");
  testing::AddWave(data, "endline");
  for (int i = 0; i < 8; ++i) {
    const std::string id = absl::StrCat("p", i);
    testing::AddParticipant(data, id, "LA1", i % 2 ? "treatment" : "control");
    testing::AddResponse(data, id, "endline", "wellbeing", i * 0.5 + (i % 3));
  }
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok());
  absl::StatusOr<v1::AnalyseResponse> result =
      RunPlan(LockedRecord(testing::MakePlan("t1")), *joined, absl::Now());
  ASSERT_TRUE(result.ok()) << result.status();
  const v1::OutcomeResult& o = result->outcomes(0);
  EXPECT_THAT(o.warnings(), ::testing::Contains("attrition: everyone responded; no test of "
                                                "differences"));
  for (const std::string& w : o.warnings()) {
    EXPECT_THAT(w, ::testing::Not(HasSubstr("attrition: attrition")));
    EXPECT_THAT(w, ::testing::Not(HasSubstr("expected count")));
  }
}

// The planned MDES comes from the power section alone, so it is in the ledger before anyone
// responds; without a power section the ledger still has the actual response rate.
TEST(AnalyserTest, MdesLedgerBeforeResponsesAndWithoutAPowerSection) {
  auto sim = Simulate(200, 0.3);
  MemoryTrialData& data = sim->sources.trials()["t1"];
  data.responses.clear();
  absl::StatusOr<JoinedTrial> nobody = LoadTrial(sim->sources.AsSources(), "t1");
  ASSERT_TRUE(nobody.ok());
  v1::AnalysisPlan plan = testing::MakePlan("t1");
  plan.mutable_power()->set_n(200);
  plan.mutable_power()->set_treated_share(0.5);
  plan.mutable_power()->set_alpha(0.05);
  plan.mutable_power()->set_power(0.8);
  plan.mutable_power()->set_response_rate(0.6);
  absl::StatusOr<v1::AnalyseResponse> before = RunPlan(LockedRecord(plan), *nobody, absl::Now());
  ASSERT_TRUE(before.ok()) << before.status();
  const v1::MdesLedger& ledger = before->outcomes(0).mdes();
  IndividualDesign design;
  design.n = 200;
  design.response_rate = 0.6;
  EXPECT_DOUBLE_EQ(ledger.planned(), PlannedMdes(design)->mdes);
  EXPECT_GT(ledger.planned(), 0);
  EXPECT_DOUBLE_EQ(ledger.planned_response_rate(), 0.6);
  EXPECT_EQ(ledger.actual_response_rate(), 0);
  EXPECT_EQ(ledger.achieved(), 0);  // not estimated yet

  auto responded = Simulate(200, 0.3);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(responded->sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok());
  absl::StatusOr<v1::AnalyseResponse> unplanned =
      RunPlan(LockedRecord(testing::MakePlan("t1")), *joined, absl::Now());
  ASSERT_TRUE(unplanned.ok()) << unplanned.status();
  const v1::OutcomeResult& o = unplanned->outcomes(0);
  EXPECT_GT(o.attrition().overall_rate(), 0.5);
  EXPECT_DOUBLE_EQ(o.mdes().actual_response_rate(), o.attrition().overall_rate());
  EXPECT_EQ(o.mdes().planned(), 0);
  EXPECT_GT(o.mdes().achieved(), 0);
}

// An assigned factor (a non-randomised pilot) has no randomisation to redraw: randomisation
// inference is refused, naming the factor, where it used to give p = 1 silently; without it the
// analysis runs and is flagged descriptive.
TEST(AnalyserTest, AssignedFactorIsDescriptiveAndRefusesRandomisationInference) {
  auto sim = Simulate(200, 0.3);
  MemoryTrialData& data = sim->sources.trials()["t1"];
  data.trial.mutable_design()->mutable_factors(0)->set_method(v1::RANDOMISATION_METHOD_ASSIGNED);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sim->sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok());
  v1::AnalysisPlan plan = testing::MakePlan("t1");
  absl::StatusOr<v1::AnalyseResponse> described = RunPlan(LockedRecord(plan), *joined, absl::Now());
  ASSERT_TRUE(described.ok()) << described.status();
  EXPECT_TRUE(described->descriptive());
  plan.set_randomisation_inference_draws(100);
  absl::StatusOr<v1::AnalyseResponse> refused = RunPlan(LockedRecord(plan), *joined, absl::Now());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("plan.randomisation_inference_draws: factor \"arm\" is assigned"));
  // A randomised factor: not descriptive.
  data.trial.mutable_design()->mutable_factors(0)->set_method(
      v1::RANDOMISATION_METHOD_COMPLETE_WITHIN_STRATA);
  absl::StatusOr<JoinedTrial> randomised = LoadTrial(sim->sources.AsSources(), "t1");
  ASSERT_TRUE(randomised.ok());
  plan.set_randomisation_inference_draws(0);
  absl::StatusOr<v1::AnalyseResponse> causal = RunPlan(LockedRecord(plan), *randomised, absl::Now());
  ASSERT_TRUE(causal.ok()) << causal.status();
  EXPECT_FALSE(causal->descriptive());
}

TEST(AnalyserTest, SubgroupsAndExploratoryTimeBins) {
  auto sim = Simulate(800, 0.3);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sim->sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok());
  v1::AnalysisPlan plan = testing::MakePlan("t1");
  v1::Subgroup& subgroup = *plan.add_subgroups();
  subgroup.set_name("by site");
  subgroup.set_variable("site");
  *plan.mutable_intervention_at() = testing::Ts(absl::UnixEpoch());
  for (double edge : {0.0, 10.0, 20.0}) plan.add_time_bin_edges_days(edge);
  absl::StatusOr<v1::AnalyseResponse> result = RunPlan(LockedRecord(plan), *joined, absl::Now());
  ASSERT_TRUE(result.ok()) << result.status();
  const v1::OutcomeResult& o = result->outcomes(0);
  ASSERT_EQ(o.subgroups_size(), 2);
  EXPECT_EQ(o.subgroups(0).level(), "LA1");
  EXPECT_EQ(o.subgroups(1).level(), "LA2");
  EXPECT_EQ(o.subgroups(0).n() + o.subgroups(1).n(), o.n());
  EXPECT_TRUE(o.subgroups(0).exploratory());
  ASSERT_EQ(o.subgroups(0).effects_size(), 1);
  ASSERT_EQ(o.time_bins_size(), 2);
  int64_t binned = 0;
  for (const v1::TimeBinResult& bin : o.time_bins()) {
    EXPECT_TRUE(bin.exploratory());
    EXPECT_TRUE(bin.post_treatment());
    EXPECT_THAT(bin.label(), HasSubstr("post-treatment"));
    EXPECT_TRUE(bin.estimated());
    binned += bin.n();
  }
  EXPECT_EQ(binned, o.n());
  EXPECT_EQ(o.time_bins(0).from_days(), 0);
  EXPECT_EQ(o.time_bins(1).to_days(), 20);
}

TEST(AnalyserTest, ClusteredEstimatorUsesCr2ByTeam) {
  auto sim = Simulate(400, 0.3);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sim->sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok());
  v1::AnalysisPlan plan = testing::MakePlan("t1");
  absl::StatusOr<v1::AnalyseResponse> robust = RunPlan(LockedRecord(plan), *joined, absl::Now());
  plan.set_estimator(v1::ESTIMATOR_CLUSTERED);
  absl::StatusOr<v1::AnalyseResponse> clustered = RunPlan(LockedRecord(plan), *joined, absl::Now());
  ASSERT_TRUE(robust.ok() && clustered.ok());
  EXPECT_EQ(clustered->outcomes(0).se_type(), "CR2");
  const v1::Inference& a = robust->outcomes(0).effects(0).effect();
  const v1::Inference& b = clustered->outcomes(0).effects(0).effect();
  EXPECT_NEAR(a.estimate(), b.estimate(), 1e-12);  // same point estimate
  EXPECT_NE(a.std_error(), b.std_error());
  EXPECT_LT(b.df(), 50);  // Bell-McCaffrey df with 50 teams, far below n - 2
}

TEST(RedrawTest, CompleteWithinStrataKeepsEverySitesCountsAndIsReproducible) {
  MemorySources sources;
  MemoryTrialData& data = sources.trials()["t1"];
  data.trial = testing::MakeTrial("t1");
  // LA1: 12 participants (6 + 6); LA2: 8 (4 + 4).
  for (int i = 0; i < 20; ++i) {
    testing::AddParticipant(data, absl::StrCat("u", i), i < 12 ? "LA1" : "LA2",
                            i % 2 == 0 ? "control" : "treatment");
  }
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok());
  std::vector<const JoinedParticipant*> units;
  for (const JoinedParticipant& p : joined->participants) units.push_back(&p);
  absl::StatusOr<AllocationRedrawer> redrawer =
      AllocationRedrawer::Create(joined->trial.design(), "arm", units);
  ASSERT_TRUE(redrawer.ok()) << redrawer.status();
  std::set<std::vector<std::string>> distinct;
  for (int d = 0; d < 5; ++d) {
    absl::StatusOr<std::vector<std::string>> arms = redrawer->Draw(d);
    ASSERT_TRUE(arms.ok()) << arms.status();
    std::map<std::string, int> treated_by_site;
    for (size_t i = 0; i < units.size(); ++i)
      treated_by_site[units[i]->site] += (*arms)[i] == "treatment" ? 1 : 0;
    EXPECT_EQ(treated_by_site["LA1"], 6);
    EXPECT_EQ(treated_by_site["LA2"], 4);
    distinct.insert(*arms);
    EXPECT_EQ(*redrawer->Draw(d), *arms);
  }
  EXPECT_GT(distinct.size(), 1u);
  EXPECT_FALSE(AllocationRedrawer::Create(joined->trial.design(), "colour", units).ok());
}

TEST(JoinTest, LatestOutcomePeriodWinsAndStrangersAreCounted) {
  MemorySources sources;
  MemoryTrialData& data = sources.trials()["t1"];
  data.trial = testing::MakeTrial("t1");
  testing::AddParticipant(data, "a", "LA1", "control");
  for (int month : {3, 6, 1}) {
    v1::Outcome& o = data.outcomes.emplace_back();
    o.set_participant_id("a");
    o.set_outcome("absence");
    o.mutable_period_end()->set_year(2021);
    o.mutable_period_end()->set_month(month);
    o.set_value(month);
  }
  data.outcomes.emplace_back().set_participant_id("stranger");
  testing::AddResponse(data, "ghost", "endline", "wb", 1);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok());
  ASSERT_EQ(joined->participants.size(), 1u);
  EXPECT_EQ(joined->participants[0].outcomes.at("absence"), 6);
  EXPECT_THAT(joined->warnings,
              ::testing::Contains(HasSubstr("1 responses of participants not enrolled")));
  EXPECT_THAT(joined->warnings,
              ::testing::Contains(HasSubstr("1 outcomes of participants not enrolled")));
  EXPECT_EQ(LoadTrial(sources.AsSources(), "nope").status().code(), absl::StatusCode::kNotFound);
}

TEST(ExportTest, OneRowPerAllocatedParticipantWithCodebook) {
  MemorySources sources;
  MemoryTrialData& data = sources.trials()["t1"];
  data.trial = testing::MakeTrial("t1");
  testing::AddWave(data, "endline");
  testing::AddParticipant(data, "a,1", "LA1", "control", 41.5, "senior");
  testing::Withdraw(testing::AddParticipant(data, "b", "LA2", "treatment"));
  testing::AddResponse(data, "a,1", "endline", "wellbeing", 0.1);
  absl::StatusOr<JoinedTrial> joined = LoadTrial(sources.AsSources(), "t1");
  ASSERT_TRUE(joined.ok());
  v1::AnalysisPlan plan = testing::MakePlan("t1");
  plan.set_factor("arm");
  plan.add_covariates("age");
  plan.add_covariates("grade");
  const Dataset dataset = BuildDataset(plan, *joined);
  EXPECT_EQ(dataset.header,
            "participant_id,site,cohort,cluster,arm,withdrawn,left,age,grade,wellbeing,responded_"
            "endline\n");
  ASSERT_EQ(dataset.codebook.size(), 11u);
  EXPECT_EQ(dataset.codebook[9].type(), "number");
  ASSERT_EQ(dataset.lines.size(), 2u);
  EXPECT_EQ(dataset.lines[0], "\"a,1\",LA1,,team-LA1,control,0,0,41.5,senior,0.1,1\n");
  EXPECT_EQ(dataset.lines[1], "b,LA2,,team-LA2,treatment,1,0,40,junior,,0\n");
}

}  // namespace
}  // namespace fieldwork::analysis
