// The HTML report renderer: every table and figure on the page, numbers as the report prints
// them, text escaped, nothing fetched from the network; and the Analyse result's conversion.
#include "services/cli/report_html.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <regex>
#include <sstream>
#include <utility>

#include "services/cli/analysis_tables.h"
#include "services/cli/report_format.h"

namespace fieldwork::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

ReportData TwoOutcomes() {
  ReportData r;
  r.trial_id = "swing";
  r.title = "SWING <pilot> & \"friends\"";
  r.plan_id = "main";
  r.plan_sha256 = "abc123";
  r.warnings = {"missing baseline for 3 <participants>"};
  ReportOutcome& wellbeing = r.outcomes.emplace_back();
  wellbeing.outcome = "wellbeing";
  wellbeing.primary = true;
  wellbeing.arms = {{"control", 120, 16.284, 0.5012}, {"treatment", 118, 15.789, 0.4966}};
  wellbeing.effects = {
      {"treatment", "control", -0.495, -1.876, 0.886, 0.2104, 0.4208, 0.7012, 234,
       ReportStandardised{-0.1234, -0.4687, 0.2213}}};
  wellbeing.notes = {"weighted by w (the plan's weights)"};
  wellbeing.ipw = ReportIpw{200, "(Intercept), armtreatment, age", 1.02, 4.5, {}, {}};
  wellbeing.ipw->effects.push_back(
      {"treatment", "control", -0.61, -2.1, 0.88, 0.19, 0.19, 0.75, 198.0,
       ReportStandardised{-0.152, -0.52, 0.22}});
  ReportOutcome& burnout = r.outcomes.emplace_back();
  burnout.outcome = "burnout";
  burnout.arms = {{"control", 110, 2.5, 0.1}, {"treatment", 111, 2.1, 0.1}};
  burnout.effects = {
      {"treatment", "control", -0.4, -0.67, -0.13, 0.00004, 0.00004, 0.137, 17.26, std::nullopt}};
  r.attrition.push_back({"wellbeing",
                         {{"control", 150, 120, 0.8}, {"treatment", 150, 118, 118.0 / 150}},
                         -1.333,
                         0.7712});
  r.mdes.push_back({"wellbeing", true, 0.2, 0.8, 0.786, 0.262, 0.004, 0.0625});
  r.outcomes[0].warnings = {"covariate baseline: 3 missing values set to the mean"};
  r.response_over_time.push_back({"endline", "control", {{1, 0.2}, {3, 0.5}, {10, 0.8}}});
  r.response_over_time.push_back({"endline", "treatment", {{2, 0.3}, {10, 0.787}}});
  r.response_over_time.push_back({"midline", "control", {{1, 0.6}}});
  return r;
}

TEST(ReportFormatTest, NumbersAsTheReportPrintsThem) {
  EXPECT_EQ(FormatFixed(16.284, 2), "16.28");
  EXPECT_EQ(FormatFixed(-0.001, 2), "0.00");
  EXPECT_EQ(FormatFixed(std::nan(""), 2), "NA");
  EXPECT_EQ(FormatP(0.0004), "<0.001");
  EXPECT_EQ(FormatP(0.2104), "0.210");
  EXPECT_EQ(FormatPercent(0.8422), "84.2%");
}

TEST(ReportHtmlTest, EscapesEveryPieceOfText) {
  EXPECT_EQ(HtmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  ReportData r = TwoOutcomes();
  r.outcomes[1].outcome = "<script>alert(1)</script>";
  r.response_over_time[0].arm = "ctl<&>";
  const std::string html = RenderReportHtml(r);
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("SWING &lt;pilot&gt; &amp; &quot;friends&quot;"));
  EXPECT_THAT(html, HasSubstr("missing baseline for 3 &lt;participants&gt;"));
  EXPECT_THAT(html, HasSubstr("ctl&lt;&amp;&gt;"));
}

