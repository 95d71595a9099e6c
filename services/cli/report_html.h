// The trial report as one self-contained HTML page: a plain struct in, one string out. Inline
// CSS and inline SVG only (no scripts, no fonts or images from the network), every piece of text
// HTML-escaped. Pure, so the unit tests can check the tables and figures without any service.
#ifndef FIELDWORK_SERVICES_CLI_REPORT_HTML_H_
#define FIELDWORK_SERVICES_CLI_REPORT_HTML_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "services/common/html_escape.h"

namespace fieldwork::cli {

struct ReportArm {
  std::string arm;
  int64_t n = 0;  // with an outcome
  double mean = 0;
  double se = 0;
  int64_t randomised = 0;  // analysed participants allocated to the arm (0: not known)
};

// Hedges' g and its CI (analysis.proto's StandardisedEffect says which SD).
struct ReportStandardised {
  double g = 0;
  double conf_low = 0;
  double conf_high = 0;
};

struct ReportEffect {
  std::string arm;
  std::string versus;
  double estimate = 0;
  double conf_low = 0;
  double conf_high = 0;
  double p_value = 0;
  double adjusted_p_value = 0;
  double std_error = 0;
  double df = 0;
  std::optional<ReportStandardised> standardised;  // unset when the SD is undefined
};

// The inverse-probability-of-response weighted robustness analysis of one outcome.
struct ReportIpw {
  int64_t n = 0;
  std::string response_model;  // its terms, e.g. "arm, age, age_missing"
  double min_weight = 0;
  double max_weight = 0;
  std::vector<ReportEffect> effects;
  std::vector<std::string> warnings;
};

// The Wald test that every arm's effect is zero (three or more arms).
struct ReportJointTest {
  double f = 0;
  int df1 = 0;
  double df2 = 0;
  double p_value = 0;
};

// The effect of taking the intervention up (CACE, by 2SLS with assignment as the instrument).
struct ReportCace {
  std::string campaign;
  double estimate = 0;
  double std_error = 0;
  double df = 0;
  double conf_low = 0;
  double conf_high = 0;
  double p_value = 0;
  double first_stage_f = 0;
  std::map<std::string, double> takeup_rate_by_arm;  // share, 0..1
};

struct ReportRandomisationInference {
  int64_t draws = 0;
  double p_value = 0;
  double monte_carlo_se = 0;
  std::string method;
};

// One quantity of the long-format interaction, labelled as printed.
struct ReportInteractionEstimate {
  std::string label;  // e.g. "training vs control, among minority"
  double estimate = 0;
  double std_error = 0;
  double df = 0;
  double conf_low = 0;
  double conf_high = 0;
  double p_value = 0;
};

// The long-format interaction of an online experiment (analysis.proto's LongInteractionResult):
// a decision attribute crossed with the plan's arms, one row per decision, clustered SEs.
struct ReportInteraction {
  std::string factor;
  std::string attribute;
  std::string reference_level;
  std::string se_type;
  int64_t decisions = 0;
  int64_t clusters = 0;
  std::vector<ReportInteractionEstimate> coefficients;   // labelled by R's term names
  std::vector<ReportInteractionEstimate> arm_effects;    // each arm vs control, per level
  std::vector<ReportInteractionEstimate> level_effects;  // each level vs reference, per arm
  std::vector<ReportInteractionEstimate> cells;          // model means, "control x majority"
  ReportJointTest interaction_test;  // every attribute x arm term zero
};

// The effects among those who responded within one bin of days since the intervention: an
// exploratory analysis that conditions on a post-treatment variable (when people responded).
struct ReportTimeBin {
  std::string label;  // e.g. "[0, 14) days"
  double from_days = 0;
  double to_days = 0;
  bool estimated = false;
  int64_t n = 0;
  std::vector<ReportEffect> effects;
};

struct ReportOutcome {
  std::string outcome;
  bool primary = false;
  std::vector<ReportArm> arms;  // control first
  std::vector<ReportEffect> effects;
  std::vector<std::string> warnings;  // the analysis' notes on this outcome
  std::optional<ReportJointTest> joint_test;
  std::optional<ReportCace> cace;
  std::optional<ReportRandomisationInference> randomisation_inference;
  std::optional<ReportIpw> ipw;
  // Set for a long-format outcome: its tables replace the arm table's effects.
  std::optional<ReportInteraction> interaction;
  // Printed under the table: the weights, the standardisation, each covariate's imputation.
  std::vector<std::string> notes;
  std::vector<ReportTimeBin> time_bins;  // the plan's bins, in order; empty: none planned
};

// One row of the forest plot: a standardised effect of one arm against another on one outcome,
// under one analysis (a plan: several analyses of a trial can share the figure).
struct ReportForestRow {
  std::string analysis;  // the plan's id
  std::string outcome;
  bool primary = false;
  std::string arm;
  std::string versus;
  ReportStandardised g;
};

// The CONSORT flow of one arm at one follow-up wave. The four counts split the arm's allocated
// participants: withdrawn (excluded), else responded, else left the organisation, else did not
// respond.
struct ReportConsortWave {
  std::string wave;
  int64_t withdrawn = 0;
  int64_t left = 0;
  int64_t non_response = 0;
  int64_t responded = 0;
};

struct ReportConsortAnalysed {
  std::string outcome;
  int64_t n = 0;           // with the outcome, in the model
  int64_t randomised = 0;  // analysed participants of the arm (withdrawn excluded)
};

struct ReportConsortArm {
  std::string arm;
  int64_t allocated = 0;
  // Received the intervention: the share who took up the plan's take-up campaign, measured by
  // opens and clicks; unset when not measured.
  std::optional<double> takeup_rate;
  std::vector<ReportConsortWave> waves;         // in the trial's wave order
  std::vector<ReportConsortAnalysed> analysed;  // one per outcome of the plan
};

// The CONSORT 2025 participant flow of a trial: enrolled, allocated (one column per arm of the
// plan's factor), received the intervention, lost to follow-up per wave, analysed.
struct ReportConsort {
  std::string factor;
  int64_t enrolled = 0;
  std::string takeup_campaign;         // empty: take-up not measured
  std::vector<ReportConsortArm> arms;  // in design order
};

struct ReportAttritionArm {
  std::string arm;
  int64_t randomised = 0;
  int64_t responded = 0;
  double rate = 0;  // share, 0..1
};

struct ReportAttrition {
  std::string outcome;
  std::vector<ReportAttritionArm> arms;
  double differential_points = 0;
  double p_value = 0;
};

struct ReportMdes {
  std::string outcome;
  bool planned_known = false;  // false: the plan has no power section
  double planned = 0;
  double planned_response_rate = 0;
  double actual_response_rate = 0;
  double achieved = 0;  // 0: not yet estimated (nobody responded)
  double change_due_to_response_rate = 0;
  double share_due_to_response_rate = 0;
};

// Cumulative response rate of one arm in one wave: points (days since the wave opened, share of
// the arm's randomised participants who had responded by then).
struct ReportResponseSeries {
  std::string wave;
  std::string arm;
  std::vector<std::pair<double, double>> points;
};

// One bar of the CV experiment's figure: the progression rate (share, 0..1) of candidates of one
// group in one condition, over n decisions.
struct ReportProgression {
  std::string condition;
  std::string group;
  int64_t n = 0;
  double rate = 0;
  double se = 0;
  // From the analysis' long-format model: the cell mean's CI, clustered by participant (the
  // bar's error is then half of it); unset for rates tallied from the responses (± SE).
  std::optional<std::pair<double, double>> ci;
};

struct ReportData {
  std::string trial_id;
  std::string title;
  std::string plan_id;
  std::string plan_sha256;         // empty: the plan is not locked
  std::string computed_at;         // as printed
  double confidence_percent = 95;  // the plan's 1 - alpha
  // The plan's factor was assigned, not randomised: the comparisons are descriptive.
  std::string descriptive_factor;
  std::vector<std::string> warnings;
  std::vector<ReportOutcome> outcomes;
  std::vector<ReportAttrition> attrition;
  std::vector<ReportMdes> mdes;
  std::vector<ReportResponseSeries> response_over_time;
  std::string progression_title;  // e.g. "exp1_evaluation x candidate group"
  std::vector<ReportProgression> progression;
  std::optional<ReportConsort> consort;  // unset: nobody allocated
  // Every standardised effect (Hedges' g), from every analysis reported.
  std::vector<ReportForestRow> forest;
};

// HTML escaping is fieldwork::HtmlEscape (services/common/html_escape.h).
using ::fieldwork::HtmlEscape;

// The page. Sections without data are left out, except the outcome tables and the means figure,
// which say that there are no outcomes. Figures scale to the page's width (no sideways scrolling
// at 320 px); wide tables scroll inside themselves.
std::string RenderReportHtml(const ReportData& report);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_REPORT_HTML_H_
