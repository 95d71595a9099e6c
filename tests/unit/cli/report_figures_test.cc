// The report's figures: the CONSORT flow (its counts from the trial snapshot and Analyse, and
// its boxes), the forest plot of standardised effects and the attenuation panels. Each figure is
// read back from the SVG: the numbers in its boxes, where an interval's ends land on its axis,
// what its bins are called, and that hostile names stay text.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "services/cli/analysis_tables.h"
#include "services/cli/consort_flow.h"
#include "services/cli/report_html.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

int Occurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Every match of `pattern`'s first `groups` groups, in order.
std::vector<std::vector<std::string>> MatchAll(const std::string& text, const std::string& pattern,
                                               size_t groups) {
  std::vector<std::vector<std::string>> found;
  const std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    std::vector<std::string> match;
    for (size_t g = 1; g <= groups; ++g) match.push_back((*it)[g].str());
    found.push_back(std::move(match));
  }
  return found;
}

// The <svg class="figure CSS"> element(s) of the page, concatenated.
std::string Svg(const std::string& html, const std::string& css_class) {
  std::string out;
  const std::string open = "<svg class=\"figure " + css_class + "\"";
  for (size_t at = html.find(open); at != std::string::npos; at = html.find(open, at + 1)) {
    out += html.substr(at, html.find("</svg>", at) + 6 - at);
  }
  return out;
}

// The lines of text in a CONSORT box, "|"-joined: `attributes` follow data-stage.
std::string BoxText(const std::string& html, const std::string& attributes) {
  const std::string open = "<g class=\"consort-box\" data-stage=\"" + attributes + ">";
  const size_t at = html.find(open);
  if (at == std::string::npos) return "(no box " + attributes + ")";
  const std::string box = html.substr(at, html.find("</g>", at) - at);
  std::string text;
  for (const auto& line : MatchAll(box, "<text[^>]*>([^<]*)</text>", 1)) {
    text += (text.empty() ? "" : "|") + line[0];
  }
  return text;
}

// The pixel of each tick label along an axis: `coordinate` is x or y of <text class="tick">.
std::map<std::string, double> Ticks(const std::string& svg, const std::string& coordinate) {
  std::map<std::string, double> ticks;
  const std::string pattern =
      coordinate == "x"
          ? R"re(<text class="tick" x="([-0-9.]+)" y="[-0-9.]+"[^>]*>([^<]+)</text>)re"
          : R"re(<text class="tick" x="[-0-9.]+" y="([-0-9.]+)"[^>]*>([^<]+)</text>)re";
  for (const auto& m : MatchAll(svg, pattern, 2)) ticks[m[1]] = std::stod(m[0]);
  return ticks;
}

// The pixel of `value` on an axis through the ticks labelled `a` (value va) and `b` (vb).
double Between(const std::map<std::string, double>& ticks, const std::string& a, double va,
               const std::string& b, double vb, double value) {
  return ticks.at(a) + (ticks.at(b) - ticks.at(a)) * (value - va) / (vb - va);
}

// --- The CONSORT flow ---------------------------------------------------------------------

v1::Allocation Member(const std::string& id, const std::string& arm) {
  v1::Allocation a;
  a.set_participant_id(id);
  auto* assignment = a.add_assignments();
  assignment->set_factor("offer");
  assignment->set_arm(arm);
  return a;
}

v1::Response Answer(const std::string& id, const std::string& wave) {
  v1::Response r;
  r.set_participant_id(id);
  r.set_wave_id(wave);
  r.set_counted(true);
  return r;
}

