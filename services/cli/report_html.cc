#include "services/cli/report_html.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "services/cli/consort_figure.h"
#include "services/cli/effect_charts.h"
#include "services/cli/report_format.h"
#include "services/cli/svg_charts.h"

namespace fieldwork::cli {
namespace {

constexpr char kStyle[] = R"css(
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #222; margin: 2em auto; max-width: 60em; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 2px solid #0072B2; padding-bottom: 0.2em; margin-top: 2em; }
p.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.3em; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #ddd; }
th { background: #f0f4f8; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
ul.outcome-notes, ul.table-notes { color: #555; font-size: 0.85em; margin-top: -0.5em; }
ul.warnings { background: #fff4e0; border-left: 4px solid #E69F00; padding: 0.6em 0.6em 0.6em 2em; }
table { display: block; overflow-x: auto; max-width: 100%; }
svg.figure { display: block; margin: 1em 0; background: #fff; height: auto; }
figure.report-figure { margin: 1em 0 1.5em; }
figure.report-figure svg.figure { margin-bottom: 0.3em; }
figcaption { color: #555; font-size: 0.85em; }
svg .consort-box rect { fill: #f0f4f8; stroke: #0072B2; stroke-width: 1.2; }
svg .consort-heading { font-size: 11px; font-weight: bold; fill: #222; }
svg .consort-count { font-size: 11px; fill: #222; }
svg .arrow { stroke: #555; stroke-width: 1.2; fill: none; }
svg .arrow-head { fill: #555; }
svg .ci { stroke-width: 2; }
svg .zero-line { stroke: #222; stroke-width: 1.2; stroke-dasharray: 4 3; }
svg .row-label, svg .row-value, svg .column-head, svg .bin-label, svg .bin-n, svg .exploratory { font-size: 11px; fill: #333; }
svg .column-head, svg .exploratory { font-weight: bold; }
svg .chart-title { font-size: 14px; font-weight: bold; }
svg .tick, svg .bar-label, svg .group-label, svg .axis-label, svg .legend-entry text { font-size: 11px; fill: #333; }
svg .grid { stroke: #e4e4e4; }
svg .axis { stroke: #555; }
svg .error-bar { stroke: #222; stroke-width: 1.5; fill: none; }
)css";

// A wide table scrolls inside itself on a narrow screen rather than the page sideways; the
// keyboard can reach it to scroll it (tabindex), as WCAG 2.1.1 asks.
std::string TableOpen(const std::string& css_class) {
  return absl::StrCat("<table class=\"", css_class, "\" tabindex=\"0\">");
}

std::string Cell(const std::string& text, bool numeric = false) {
  return absl::StrCat(numeric ? "<td class=\"num\">" : "<td>", HtmlEscape(text), "</td>");
}

std::string Header(const std::vector<std::string>& names) {
  std::string out = "<tr>";
  for (const std::string& name : names) absl::StrAppend(&out, "<th>", HtmlEscape(name), "</th>");
  return out + "</tr>";
}

std::string OutcomeLabel(const ReportOutcome& outcome) {
  return outcome.outcome + (outcome.primary ? " (primary)" : "");
}

// Hedges' g and its CI, or NA when the SD is undefined.
std::string StandardisedCells(const ReportEffect& e) {
  if (!e.standardised.has_value()) return Cell("NA", true) + Cell("", true);
  return Cell(FormatFixed(e.standardised->g, 2), true) +
         Cell(FormatInterval(e.standardised->conf_low, e.standardised->conf_high), true);
}

// The inverse-probability-of-response weighted robustness analysis, labelled as such.
std::string IpwTable(const ReportOutcome& outcome, const std::string& ci) {
  const ReportIpw& w = *outcome.ipw;
  std::string out = absl::StrCat(
      TableOpen("ipw-table"), "<caption>",
      HtmlEscape(absl::StrCat(
          OutcomeLabel(outcome),
          ": robustness, not pre-registered: inverse-probability-of-response weights (1/p of "
          "responding from a logistic regression on ",
          w.response_model, "; n = ", w.n, ", weights ", FormatFixed(w.min_weight, 2), " to ",
          FormatFixed(w.max_weight, 2), ")")),
      "</caption>",
      Header({"Arm", "Versus", "Estimate", "SE", "df", ci, "p", "Hedges' g", "g " + ci}));
  for (const ReportEffect& e : w.effects) {
    absl::StrAppend(&out, "<tr>", Cell(e.arm), Cell(e.versus), Cell(FormatFixed(e.estimate, 2), true),
                    Cell(FormatFixed(e.std_error, 2), true), Cell(FormatDf(e.df), true),
                    Cell(FormatInterval(e.conf_low, e.conf_high), true), Cell(FormatP(e.p_value), true),
                    StandardisedCells(e), "</tr>");
  }
  absl::StrAppend(&out, "</table>");
  if (!w.warnings.empty()) {
    absl::StrAppend(&out, "<ul class=\"outcome-notes\">");
    for (const std::string& warning : w.warnings)
      absl::StrAppend(&out, "<li>", HtmlEscape(warning), "</li>");
    absl::StrAppend(&out, "</ul>");
  }
  return out;
}

// The joint test, the randomisation-inference p and the take-up effect of one outcome.
std::string OutcomeExtras(const ReportOutcome& outcome, const std::string& ci) {
  std::string out;
  if (outcome.joint_test.has_value()) {
    const ReportJointTest& j = *outcome.joint_test;
    absl::StrAppend(&out, "<p class=\"joint-test\">Joint test that all effects are zero: F(",
                    j.df1, ", ", HtmlEscape(FormatDf(j.df2)), ") = ", FormatFixed(j.f, 2),
                    ", p = ", HtmlEscape(FormatP(j.p_value)), "</p>");
  }
  if (outcome.randomisation_inference.has_value()) {
    const ReportRandomisationInference& ri = *outcome.randomisation_inference;
    absl::StrAppend(&out, "<p class=\"randomisation-inference\">Randomisation inference (",
                    ri.draws, " redraws, ", HtmlEscape(ri.method),
                    "): p = ", HtmlEscape(FormatP(ri.p_value)), " (Monte Carlo SE ",
                    FormatFixed(ri.monte_carlo_se, 3), ")</p>");
  }
  if (outcome.cace.has_value()) {
    const ReportCace& c = *outcome.cace;
    std::string rates;
    for (const auto& [arm, rate] : c.takeup_rate_by_arm) {
      absl::StrAppend(&rates, rates.empty() ? "" : ", ", arm, " ", FormatPercent(rate));
    }
    absl::StrAppend(
        &out, TableOpen("cace-table"), "<caption>",
        HtmlEscape(absl::StrCat(OutcomeLabel(outcome), ": take-up effect (CACE, 2SLS), campaign ",
                                c.campaign)),
        "</caption>", Header({"Estimate", "SE", "df", ci, "p", "First-stage F", "Take-up by arm"}),
        "<tr>", Cell(FormatFixed(c.estimate, 2), true), Cell(FormatFixed(c.std_error, 2), true),
        Cell(FormatDf(c.df), true), Cell(FormatInterval(c.conf_low, c.conf_high), true),
        Cell(FormatP(c.p_value), true), Cell(FormatFixed(c.first_stage_f, 2), true), Cell(rates),
        "</tr></table>");
  }
  if (outcome.ipw.has_value()) absl::StrAppend(&out, IpwTable(outcome, ci));
  return out;
}

// The arms' means and each arm's effect against control, with Hedges' g.
std::string EffectTable(const ReportOutcome& outcome, const std::string& ci, bool descriptive) {
  std::string out = absl::StrCat(TableOpen("outcome-table"), "<caption>", HtmlEscape(OutcomeLabel(outcome)),
                                 descriptive ? " (descriptive)" : "", "</caption>",
                                 Header({"Arm", "n", "M", "SE", "Estimate", "SE of estimate", "df", ci, "p",
                                         "Adjusted p", "Hedges' g", "g " + ci}));
  std::map<std::string, const ReportEffect*> effects;
  for (const ReportEffect& effect : outcome.effects) effects[effect.arm] = &effect;
  for (const ReportArm& arm : outcome.arms) {
    absl::StrAppend(&out, "<tr>", Cell(arm.arm), Cell(absl::StrCat(arm.n), true),
                    Cell(FormatFixed(arm.mean, 2), true), Cell(FormatFixed(arm.se, 2), true));
    auto it = effects.find(arm.arm);
    if (it == effects.end()) {
      absl::StrAppend(&out, "<td colspan=\"8\">reference</td>");
    } else {
      const ReportEffect& e = *it->second;
      absl::StrAppend(&out, Cell(FormatFixed(e.estimate, 2), true), Cell(FormatFixed(e.std_error, 2), true),
                      Cell(FormatDf(e.df), true), Cell(FormatInterval(e.conf_low, e.conf_high), true),
                      Cell(FormatP(e.p_value), true), Cell(FormatP(e.adjusted_p_value), true),
                      StandardisedCells(e));
    }
    absl::StrAppend(&out, "</tr>");
  }
  return out + "</table>";
}

std::string InteractionRows(const std::string& css_class, const std::string& caption,
                            const std::vector<ReportInteractionEstimate>& rows, const std::string& ci) {
  if (rows.empty()) return "";
  std::string out = absl::StrCat(TableOpen(css_class), "<caption>", HtmlEscape(caption), "</caption>",
                                 Header({"", "Estimate", "SE", "df", ci, "p"}));
  for (const ReportInteractionEstimate& e : rows) {
    absl::StrAppend(&out, "<tr>", Cell(e.label), Cell(FormatFixed(e.estimate, 3), true),
                    Cell(FormatFixed(e.std_error, 3), true), Cell(FormatDf(e.df), true),
                    Cell(FormatInterval(e.conf_low, e.conf_high), true), Cell(FormatP(e.p_value), true), "</tr>");
  }
  return out + "</table>";
}

// A long-format outcome: decisions per arm, then the model's terms, contrasts and test.
std::string InteractionTables(const ReportOutcome& outcome, const std::string& ci) {
  const ReportInteraction& x = *outcome.interaction;
  std::string out = absl::StrCat(
      TableOpen("interaction-arms"), "<caption>",
      HtmlEscape(absl::StrCat(OutcomeLabel(outcome), ": ", x.attribute, " x ", x.factor, ", ", x.decisions,
                              " decisions from ", x.clusters, " participants (SEs ", x.se_type,
                              ", clustered by participant)")),
      "</caption>", Header({"Arm", "Decisions", "Raw mean"}));
  for (const ReportArm& arm : outcome.arms) {
    absl::StrAppend(&out, "<tr>", Cell(arm.arm), Cell(absl::StrCat(arm.n), true), Cell(FormatFixed(arm.mean, 3), true),
                    "</tr>");
  }
  absl::StrAppend(&out, "</table>",
                  InteractionRows("interaction-terms", "Coefficients (as R names them)", x.coefficients, ci),
                  InteractionRows("interaction-arm-effects", absl::StrCat("Effect of ", x.factor, " by ", x.attribute),
                                  x.arm_effects, ci),
                  InteractionRows("interaction-level-effects", absl::StrCat(x.attribute, " gap by ", x.factor),
                                  x.level_effects, ci));
  absl::StrAppend(&out, "<p class=\"interaction-test\">Interaction (every ", HtmlEscape(x.attribute), " x ",
                  HtmlEscape(x.factor), " term zero): F(", x.interaction_test.df1, ", ",
                  HtmlEscape(FormatDf(x.interaction_test.df2)), ") = ", FormatFixed(x.interaction_test.f, 2),
                  ", p = ", HtmlEscape(FormatP(x.interaction_test.p_value)), "</p>");
  return out;
}

std::string OutcomeTables(const ReportData& report) {
  std::string out = "<h2>Outcomes</h2>";
  if (report.outcomes.empty()) return out + "<p class=\"empty\">No outcomes analysed.</p>";
  if (!report.descriptive_factor.empty()) {
    absl::StrAppend(&out, "<p class=\"descriptive\">",
                    HtmlEscape(DescriptiveNote(report.descriptive_factor)), "</p>");
  }
  const std::string ci = FormatFixed(report.confidence_percent, 0) + "% CI";
  for (const ReportOutcome& outcome : report.outcomes) {
    if (outcome.interaction.has_value()) {
      absl::StrAppend(&out, InteractionTables(outcome, ci));
    } else {
      absl::StrAppend(&out, EffectTable(outcome, ci, !report.descriptive_factor.empty()));
    }
    if (!outcome.notes.empty()) {
      absl::StrAppend(&out, "<ul class=\"table-notes\">");
      for (const std::string& note : outcome.notes)
        absl::StrAppend(&out, "<li>", HtmlEscape(note), "</li>");
      absl::StrAppend(&out, "</ul>");
    }
    absl::StrAppend(&out, OutcomeExtras(outcome, ci));
    if (!outcome.warnings.empty()) {
      absl::StrAppend(&out, "<ul class=\"outcome-notes\">");
      for (const std::string& w : outcome.warnings)
        absl::StrAppend(&out, "<li>", HtmlEscape(w), "</li>");
      absl::StrAppend(&out, "</ul>");
    }
  }
  return out;
}

// Every arm in the order the outcome tables list them (control first), so an arm has one colour
// in every figure.
std::vector<std::string> ArmOrder(const ReportData& report) {
  std::vector<std::string> arms;
  auto add = [&](const std::string& arm) {
    if (std::find(arms.begin(), arms.end(), arm) == arms.end()) arms.push_back(arm);
  };
  for (const ReportOutcome& outcome : report.outcomes) {
    for (const ReportArm& arm : outcome.arms) add(arm.arm);
  }
  for (const ReportResponseSeries& series : report.response_over_time) add(series.arm);
  return arms;
}

std::string MeansFigures(const ReportData& report) {
  std::string out = "<h2>Means by arm</h2>";
  if (report.outcomes.empty()) return out + "<p class=\"empty\">No outcomes analysed.</p>";
  for (const ReportOutcome& outcome : report.outcomes) {
    BarChart chart;
    chart.css_class = "figure-means";
    chart.title = OutcomeLabel(outcome) + ": mean ± SE by arm";
    chart.y_label = outcome.outcome;
    chart.colour_order = ArmOrder(report);
    BarGroup group;
    group.label = outcome.outcome;
    for (const ReportArm& arm : outcome.arms) {
      group.bars.push_back({arm.arm, arm.mean, arm.se, FormatFixed(arm.mean, 2)});
    }
    chart.groups.push_back(std::move(group));
    absl::StrAppend(&out, RenderBarChart(chart));
  }
  return out;
}

std::string AttritionTables(const ReportData& report) {
  if (report.attrition.empty()) return "";
  std::string out = "<h2>Attrition</h2>";
  for (const ReportAttrition& attrition : report.attrition) {
    absl::StrAppend(&out, TableOpen("attrition-table"), "<caption>", HtmlEscape(attrition.outcome),
                    "</caption>", Header({"Arm", "Randomised", "Responded", "Response rate"}));
    for (const ReportAttritionArm& arm : attrition.arms) {
      absl::StrAppend(&out, "<tr>", Cell(arm.arm), Cell(absl::StrCat(arm.randomised), true),
                      Cell(absl::StrCat(arm.responded), true), Cell(FormatPercent(arm.rate), true),
                      "</tr>");
    }
    absl::StrAppend(&out, "<tr><td colspan=\"3\">Differential attrition (points), p</td>",
                    Cell(absl::StrCat(FormatFixed(attrition.differential_points, 1),
                                      ", p = ", FormatP(attrition.p_value)),
                         true),
                    "</tr></table>");
  }
  return out;
}

std::string MdesTable(const ReportData& report) {
  if (report.mdes.empty()) return "";
  std::string out =
      absl::StrCat("<h2>MDES ledger</h2>", TableOpen("mdes-table"),
                   Header({"Outcome", "Planned MDES", "Planned response", "Actual response",
                           "Achieved MDES", "Change due to response rate", "Share of change"}));
  for (const ReportMdes& m : report.mdes) {
    const bool compared = m.planned_known && m.achieved > 0;
    absl::StrAppend(&out, "<tr>", Cell(m.outcome),
                    Cell(FormatPlannedMdes(m.planned_known, m.planned), true),
                    Cell(m.planned_known ? FormatPercent(m.planned_response_rate) : "-", true),
                    Cell(FormatPercent(m.actual_response_rate), true),
                    Cell(FormatAchievedMdes(m.achieved), true),
                    Cell(compared ? FormatFixed(m.change_due_to_response_rate, 3) : "-", true),
                    Cell(compared ? FormatPercent(m.share_due_to_response_rate) : "-", true),
                    "</tr>");
  }
  absl::StrAppend(&out, "</table>");
  if (!report.mdes.empty() && !report.mdes[0].planned_known) {
    absl::StrAppend(&out, "<p class=\"mdes-note\">No MDES was planned: the plan has no power "
                          "section.</p>");
  }
  return out;
}

std::string ResponseFigures(const ReportData& report) {
  if (report.response_over_time.empty()) return "";
  std::vector<std::string> waves;
  std::map<std::string, LineChart> charts;
  for (const ReportResponseSeries& series : report.response_over_time) {
    auto [it, added] = charts.try_emplace(series.wave);
    if (added) {
      waves.push_back(series.wave);
      it->second.css_class = "figure-response";
      it->second.title = "Response rate by arm over time: " + series.wave;
      it->second.x_label = "days since the wave opened";
      it->second.y_label = "responded";
      it->second.percent_axis = true;
      it->second.colour_order = ArmOrder(report);
    }
    it->second.series.push_back({series.arm, series.points});
  }
  std::string out = "<h2>Response rate over time</h2>";
  for (const std::string& wave : waves) absl::StrAppend(&out, RenderLineChart(charts[wave]));
  return out;
}

std::string ProgressionSection(const ReportData& report) {
  if (report.progression.empty()) return "";
  BarChart chart;
  chart.css_class = "figure-progression";
  chart.title = "Progression rate: " + report.progression_title;
  chart.y_label = "progressed";
  chart.percent_axis = true;
  std::map<std::string, size_t> group_index;
  std::string table = absl::StrCat(
      TableOpen("progression-table"), "<caption>", HtmlEscape(report.progression_title),
      "</caption>", Header({"Condition", "Candidate group", "Decisions", "Progressed", "SE", "CI"}));
  for (const ReportProgression& p : report.progression) {
    auto [it, added] = group_index.try_emplace(p.condition, chart.groups.size());
    if (added) chart.groups.push_back({p.condition, {}});
    // The model's clustered CI when the analysis gave one (symmetric: t-based), else ± SE.
    const double error = p.ci.has_value() ? (p.ci->second - p.ci->first) / 2 : p.se;
    chart.groups[it->second].bars.push_back({p.group, p.rate, error, FormatPercent(p.rate)});
    absl::StrAppend(&table, "<tr>", Cell(p.condition), Cell(p.group), Cell(absl::StrCat(p.n), true),
                    Cell(FormatPercent(p.rate), true), Cell(FormatPercent(p.se), true),
                    Cell(p.ci.has_value() ? FormatPercent(p.ci->first) + " to " + FormatPercent(p.ci->second) : "",
                         true),
                    "</tr>");
  }
  return absl::StrCat("<h2>Progression by condition and candidate group</h2>",
                      RenderBarChart(chart), table, "</table>");
}

std::string ConsortSection(const ReportData& report) {
  if (!report.consort.has_value()) return "";
  return "<h2>Participant flow</h2>" + RenderConsortFigure(*report.consort);
}

std::string ForestSection(const ReportData& report) {
  if (report.forest.empty()) return "";
  return absl::StrCat("<h2>Standardised effects</h2>",
                      RenderForestPlot(report.forest, report.confidence_percent));
}

// As the evaluation report's figures 5 and 6: the effect by time since the intervention.
std::string AttenuationSection(const ReportData& report) {
  std::string panels;
  for (const ReportOutcome& outcome : report.outcomes) {
    if (outcome.time_bins.empty()) continue;
    absl::StrAppend(&panels,
                    RenderAttenuationPanel(outcome, report.confidence_percent, ArmOrder(report)));
  }
  if (panels.empty()) return "";
  return absl::StrCat("<h2>Effect by time since the intervention (exploratory)</h2>",
                      "<p class=\"exploratory-note\">Exploratory: these estimates condition on "
                      "when people responded, which the intervention may itself have changed (a "
                      "post-treatment variable), so they are not randomised comparisons.</p>",
                      panels);
}

}  // namespace

std::string RenderReportHtml(const ReportData& report) {
  const std::string heading = report.title.empty() ? report.trial_id : report.title;
  std::string out = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
      "'unsafe-inline'; img-src data:\">",
      "<title>", HtmlEscape(heading), " - trial report</title><style>", kStyle,
      "</style></head><body>", "<h1>", HtmlEscape(heading), "</h1><p class=\"meta\">Trial ",
      HtmlEscape(report.trial_id), " · plan ",
      HtmlEscape(report.plan_id.empty() ? "main" : report.plan_id), " · ",
      report.plan_sha256.empty() ? std::string("plan not locked")
                                 : absl::StrCat("locked sha256 ", HtmlEscape(report.plan_sha256)),
      report.computed_at.empty() ? ""
                                 : absl::StrCat(" · computed ", HtmlEscape(report.computed_at)),
      "</p>");
  if (!report.warnings.empty()) {
    absl::StrAppend(&out, "<ul class=\"warnings\">");
    for (const std::string& w : report.warnings)
      absl::StrAppend(&out, "<li>", HtmlEscape(w), "</li>");
    absl::StrAppend(&out, "</ul>");
  }
  absl::StrAppend(&out, ConsortSection(report), OutcomeTables(report), ForestSection(report),
                  MeansFigures(report), AttenuationSection(report), AttritionTables(report),
                  MdesTable(report), ResponseFigures(report), ProgressionSection(report),
                  "</body></html>\n");
  return out;
}

}  // namespace fieldwork::cli