TEST(ReportHtmlTest, EveryTableAndFigureIsOnThePage) {
  const std::string html = RenderReportHtml(TwoOutcomes());
  EXPECT_EQ(Count(html, "<table class=\"outcome-table\""), 2);
  EXPECT_EQ(Count(html, "<table class=\"attrition-table\""), 1);
  EXPECT_EQ(Count(html, "<table class=\"mdes-table\""), 1);
  EXPECT_EQ(Count(html, "<svg class=\"figure figure-means\""), 2);        // one per outcome
  EXPECT_EQ(Count(html, "<svg class=\"figure figure-response\""), 2);     // one per wave
  EXPECT_EQ(Count(html, "<svg class=\"figure figure-progression\""), 0);  // no CV data
  // One bar with an error bar per arm and outcome; one line per arm and wave.
  EXPECT_EQ(Count(html, "<rect class=\"bar\""), 4);
  EXPECT_EQ(Count(html, "<path class=\"error-bar\""), 4);
  EXPECT_EQ(Count(html, "<path class=\"series\""), 3);
  EXPECT_THAT(html, HasSubstr("Response rate by arm over time: endline"));
  EXPECT_THAT(html,
              HasSubstr("<ul class=\"outcome-notes\"><li>covariate baseline: 3 missing values "
                        "set to the mean</li></ul>"));
  EXPECT_EQ(Count(html, "<ul class=\"outcome-notes\">"), 1);
  EXPECT_THAT(html, HasSubstr("locked sha256 abc123"));
}

TEST(ReportHtmlTest, NumbersInTheTablesAreFormattedAsGiven) {
  const std::string html = RenderReportHtml(TwoOutcomes());
  // n, M, SE, estimate, its SE and df, CI, p, adjusted p of the treated arm.
  EXPECT_THAT(html,
              HasSubstr("<td>treatment</td><td class=\"num\">118</td><td class=\"num\">15.79</td>"
                        "<td class=\"num\">0.50</td><td class=\"num\">-0.49</td>"
                        "<td class=\"num\">0.70</td><td class=\"num\">234</td>"
                        "<td class=\"num\">[-1.88, 0.89]</td><td class=\"num\">0.210</td>"
                        "<td class=\"num\">0.421</td>"));
  EXPECT_THAT(html, HasSubstr("<th>SE of estimate</th><th>df</th>"));
  // Bell-McCaffrey df are fractional.
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">0.14</td><td class=\"num\">17.3</td>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">&lt;0.001</td><td class=\"num\">&lt;0.001</td>"));
  EXPECT_THAT(html,
              HasSubstr("<td>control</td><td class=\"num\">120</td><td class=\"num\">16.28</td>"
                        "<td class=\"num\">0.50</td><td colspan=\"8\">reference</td>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">78.7%</td>"));  // 118/150
  EXPECT_THAT(html, HasSubstr("-1.3, p = 0.771"));               // differential attrition
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">0.200</td><td class=\"num\">80.0%</td>"
                              "<td class=\"num\">78.6%</td><td class=\"num\">0.262</td>"));
  EXPECT_THAT(html, HasSubstr(">16.28</text>"));  // the bar's label
  EXPECT_THAT(html, HasSubstr("95% CI"));
}

// Hedges' g and its CI beside each estimate (NA without an SD), the notes under the table and
// the inverse-probability-of-response robustness table, labelled as such.
TEST(ReportHtmlTest, EffectSizesNotesAndTheIpwRobustnessTable) {
  const std::string html = RenderReportHtml(TwoOutcomes());
  EXPECT_THAT(html, HasSubstr("<th>Adjusted p</th><th>Hedges&#39; g</th><th>g 95% CI</th>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">0.421</td><td class=\"num\">-0.12</td>"
                              "<td class=\"num\">[-0.47, 0.22]</td>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">NA</td><td class=\"num\"></td>"));
  EXPECT_THAT(html, HasSubstr("<ul class=\"table-notes\"><li>weighted by w (the plan&#39;s "
                              "weights)</li></ul>"));
  EXPECT_EQ(Count(html, "<table class=\"ipw-table\""), 1);
  EXPECT_THAT(html, HasSubstr("wellbeing (primary): robustness, not pre-registered: "
                              "inverse-probability-of-response weights (1/p of responding from a "
                              "logistic regression on (Intercept), armtreatment, age; n = 200, "
                              "weights 1.02 to 4.50)"));
  EXPECT_THAT(html, HasSubstr("<td>treatment</td><td>control</td><td class=\"num\">-0.61</td>"
                              "<td class=\"num\">0.75</td><td class=\"num\">198</td>"
                              "<td class=\"num\">[-2.10, 0.88]</td><td class=\"num\">0.190</td>"
                              "<td class=\"num\">-0.15</td><td class=\"num\">[-0.52, 0.22]</td>"));
}