// control c1..c3 (c3 withdrawn, though she answered the endline), treatment t1..t4 (t3 left
// the organisation; t4 left too, but answered the baseline first); 9 enrolled.
TrialSnapshot FlowSnapshot() {
  TrialSnapshot s;
  s.trial.set_enrolled(9);
  auto* factor = s.trial.mutable_design()->add_factors();
  factor->set_name("offer");
  factor->add_arms()->set_name("control");
  factor->add_arms()->set_name("treatment");
  s.waves.resize(2);
  s.waves[0].set_wave_id("baseline");
  s.waves[1].set_wave_id("endline");
  for (const char* id : {"c1", "c2", "c3"}) s.allocations.push_back(Member(id, "control"));
  for (const char* id : {"t1", "t2", "t3", "t4"}) s.allocations.push_back(Member(id, "treatment"));
  s.allocations[2].mutable_withdrawal()->set_reason("asked");
  s.allocations[5].mutable_left_on()->set_year(2024);
  s.allocations[6].mutable_left_on()->set_year(2024);
  s.responses = {Answer("c1", "baseline"), Answer("c2", "baseline"), Answer("t1", "baseline"),
                 Answer("t2", "baseline"), Answer("t4", "baseline"), Answer("c1", "endline"),
                 Answer("c3", "endline"),  Answer("t1", "endline"),  Answer("t1", "endline")};
  return s;
}

TEST(ConsortFlowTest, EachParticipantCountsOnceAtEachWave) {
  const std::optional<ReportConsort> flow = ConsortFlow(FlowSnapshot(), "offer");
  ASSERT_TRUE(flow.has_value());
  EXPECT_EQ(flow->enrolled, 9);
  ASSERT_EQ(flow->arms.size(), 2u);
  const ReportConsortArm& control = flow->arms[0];
  const ReportConsortArm& treatment = flow->arms[1];
  EXPECT_EQ(control.arm, "control");
  EXPECT_EQ(control.allocated, 3);
  EXPECT_EQ(treatment.allocated, 4);
  ASSERT_EQ(control.waves.size(), 2u);
  auto counts = [](const ReportConsortWave& w) {
    return std::vector<int64_t>{w.withdrawn, w.responded, w.left, w.non_response};
  };
  EXPECT_EQ(control.waves[1].wave, "endline");
  // c3 withdrew (her answer does not count), c1 answered, c2 did not.
  EXPECT_THAT(counts(control.waves[1]), ElementsAre(1, 1, 0, 1));
  EXPECT_THAT(counts(control.waves[0]), ElementsAre(1, 2, 0, 0));
  // t4 left but answered the baseline; t3 left without answering; t1 answered twice.
  EXPECT_THAT(counts(treatment.waves[0]), ElementsAre(0, 3, 1, 0));
  EXPECT_THAT(counts(treatment.waves[1]), ElementsAre(0, 1, 2, 1));
  EXPECT_FALSE(control.takeup_rate.has_value());
}

TEST(ConsortFlowTest, NobodyAllocatedMeansNoFlow) {
  TrialSnapshot s = FlowSnapshot();
  s.allocations.clear();
  EXPECT_FALSE(ConsortFlow(s, "offer").has_value());
  EXPECT_FALSE(ConsortFlow(FlowSnapshot(), "no-such-factor").has_value());
}

v1::AnalyseResponse AnalysedFlow() {
  v1::AnalyseResponse analysis;
  analysis.mutable_plan()->mutable_plan()->set_plan_id("main");
  for (const char* name : {"wellbeing", "burnout"}) {
    auto* outcome = analysis.add_outcomes();
    outcome->set_outcome(name);
    auto* control = outcome->add_arms();
    control->set_arm("control");
    control->set_randomised(2);
    control->set_n(name[0] == 'w' ? 1 : 2);
    auto* treated = outcome->add_arms();
    treated->set_arm("treatment");
    treated->set_randomised(4);
    treated->set_n(3);
  }
  auto* cace = analysis.mutable_outcomes(1)->mutable_cace();
  cace->set_campaign("video");
  (*cace->mutable_takeup_rate_by_arm())["treatment"] = 0.75;
  return analysis;
}

