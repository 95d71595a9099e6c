// Writes a trial report with every figure to the file named on the command line, for the browser
// check of the figures (tests/browser/report_figures_test.sh). The page goes through the same
// path as `fieldwork report`: an Analyse result and a trial snapshot (as the services would send
// them) → AddAnalysisToReport, ConsortFlow, AddAnalysisToConsort → RenderReportHtml. Fixed data,
// so the script knows what to count: 2 arms, 2 waves, 3 outcomes (3 forest rows), time bins on
// 2 outcomes (3 + 2 bins), take-up measured in the treatment arm only; and a second plan, a
// long-format interaction (2 arms x 2 levels: the progression figure's 4 bars with clustered
// CIs and the interaction's 3 tables).
#include <fstream>
#include <iostream>
#include <string>

#include "services/cli/analysis_tables.h"
#include "services/cli/consort_flow.h"
#include "services/cli/report_html.h"

namespace {

namespace v1 = ::fieldwork::v1;

void SetInference(double estimate, double half_width, v1::Inference& inference) {
  inference.set_estimate(estimate);
  inference.set_conf_low(estimate - half_width);
  inference.set_conf_high(estimate + half_width);
  inference.set_std_error(half_width / 1.97);
  inference.set_df(110);
  inference.set_p_value(0.2);
}

// An outcome with both arms, the treatment effect (raw and standardised) and `bins` time bins
// whose effect fades by `fade` per bin (the last one not estimated when `last_missing`).
void AddOutcome(const std::string& name, bool primary, double g, int bins, bool last_missing,
                v1::AnalyseResponse& analysis) {
  v1::OutcomeResult& outcome = *analysis.add_outcomes();
  outcome.set_outcome(name);
  outcome.set_primary(primary);
  const char* arms[] = {"control", "treatment"};
  for (int a = 0; a < 2; ++a) {
    v1::ArmFigures& arm = *outcome.add_arms();
    arm.set_arm(arms[a]);
    arm.set_randomised(57);
    arm.set_n(48 - 3 * a);
    SetInference(3.1 + 0.2 * a, 0.1, *arm.mutable_adjusted_mean());
  }
  v1::Effect& effect = *outcome.add_effects();
  effect.set_arm("treatment");
  effect.set_versus("control");
  SetInference(0.2, 0.35, *effect.mutable_effect());
  effect.mutable_standardised()->set_g(g);
  effect.mutable_standardised()->set_conf_low(g - 0.38);
  effect.mutable_standardised()->set_conf_high(g + 0.38);
  for (int b = 0; b < bins; ++b) {
    v1::TimeBinResult& bin = *outcome.add_time_bins();
    bin.set_from_days(14 * b);
    bin.set_to_days(14 * (b + 1));
    bin.set_label("[" + std::to_string(14 * b) + ", " + std::to_string(14 * (b + 1)) + ") days");
    bin.set_exploratory(true);
    bin.set_post_treatment(true);
    if (last_missing && b == bins - 1) continue;
    bin.set_estimated(true);
    bin.set_n(40 - 8 * b);
    v1::Effect& e = *bin.add_effects();
    e.set_arm("treatment");
    e.set_versus("control");
    SetInference(0.6 - 0.25 * b, 0.4 + 0.1 * b, *e.mutable_effect());
  }
}

v1::AnalyseResponse Analysis() {
  v1::AnalyseResponse analysis;
  v1::AnalysisPlan& plan = *analysis.mutable_plan()->mutable_plan();
  plan.set_trial_id("beneficiaries");
  plan.set_plan_id("main");
  plan.set_factor("offer");
  plan.set_alpha(0.05);
  analysis.mutable_plan()->set_state(v1::PLAN_STATE_LOCKED);
  analysis.mutable_plan()->set_locked_sha256("9f2c41d0");
  AddOutcome("wellbeing", true, 0.18, 3, true, analysis);
  AddOutcome("burnout", false, -0.07, 2, false, analysis);
  AddOutcome("motivation", false, 0.31, 0, false, analysis);
  v1::Cace& cace = *analysis.mutable_outcomes(0)->mutable_cace();
  cace.set_campaign("video");
  (*cace.mutable_takeup_rate_by_arm())["treatment"] = 0.386;
  return analysis;
}

// 120 enrolled, 60 per arm; p003, p006, ... of each arm withdrew, every 10th left; about two
// thirds answered the baseline and half the endline.
fieldwork::cli::TrialSnapshot Snapshot() {
  fieldwork::cli::TrialSnapshot s;
  s.trial.set_enrolled(120);
  v1::Factor& factor = *s.trial.mutable_design()->add_factors();
  factor.set_name("offer");
  factor.add_arms()->set_name("control");
  factor.add_arms()->set_name("treatment");
  for (const char* wave : {"baseline", "endline"}) s.waves.emplace_back().set_wave_id(wave);
  for (int i = 0; i < 120; ++i) {
    const std::string id = "p" + std::to_string(1000 + i);
    v1::Allocation& a = s.allocations.emplace_back();
    a.set_participant_id(id);
    v1::Assignment& assignment = *a.add_assignments();
    assignment.set_factor("offer");
    assignment.set_arm(i % 2 == 0 ? "control" : "treatment");
    if (i % 40 == 3) a.mutable_withdrawal()->set_reason("asked");
    if (i % 10 == 7) a.mutable_left_on()->set_year(2024);
    if (i % 3 != 0) {
      v1::Response& r = s.responses.emplace_back();
      r.set_participant_id(id);
      r.set_wave_id("baseline");
      r.set_counted(true);
    }
    if (i % 4 < 2 && i % 10 != 7) {
      v1::Response& r = s.responses.emplace_back();
      r.set_participant_id(id);
      r.set_wave_id("endline");
      r.set_counted(true);
    }
  }
  return s;
}

// Plan "exp1": the CV experiment's long-format interaction, progressed (1/0) by candidate
// ethnicity x evaluation, with each cell's model mean and CI.
v1::AnalyseResponse LongAnalysis() {
  v1::AnalyseResponse analysis;
  analysis.mutable_plan()->mutable_plan()->set_trial_id("beneficiaries");
  analysis.mutable_plan()->mutable_plan()->set_plan_id("exp1");
  analysis.mutable_plan()->mutable_plan()->set_factor("offer");
  v1::OutcomeResult& outcome = *analysis.add_outcomes();
  outcome.set_outcome("progressed");
  outcome.set_primary(true);
  outcome.set_n(1200);
  v1::LongInteractionResult& x = *outcome.mutable_interaction();
  x.set_attribute("ethnicity");
  x.set_reference_level("white_british");
  x.set_decisions(1200);
  x.set_clusters(120);
  x.set_se_type("CR2");
  x.add_terms("(Intercept)");
  SetInference(0.52, 0.06, *x.add_coefficients());
  const char* arms[] = {"control", "treatment"};
  const char* levels[] = {"white_british", "minority_ethnic"};
  for (int a = 0; a < 2; ++a) {
    v1::InteractionEstimate& effect = *x.add_arm_effects();
    effect.set_arm("treatment");
    effect.set_versus_arm("control");
    effect.set_level(levels[a]);
    SetInference(0.05 + 0.2 * a, 0.09, *effect.mutable_inference());
    v1::InteractionEstimate& gap = *x.add_level_effects();
    gap.set_arm(arms[a]);
    gap.set_level("minority_ethnic");
    gap.set_versus_level("white_british");
    SetInference(-0.15 + 0.2 * a, 0.08, *gap.mutable_inference());
    for (int l = 0; l < 2; ++l) {
      v1::InteractionEstimate& cell = *x.add_cells();
      cell.set_arm(arms[a]);
      cell.set_level(levels[l]);
      cell.set_n(300);
      SetInference(0.5 + 0.1 * a - 0.15 * l + 0.2 * a * l, 0.07, *cell.mutable_inference());
    }
  }
  x.set_interaction_f(9.1);
  x.set_interaction_df1(1);
  x.set_interaction_df2(119);
  x.set_interaction_p_value(0.003);
  return analysis;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: report_figures_page OUT.html\n";
    return 2;
  }
  const v1::AnalyseResponse analysis = Analysis();
  fieldwork::cli::ReportData report;
  report.trial_id = "beneficiaries";
  report.title = "Beneficiaries RCT (figures check)";
  const v1::AnalyseResponse long_analysis = LongAnalysis();
  fieldwork::cli::AddAnalysisToReport(analysis, report, /*one_of_several=*/true);
  fieldwork::cli::AddAnalysisToReport(long_analysis, report, /*one_of_several=*/true);
  fieldwork::cli::AddInteractionProgression(long_analysis, report);
  report.consort = fieldwork::cli::ConsortFlow(Snapshot(), "offer");
  if (report.consort.has_value()) fieldwork::cli::AddAnalysisToConsort(analysis, *report.consort);
  std::ofstream out(argv[1], std::ios::binary | std::ios::trunc);
  out << fieldwork::cli::RenderReportHtml(report);
  out.close();
  if (!out) {
    std::cerr << "report_figures_page: cannot write " << argv[1] << "\n";
    return 1;
  }
  return 0;
}