TEST(ReportHtmlTest, SelfContained) {
  const std::string html = RenderReportHtml(TwoOutcomes());
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  EXPECT_THAT(html, HasSubstr("<style>"));
  EXPECT_TRUE(html.rfind("<!DOCTYPE html>", 0) == 0);
}

TEST(ReportHtmlTest, ProgressionFigureByConditionAndGroup) {
  ReportData r;
  r.trial_id = "diversity-online";
  r.progression_title = "exp1_evaluation x candidate group";
  r.progression = {{"joint", "minority_ethnic", 380, 0.8422, 0.0187, std::nullopt},
                   {"joint", "white_british", 380, 0.5253, 0.0256, std::nullopt},
                   {"separate", "minority_ethnic", 375, 0.6815, 0.024, std::nullopt},
                   {"separate", "white_british", 375, 0.6991, 0.0237, std::nullopt}};
  const std::string html = RenderReportHtml(r);
  EXPECT_EQ(Count(html, "<svg class=\"figure figure-progression\""), 1);
  EXPECT_EQ(Count(html, "<table class=\"progression-table\""), 1);
  EXPECT_EQ(Count(html, "<g class=\"bar-group\""),
            2 + 0);  // two conditions (no outcomes: no means bars)
  EXPECT_THAT(html, HasSubstr(">84.2%</text>"));
  EXPECT_THAT(html, HasSubstr("<td>separate</td><td>white_british</td><td class=\"num\">375</td>"
                              "<td class=\"num\">69.9%</td>"));
  EXPECT_THAT(html, HasSubstr("No outcomes analysed."));
}