TEST(ConsortFlowTest, AnalyseAddsTakeUpWhereMeasuredAndTheAnalysedNumbers) {
  ReportConsort flow = *ConsortFlow(FlowSnapshot(), "offer");
  AddAnalysisToConsort(AnalysedFlow(), flow);
  EXPECT_EQ(flow.takeup_campaign, "video");
  EXPECT_FALSE(flow.arms[0].takeup_rate.has_value());  // control's take-up was not measured
  ASSERT_TRUE(flow.arms[1].takeup_rate.has_value());
  EXPECT_DOUBLE_EQ(*flow.arms[1].takeup_rate, 0.75);
  ASSERT_EQ(flow.arms[0].analysed.size(), 2u);
  EXPECT_EQ(flow.arms[0].analysed[0].outcome, "wellbeing");
  EXPECT_EQ(flow.arms[0].analysed[0].n, 1);
  EXPECT_EQ(flow.arms[0].analysed[0].randomised, 2);
  EXPECT_EQ(flow.arms[1].analysed[1].outcome, "burnout");
  EXPECT_EQ(flow.arms[1].analysed[1].n, 3);
}

TEST(ConsortFigureTest, EveryBoxWithItsCounts) {
  ReportData report;
  report.trial_id = "t";
  report.consort = ConsortFlow(FlowSnapshot(), "offer");
  AddAnalysisToConsort(AnalysedFlow(), *report.consort);
  const std::string html = RenderReportHtml(report);
  const std::string svg = Svg(html, "figure-consort");
  // Enrolled, then per arm: allocated, received, two waves, analysed.
  EXPECT_EQ(Occurrences(svg, "<g class=\"consort-box\""), 1 + 2 * 5);
  EXPECT_EQ(BoxText(svg, "enrolled\""), "Enrolled|n: 9|not allocated: 2");
  EXPECT_EQ(BoxText(svg, "allocated\" data-arm=\"treatment\""), "Allocated to treatment|n: 4");
  EXPECT_EQ(BoxText(svg, "allocated\" data-arm=\"control\""), "Allocated to control|n: 3");
  EXPECT_EQ(BoxText(svg, "received\" data-arm=\"control\""),
            "Received the intervention|not measured");
  EXPECT_EQ(BoxText(svg, "received\" data-arm=\"treatment\""),
            "Received the intervention|took it up: 75.0%|(opened or clicked video)");
  EXPECT_EQ(BoxText(svg, "follow-up\" data-arm=\"treatment\" data-wave=\"endline\""),
            "Lost to follow-up, endline: 3|withdrew: 0|left the organisation: 2|did not respond: 1|"
            "responded: 1");
  EXPECT_EQ(BoxText(svg, "follow-up\" data-arm=\"control\" data-wave=\"endline\""),
            "Lost to follow-up, endline: 2|withdrew: 1|left the organisation: 0|did not respond: 1|"
            "responded: 1");
  EXPECT_EQ(BoxText(svg, "analysed\" data-arm=\"control\""),
            "Analysed|wellbeing: 1 of 2|burnout: 2 of 2");
  // An arrow into every box but the first.
  EXPECT_EQ(Occurrences(svg, "<path class=\"arrow-head\""), 2 * 5);
  EXPECT_THAT(svg,
              HasSubstr("role=\"img\" aria-label=\"Participant flow (CONSORT 2025) by offer\""));
  EXPECT_THAT(html, HasSubstr("<figcaption>Participant flow (CONSORT 2025): 9 enrolled, allocated "
                              "by offer to control (n = 3), treatment (n = 4)"));
}

TEST(ConsortFigureTest, WithoutAnalysisNoAnalysedRowAndWithoutAllocationsNoFigure) {
  ReportData report;
  report.consort = ConsortFlow(FlowSnapshot(), "offer");
  const std::string html = RenderReportHtml(report);
  EXPECT_EQ(Occurrences(html, "<g class=\"consort-box\""), 1 + 2 * 4);
  EXPECT_THAT(html, Not(HasSubstr("data-stage=\"analysed\"")));
  EXPECT_THAT(html, HasSubstr("<h2>Participant flow</h2>"));
  report.consort.reset();
  EXPECT_THAT(RenderReportHtml(report), Not(HasSubstr("Participant flow")));
}