// A long-format outcome (the CV experiment's exp1): the text and the report show the decisions
// per arm, every coefficient, both sets of contrasts, the interaction's F with its df and the
// cells, and the progression figure takes the cells' clustered CIs.
TEST(AnalysisTablesTest, LongFormatInteractionIsPrintedAndDrawn) {
  fieldwork::v1::AnalyseResponse analysis;
  analysis.mutable_plan()->mutable_plan()->set_trial_id("diversity-online");
  analysis.mutable_plan()->mutable_plan()->set_plan_id("exp1");
  analysis.mutable_plan()->mutable_plan()->set_factor("exp1_evaluation");
  auto* outcome = analysis.add_outcomes();
  outcome->set_outcome("progressed");
  outcome->set_primary(true);
  outcome->set_n(3030);
  outcome->set_se_type("CR2");
  for (const auto& [arm, n] : {std::pair<const char*, int>{"separate", 1500}, {"joint", 1530}}) {
    auto* a = outcome->add_arms();
    a->set_arm(arm);
    a->set_randomised(n / 10);
    a->set_n(n);
    a->set_raw_mean(0.5);
  }
  auto* x = outcome->mutable_interaction();
  x->set_attribute("ethnicity");
  x->set_reference_level("white_british");
  x->set_decisions(3030);
  x->set_clusters(303);
  x->set_se_type("CR2");
  auto inference = [](double estimate, double low, double high) {
    fieldwork::v1::Inference i;
    i.set_estimate(estimate);
    i.set_std_error(0.04);
    i.set_df(140.5);
    i.set_conf_low(low);
    i.set_conf_high(high);
    i.set_p_value(0.0123);
    return i;
  };
  x->add_terms("ethnicityminority_ethnic:exp1_evaluationjoint");
  *x->add_coefficients() = inference(0.2468, 0.17, 0.32);
  auto* arm_effect = x->add_arm_effects();
  arm_effect->set_arm("joint");
  arm_effect->set_versus_arm("separate");
  arm_effect->set_level("minority_ethnic");
  *arm_effect->mutable_inference() = inference(0.1357, 0.05, 0.22);
  auto* gap = x->add_level_effects();
  gap->set_arm("joint");
  gap->set_level("minority_ethnic");
  gap->set_versus_level("white_british");
  *gap->mutable_inference() = inference(-0.0864, -0.17, -0.01);
  x->set_interaction_f(13.5);
  x->set_interaction_df1(1);
  x->set_interaction_df2(302);
  x->set_interaction_p_value(0.0003);
  auto* cell = x->add_cells();
  cell->set_arm("joint");
  cell->set_level("minority_ethnic");
  cell->set_n(765);
  *cell->mutable_inference() = inference(0.8422, 0.80, 0.88);

  std::ostringstream text;
  PrintAnalysis(analysis, text);
  EXPECT_THAT(text.str(), HasSubstr("progressed (primary): n = 3030 decisions, SEs CR2"));
  EXPECT_THAT(text.str(), HasSubstr("long-format interaction ethnicity x exp1_evaluation (reference white_british): "
                                    "3030 decisions from 303 participants, SEs CR2 clustered by participant"));
  EXPECT_THAT(text.str(), HasSubstr("ethnicityminority_ethnic:exp1_evaluationjoint"));
  EXPECT_THAT(text.str(), HasSubstr("joint vs separate, among ethnicity minority_ethnic"));
  EXPECT_THAT(text.str(), HasSubstr("ethnicity minority_ethnic vs white_british, under joint"));
  EXPECT_THAT(text.str(), HasSubstr("F(1, 302) = 13.50, p = <0.001"));
  EXPECT_THAT(text.str(), HasSubstr("joint x minority_ethnic"));
  EXPECT_THAT(text.str(), ::testing::Not(HasSubstr("MDES ledger")));  // not defined for it

  ReportData report;
  AddAnalysisToReport(analysis, report);
  ASSERT_TRUE(AddInteractionProgression(analysis, report));
  ASSERT_EQ(report.progression.size(), 1u);
  ASSERT_TRUE(report.progression[0].ci.has_value());
  EXPECT_DOUBLE_EQ(report.progression[0].ci->first, 0.80);
  const std::string html = RenderReportHtml(report);
  EXPECT_EQ(Count(html, "<table class=\"interaction-terms\""), 1);
  EXPECT_EQ(Count(html, "<table class=\"interaction-arm-effects\""), 1);
  EXPECT_EQ(Count(html, "<table class=\"interaction-level-effects\""), 1);
  EXPECT_THAT(html, HasSubstr("3030 decisions from 303 participants"));
  EXPECT_THAT(html, HasSubstr("F(1, 302) = 13.50"));
  EXPECT_THAT(html, HasSubstr("80.0% to 88.0%"));  // the progression table's clustered CI
  EXPECT_EQ(Count(html, "<svg class=\"figure figure-progression\""), 1);
}