// --- The forest plot ----------------------------------------------------------------------

std::vector<ReportForestRow> ForestRows() {
  return {{"main", "wellbeing", true, "treatment", "control", {-0.12, -0.47, 0.22}},
          {"main", "burnout", false, "treatment", "control", {0.35, 0.05, 0.65}},
          {"main", "burnout", false, "letter", "control", {0.1, -0.2, 0.4}}};
}

TEST(ForestPlotTest, EachRowsIntervalLandsOnTheAxis) {
  ReportData report;
  report.forest = ForestRows();
  const std::string svg = Svg(RenderReportHtml(report), "figure-forest");
  ASSERT_FALSE(svg.empty());
  EXPECT_EQ(Occurrences(svg, "<g class=\"forest-row\">"), 3);
  // The axis covers -0.47 to 0.65 and 0: ticks every 0.5 from -0.5 to 1.0.
  const std::map<std::string, double> ticks = Ticks(svg, "x");
  ASSERT_EQ(ticks.size(), 4u) << svg;
  ASSERT_TRUE(ticks.count("-0.5") && ticks.count("1.0"));
  auto x = [&](double v) { return Between(ticks, "-0.5", -0.5, "1.0", 1.0, v); };
  const auto intervals =
      MatchAll(svg, R"re(<line class="ci" x1="([-0-9.]+)" x2="([-0-9.]+)" y1="([-0-9.]+)")re", 3);
  ASSERT_EQ(intervals.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(std::stod(intervals[i][0]), x(ForestRows()[i].g.conf_low), 0.06) << i;
    EXPECT_NEAR(std::stod(intervals[i][1]), x(ForestRows()[i].g.conf_high), 0.06) << i;
  }
  EXPECT_LT(std::stod(intervals[0][2]), std::stod(intervals[1][2]));  // rows top to bottom
  // The estimate's marker is centred on g; the line of no effect through 0.
  const auto points = MatchAll(svg, R"re(<rect class="point" x="([-0-9.]+)")re", 1);
  ASSERT_EQ(points.size(), 3u);
  EXPECT_NEAR(std::stod(points[1][0]) + 4, x(0.35), 0.06);
  const auto zero =
      MatchAll(svg, R"re(<line class="zero-line" x1="([-0-9.]+)" x2="([-0-9.]+)")re", 2);
  ASSERT_EQ(zero.size(), 1u);
  EXPECT_NEAR(std::stod(zero[0][0]), x(0), 0.06);
  EXPECT_EQ(zero[0][0], zero[0][1]);  // vertical
  // Labels at left and the numbers at right.
  const auto labels = MatchAll(svg, R"re(<text class="row-label"[^>]*>([^<]*)</text>)re", 1);
  ASSERT_EQ(labels.size(), 3u);
  EXPECT_EQ(labels[0][0], "wellbeing (primary): treatment vs control");
  EXPECT_EQ(labels[2][0], "burnout: letter vs control");
  const auto values = MatchAll(svg, R"re(<text class="row-value"[^>]*>([^<]*)</text>)re", 1);
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ(values[0][0], "-0.12 [-0.47, 0.22]");
  EXPECT_EQ(values[1][0], "0.35 [0.05, 0.65]");
}

TEST(ForestPlotTest, RowsOfSeveralAnalysesNameTheirAnalysis) {
  ReportData report;
  report.forest = ForestRows();
  report.forest[2].analysis = "exp1";
  const std::string svg = Svg(RenderReportHtml(report), "figure-forest");
  const auto labels = MatchAll(svg, R"re(<text class="row-label"[^>]*>([^<]*)</text>)re", 1);
  ASSERT_EQ(labels.size(), 3u);
  EXPECT_EQ(labels[0][0], "main · wellbeing (primary): treatment vs control");
  EXPECT_EQ(labels[2][0], "exp1 · burnout: letter vs control");
}