TEST(AnalysisTablesTest, AnalyseResultBecomesTheReportAndTheText) {
  fieldwork::v1::AnalyseResponse analysis;
  analysis.mutable_plan()->mutable_plan()->set_trial_id("t");
  analysis.mutable_plan()->mutable_plan()->set_alpha(0.1);
  analysis.mutable_plan()->set_state(fieldwork::v1::PLAN_STATE_LOCKED);
  analysis.mutable_plan()->set_locked_sha256("feed");
  auto* outcome = analysis.add_outcomes();
  outcome->set_outcome("wellbeing");
  outcome->set_primary(true);
  auto* control = outcome->add_arms();
  control->set_arm("control");
  control->set_n(50);
  control->mutable_adjusted_mean()->set_estimate(1.234);
  control->mutable_adjusted_mean()->set_std_error(0.111);
  auto* treated = outcome->add_arms();
  treated->set_arm("treatment");
  treated->set_n(52);
  treated->mutable_adjusted_mean()->set_estimate(1.6);
  treated->mutable_adjusted_mean()->set_std_error(0.12);
  auto* effect = outcome->add_effects();
  effect->set_arm("treatment");
  effect->set_versus("control");
  effect->mutable_effect()->set_estimate(0.366);
  effect->mutable_effect()->set_conf_low(0.1);
  effect->mutable_effect()->set_conf_high(0.63);
  effect->mutable_effect()->set_p_value(0.03);
  effect->mutable_effect()->set_std_error(0.151);
  effect->mutable_effect()->set_df(100);
  effect->set_adjusted_p_value(0.03);
  outcome->add_warnings("take-up: not estimated");
  outcome->mutable_mdes()->set_planned(0.25);
  outcome->mutable_mdes()->set_achieved(0.3);

  ReportData report;
  AddAnalysisToReport(analysis, report);
  ASSERT_EQ(report.outcomes.size(), 1u);
  EXPECT_EQ(report.outcomes[0].arms[0].arm, "control");
  EXPECT_EQ(report.outcomes[0].arms[1].n, 52);
  EXPECT_DOUBLE_EQ(report.outcomes[0].arms[0].mean, 1.234);
  EXPECT_EQ(report.plan_sha256, "feed");
  EXPECT_DOUBLE_EQ(report.confidence_percent, 90);
  EXPECT_DOUBLE_EQ(report.mdes[0].achieved, 0.3);
  EXPECT_THAT(report.outcomes[0].warnings, ::testing::ElementsAre("take-up: not estimated"));

  std::ostringstream text;
  PrintAnalysis(analysis, text);
  EXPECT_THAT(text.str(), HasSubstr("locked, sha256 feed"));
  EXPECT_THAT(text.str(), HasSubstr("90% CI"));
  EXPECT_TRUE(
      std::regex_search(text.str(), std::regex(R"(control\s+50\s+1\.23\s+0\.11\s+\(ref\))")));
  EXPECT_TRUE(std::regex_search(
      text.str(),
      std::regex(
          R"(treatment\s+52\s+1\.60\s+0\.12\s+0\.37\s+0\.15\s+100\s+\[0\.10, 0\.63\]\s+0\.030\s+0\.030)")))
      << text.str();
}

// A three-arm outcome's joint F with df1 and df2, randomisation inference and the take-up effect
// of a two-arm outcome, an assigned factor's comparisons labelled descriptive, and a plan without
// a power section: in `fieldwork analyse`'s text and on the HTML page.
fieldwork::v1::AnalyseResponse EverythingComputed() {
  fieldwork::v1::AnalyseResponse analysis;
  auto& plan = *analysis.mutable_plan()->mutable_plan();
  plan.set_trial_id("pilot");
  plan.set_factor("rota");
  analysis.set_descriptive(true);
  auto* three = analysis.add_outcomes();
  three->set_outcome("burnout");
  for (const char* name : {"control", "letter", "video"}) {
    auto* arm = three->add_arms();
    arm->set_arm(name);
    arm->set_n(200);
  }
  three->set_joint_f(3.2071);
  three->set_joint_df1(2);
  three->set_joint_df2(592);
  three->set_joint_p_value(0.0412);
  three->mutable_attrition()->set_overall_rate(0.296);
  three->mutable_mdes()->set_actual_response_rate(0.296);
  three->mutable_mdes()->set_achieved(0.461);
  auto* two = analysis.add_outcomes();
  two->set_outcome("wellbeing");
  two->mutable_mdes()->set_actual_response_rate(0.5);
  auto* ri = two->mutable_randomisation_inference();
  ri->set_draws(1000);
  ri->set_p_value(0.0479);
  ri->set_monte_carlo_se(0.0068);
  ri->set_method("RANDOMISATION_METHOD_COMPLETE");
  auto* cace = two->mutable_cace();
  cace->set_campaign("nudge");
  cace->mutable_effect()->set_estimate(1.234);
  cace->mutable_effect()->set_std_error(0.456);
  cace->mutable_effect()->set_df(52);
  cace->mutable_effect()->set_conf_low(0.32);
  cace->mutable_effect()->set_conf_high(2.15);
  cace->mutable_effect()->set_p_value(0.009);
  cace->set_first_stage_f(45.6);
  (*cace->mutable_takeup_rate_by_arm())["control"] = 0;
  (*cace->mutable_takeup_rate_by_arm())["treatment"] = 0.25;
  return analysis;
}