TEST(ForestPlotTest, AnalyseFillsOneRowPerStandardisedEffect) {
  v1::AnalyseResponse analysis = AnalysedFlow();
  analysis.mutable_plan()->mutable_plan()->set_plan_id("exp2");
  auto* with_g = analysis.mutable_outcomes(0)->add_effects();
  with_g->set_arm("treatment");
  with_g->set_versus("control");
  with_g->mutable_standardised()->set_g(0.21);
  with_g->mutable_standardised()->set_conf_low(-0.1);
  with_g->mutable_standardised()->set_conf_high(0.52);
  auto* without_g = analysis.mutable_outcomes(1)->add_effects();  // no SD: no g, no row
  without_g->set_arm("treatment");
  without_g->set_versus("control");
  ReportData report;
  AddAnalysisToReport(analysis, report);
  ASSERT_EQ(report.forest.size(), 1u);
  EXPECT_EQ(report.forest[0].analysis, "exp2");
  EXPECT_EQ(report.forest[0].outcome, "wellbeing");
  EXPECT_EQ(report.forest[0].arm, "treatment");
  EXPECT_DOUBLE_EQ(report.forest[0].g.conf_high, 0.52);
  EXPECT_EQ(report.outcomes[0].arms[1].randomised, 4);
  EXPECT_THAT(RenderReportHtml(report), HasSubstr("<h2>Standardised effects</h2>"));
  report.forest.clear();
  EXPECT_THAT(RenderReportHtml(report), Not(HasSubstr("figure-forest")));
}

// --- The attenuation figure ---------------------------------------------------------------

ReportOutcome Attenuating() {
  ReportOutcome outcome;
  outcome.outcome = "wellbeing";
  outcome.arms = {{"control", 60, 16, 0.5}, {"treatment", 60, 17, 0.5}};
  ReportTimeBin early{"[0, 14) days", 0, 14, true, 40, {}};
  early.effects.push_back({"treatment", "control", 0.8, 0.2, 1.4, 0.01, 0.01, 0.3, 38, {}});
  ReportTimeBin later{"[14, 28) days", 14, 28, true, 35, {}};
  later.effects.push_back({"treatment", "control", 0.3, -0.3, 0.9, 0.3, 0.3, 0.3, 33, {}});
  ReportTimeBin latest{"", 28, 56, false, 0, {}};
  outcome.time_bins = {early, later, latest};
  return outcome;
}

TEST(AttenuationFigureTest, OnePanelPerOutcomeWithBinsEachBinLabelled) {
  ReportData report;
  report.outcomes = {Attenuating(), Attenuating()};
  report.outcomes[1].outcome = "burnout";
  report.outcomes[1].time_bins.clear();
  const std::string html = RenderReportHtml(report);
  const std::string svg = Svg(html, "figure-attenuation");
  EXPECT_EQ(Occurrences(html, "<svg class=\"figure figure-attenuation\""), 1);
  EXPECT_THAT(svg, HasSubstr("aria-label=\"wellbeing: effect by time since the intervention, "
                             "exploratory (conditions on a post-treatment variable)\""));
  EXPECT_THAT(svg, HasSubstr(">exploratory (conditions on a post-treatment variable)</text>"));
  EXPECT_EQ(Occurrences(svg, "<g class=\"time-bin\">"), 3);
  const auto labels = MatchAll(svg, R"re(<text class="bin-label"[^>]*>([^<]*)</text>)re", 1);
  ASSERT_EQ(labels.size(), 3u);
  EXPECT_EQ(labels[0][0], "[0, 14) days");
  EXPECT_EQ(labels[2][0], "28–56 days");  // no label from the service: the days
  const auto ns = MatchAll(svg, R"re(<text class="bin-n"[^>]*>([^<]*)</text>)re", 1);
  ASSERT_EQ(ns.size(), 3u);
  EXPECT_EQ(ns[0][0], "n = 40");
  EXPECT_EQ(ns[2][0], "not estimated");
  // Two estimated bins, each an interval and a marker on the y axis (ticks every 0.5).
  const std::map<std::string, double> ticks = Ticks(svg, "y");
  ASSERT_TRUE(ticks.count("-0.5") && ticks.count("1.5")) << svg;
  auto y = [&](double v) { return Between(ticks, "-0.5", -0.5, "1.5", 1.5, v) - 4; };
  const auto intervals = MatchAll(
      svg, R"re(<line class="ci" x1="([-0-9.]+)" x2="[-0-9.]+" y1="([-0-9.]+)" y2="([-0-9.]+)")re",
      3);
  ASSERT_EQ(intervals.size(), 2u);
  EXPECT_NEAR(std::stod(intervals[0][1]), y(0.2), 0.11);
  EXPECT_NEAR(std::stod(intervals[0][2]), y(1.4), 0.11);
  EXPECT_NEAR(std::stod(intervals[1][1]), y(-0.3), 0.11);
  EXPECT_LT(std::stod(intervals[0][0]), std::stod(intervals[1][0]));  // bins left to right
  const auto zero =
      MatchAll(svg, R"re(<line class="zero-line"[^>]* y1="([-0-9.]+)" y2="([-0-9.]+)")re", 2);
  ASSERT_EQ(zero.size(), 1u);
  EXPECT_NEAR(std::stod(zero[0][0]), y(0), 0.11);
  EXPECT_THAT(html, HasSubstr("<h2>Effect by time since the intervention (exploratory)</h2>"));
}

TEST(AttenuationFigureTest, AnalyseCarriesTheTimeBins) {
  v1::AnalyseResponse analysis = AnalysedFlow();
  auto* bin = analysis.mutable_outcomes(0)->add_time_bins();
  bin->set_label("[0, 7) days");
  bin->set_to_days(7);
  bin->set_estimated(true);
  bin->set_n(12);
  auto* effect = bin->add_effects();
  effect->set_arm("treatment");
  effect->mutable_effect()->set_conf_low(-0.25);
  ReportData report;
  AddAnalysisToReport(analysis, report);
  ASSERT_EQ(report.outcomes[0].time_bins.size(), 1u);
  EXPECT_EQ(report.outcomes[0].time_bins[0].label, "[0, 7) days");
  EXPECT_EQ(report.outcomes[0].time_bins[0].n, 12);
  EXPECT_DOUBLE_EQ(report.outcomes[0].time_bins[0].effects[0].conf_low, -0.25);
  EXPECT_TRUE(report.outcomes[1].time_bins.empty());
  EXPECT_THAT(RenderReportHtml(report), HasSubstr("figure-attenuation"));
  report.outcomes[0].time_bins.clear();
  EXPECT_THAT(RenderReportHtml(report), Not(HasSubstr("time since the intervention")));
}

// --- Every figure keeps hostile names as text ---------------------------------------------

TEST(ReportFiguresTest, HostileNamesAreEscapedInEveryFigure) {
  const std::string hostile = "<script>alert(\"x\")</script>&'";
  const std::string escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;";
  ReportData report;
  report.consort = ConsortFlow(FlowSnapshot(), "offer");
  report.consort->arms[1].arm = hostile;
  report.consort->arms[1].waves[0].wave = hostile;
  report.consort->arms[0].analysed.push_back({hostile, 1, 2});
  report.forest = ForestRows();
  report.forest[0].outcome = hostile;
  report.outcomes = {Attenuating()};
  report.outcomes[0].outcome = hostile;
  report.outcomes[0].time_bins[0].label = hostile;
  const std::string html = RenderReportHtml(report);
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("alert(\"")));
  EXPECT_GE(Occurrences(Svg(html, "figure-consort"), escaped), 4);  // arm, wave, outcome, name
  EXPECT_GE(Occurrences(Svg(html, "figure-forest"), escaped), 2);   // label and its title
  // The panel's title, aria-label, marker titles, bin label, and the caption beneath it.
  EXPECT_GE(Occurrences(Svg(html, "figure-attenuation"), escaped), 4);
  EXPECT_THAT(html, HasSubstr("<figcaption>" + escaped + ", exploratory"));
}

}  // namespace
}  // namespace fieldwork::cli