TEST(AnalysisTablesTest, EveryComputedNumberIsPrinted) {
  std::ostringstream text;
  PrintAnalysis(EverythingComputed(), text);
  const std::string out = text.str();
  EXPECT_THAT(out, HasSubstr("joint test that all effects are zero: F(2, 592) = 3.21, p = 0.041"));
  EXPECT_THAT(out, HasSubstr("randomisation inference (1000 redraws, "
                             "RANDOMISATION_METHOD_COMPLETE): p = 0.048 (Monte Carlo SE 0.007)"));
  EXPECT_THAT(out, HasSubstr("take-up effect (CACE, 2SLS; campaign nudge): 1.23, SE 0.46, df 52, "
                             "95% CI [0.32, 2.15], p = 0.009; first-stage F 45.60; take-up "
                             "control 0.0%, treatment 25.0%"));
  EXPECT_THAT(out, HasSubstr("descriptive: factor rota was assigned, not randomised"));
  EXPECT_THAT(out, HasSubstr(", descriptive comparison\n"));
  // No power section: no planned MDES, but the real response rate and the achieved MDES.
  EXPECT_TRUE(std::regex_search(
      out, std::regex(R"(burnout\s+none planned\s+-\s+29\.6%\s+-\s+0\.461\s+-\s+-)")))
      << out;
  EXPECT_TRUE(std::regex_search(
      out, std::regex(R"(wellbeing\s+none planned\s+-\s+50\.0%\s+-\s+not estimated)")))
      << out;
  EXPECT_THAT(out, HasSubstr("no MDES was planned: the plan has no power section"));
  EXPECT_THAT(out, Not(HasSubstr("0.000")));
}

TEST(AnalysisTablesTest, EveryComputedNumberIsOnThePage) {
  ReportData report;
  AddAnalysisToReport(EverythingComputed(), report);
  const std::string html = RenderReportHtml(report);
  EXPECT_THAT(html, HasSubstr("<p class=\"joint-test\">Joint test that all effects are zero: "
                              "F(2, 592) = 3.21, p = 0.041</p>"));
  EXPECT_THAT(html, HasSubstr("<p class=\"randomisation-inference\">Randomisation inference (1000 "
                              "redraws, RANDOMISATION_METHOD_COMPLETE): p = 0.048 (Monte Carlo SE "
                              "0.007)</p>"));
  EXPECT_THAT(
      html,
      HasSubstr("<table class=\"cace-table\" tabindex=\"0\"><caption>wellbeing: take-up effect "
                "(CACE, 2SLS), campaign nudge</caption>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">1.23</td><td class=\"num\">0.46</td>"
                              "<td class=\"num\">52</td><td class=\"num\">[0.32, 2.15]</td>"
                              "<td class=\"num\">0.009</td><td class=\"num\">45.60</td>"
                              "<td>control 0.0%, treatment 25.0%</td>"));
  EXPECT_THAT(html, HasSubstr("<p class=\"descriptive\">descriptive: factor rota was assigned"));
  EXPECT_THAT(html, HasSubstr("<caption>burnout (descriptive)</caption>"));
  EXPECT_THAT(html, HasSubstr("<td>burnout</td><td class=\"num\">none planned</td>"
                              "<td class=\"num\">-</td><td class=\"num\">29.6%</td>"
                              "<td class=\"num\">0.461</td>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">not estimated</td>"));
  EXPECT_THAT(html, HasSubstr("No MDES was planned: the plan has no power section."));
  EXPECT_EQ(Count(html, "<p class=\"joint-test\">"), 1);  // the two-arm outcome has none
  EXPECT_EQ(Count(html, "<table class=\"cace-table\""), 1);
}

TEST(ReportFormatTest, DegreesOfFreedomAndMdesInWords) {
  EXPECT_EQ(FormatDf(592), "592");
  EXPECT_EQ(FormatDf(17.263), "17.3");
  EXPECT_EQ(FormatPlannedMdes(false, 0), "none planned");
  EXPECT_EQ(FormatPlannedMdes(true, 0.4612), "0.461");
  EXPECT_EQ(FormatAchievedMdes(0), "not estimated");
  EXPECT_EQ(FormatAchievedMdes(0.3), "0.300");
}

}  // namespace
}  // namespace fieldwork::cli
