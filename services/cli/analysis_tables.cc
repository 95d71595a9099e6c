#include "services/cli/analysis_tables.h"

#include <google/protobuf/util/time_util.h>

#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/cli/report_format.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;

std::string Title(const v1::OutcomeResult& outcome) {
  return outcome.outcome() + (outcome.primary() ? " (primary)" : "");
}

double ConfidencePercent(const v1::AnalyseResponse& analysis) {
  const double alpha = analysis.plan().plan().alpha() > 0 ? analysis.plan().plan().alpha() : 0.05;
  return 100 * (1 - alpha);
}

// "control 0.0%, treatment 25.0%"
std::string TakeUpRates(const std::map<std::string, double>& rates) {
  return absl::StrJoin(rates, ", ", [](std::string* out, const auto& rate) {
    absl::StrAppend(out, rate.first, " ", FormatPercent(rate.second));
  });
}

std::optional<ReportJointTest> JointTestOf(const v1::OutcomeResult& outcome) {
  if (outcome.joint_df1() <= 0) return std::nullopt;
  return ReportJointTest{outcome.joint_f(), outcome.joint_df1(), outcome.joint_df2(),
                         outcome.joint_p_value()};
}

std::optional<ReportCace> CaceOf(const v1::OutcomeResult& outcome) {
  if (!outcome.has_cace() || !outcome.cace().has_effect()) return std::nullopt;
  const v1::Cace& c = outcome.cace();
  const v1::Inference& e = c.effect();
  return ReportCace{c.campaign(),
                    e.estimate(),
                    e.std_error(),
                    e.df(),
                    e.conf_low(),
                    e.conf_high(),
                    e.p_value(),
                    c.first_stage_f(),
                    {c.takeup_rate_by_arm().begin(), c.takeup_rate_by_arm().end()}};
}

std::optional<ReportRandomisationInference> RandomisationInferenceOf(
    const v1::OutcomeResult& outcome) {
  if (!outcome.has_randomisation_inference()) return std::nullopt;
  const v1::RandomisationInference& ri = outcome.randomisation_inference();
  return ReportRandomisationInference{ri.draws(), ri.p_value(), ri.monte_carlo_se(), ri.method()};
}

std::optional<ReportStandardised> StandardisedOf(const v1::Effect& effect) {
  if (!effect.has_standardised()) return std::nullopt;
  const v1::StandardisedEffect& g = effect.standardised();
  return ReportStandardised{g.g(), g.conf_low(), g.conf_high()};
}

ReportEffect EffectOf(const v1::Effect& e) {
  const v1::Inference& i = e.effect();
  return {e.arm(),        e.versus(),     i.estimate(),          i.conf_low(),
          i.conf_high(),  i.p_value(),    e.adjusted_p_value(),  i.std_error(),
          i.df(),         StandardisedOf(e)};
}

// What the table's numbers rest on, said under it in `analyse` and the report alike.
std::vector<std::string> NotesOf(const v1::AnalysisPlan& plan, const v1::OutcomeResult& outcome) {
  std::vector<std::string> notes;
  if (!plan.weights().empty()) {
    notes.push_back(absl::StrCat("weighted by ", plan.weights(),
                                 " (the plan's weights): weighted least squares, as "
                                 "lm_robust(weights =); raw SDs and g's SD unweighted"));
  }
  bool any_g = false;
  for (const v1::Effect& e : outcome.effects()) any_g = any_g || e.has_standardised();
  if (any_g) {
    notes.push_back(
        "g: Hedges' g, the estimate over the pooled SD of the outcome among the two compared "
        "arms' respondents, times J = 1 - 3/(4n - 9); its CI is the estimate's CI scaled alike");
  }
  for (const v1::CovariateImputation& c : outcome.imputations()) {
    notes.push_back(absl::StrCat(
        "covariate ", c.covariate(), ": ", c.missing(), " missing value(s) set to the respondents' ",
        c.categorical() ? std::string("share of each level")
                        : absl::StrCat("mean (", FormatFixed(c.fill_value(), 2), ")"),
        ", with the missingness indicator ", c.indicator(), " in the model"));
  }
  return notes;
}

std::optional<ReportIpw> IpwOf(const v1::OutcomeResult& outcome) {
  if (!outcome.has_ipw()) return std::nullopt;
  const v1::InverseProbabilityWeighting& w = outcome.ipw();
  ReportIpw ipw{w.n(), absl::StrJoin(w.response_model_terms(), ", "), w.min_weight(),
                w.max_weight(), {}, {w.warnings().begin(), w.warnings().end()}};
  for (const v1::Effect& e : w.effects()) ipw.effects.push_back(EffectOf(e));
  return ipw;
}

ReportInteractionEstimate InteractionEstimateOf(std::string label, const v1::Inference& i) {
  return {std::move(label), i.estimate(), i.std_error(), i.df(), i.conf_low(), i.conf_high(), i.p_value()};
}

std::optional<ReportInteraction> InteractionOf(const v1::AnalysisPlan& plan, const v1::OutcomeResult& outcome) {
  if (!outcome.has_interaction()) return std::nullopt;
  const v1::LongInteractionResult& x = outcome.interaction();
  ReportInteraction out;
  out.factor = plan.factor();
  out.attribute = x.attribute();
  out.reference_level = x.reference_level();
  out.se_type = x.se_type();
  out.decisions = x.decisions();
  out.clusters = x.clusters();
  for (int j = 0; j < x.terms_size() && j < x.coefficients_size(); ++j) {
    out.coefficients.push_back(InteractionEstimateOf(x.terms(j), x.coefficients(j)));
  }
  for (const v1::InteractionEstimate& e : x.arm_effects()) {
    out.arm_effects.push_back(InteractionEstimateOf(
        absl::StrCat(e.arm(), " vs ", e.versus_arm(), ", among ", x.attribute(), " ", e.level()), e.inference()));
  }
  for (const v1::InteractionEstimate& e : x.level_effects()) {
    out.level_effects.push_back(InteractionEstimateOf(
        absl::StrCat(x.attribute(), " ", e.level(), " vs ", e.versus_level(), ", under ", e.arm()), e.inference()));
  }
  for (const v1::InteractionEstimate& e : x.cells()) {
    out.cells.push_back(InteractionEstimateOf(absl::StrCat(e.arm(), " x ", e.level()), e.inference()));
  }
  out.interaction_test = {x.interaction_f(), x.interaction_df1(), x.interaction_df2(), x.interaction_p_value()};
  return out;
}

void PrintInteractionRows(const std::string& heading, const std::vector<ReportInteractionEstimate>& rows,
                          const std::string& ci, std::ostream& out) {
  if (rows.empty()) return;
  out << "  " << heading << "\n"
      << absl::StrFormat("    %-56s %9s %8s %7s %-20s %8s\n", "", "estimate", "SE", "df", ci, "p");
  for (const ReportInteractionEstimate& e : rows) {
    out << absl::StrFormat("    %-56s %9s %8s %7s %-20s %8s\n", e.label, FormatFixed(e.estimate, 3),
                           FormatFixed(e.std_error, 3), FormatDf(e.df), FormatInterval(e.conf_low, e.conf_high),
                           FormatP(e.p_value));
  }
}

// A long-format outcome: decisions per arm, the model's terms, the contrasts and the cells.
void PrintInteraction(const v1::OutcomeResult& outcome, const ReportInteraction& x, const std::string& ci,
                      std::ostream& out) {
  out << "  long-format interaction " << x.attribute << " x " << x.factor << " (reference " << x.reference_level
      << "): " << x.decisions << " decisions from " << x.clusters << " participants, SEs " << x.se_type
      << " clustered by participant\n"
      << absl::StrFormat("  %-16s %12s %10s %9s %8s\n", "arm", "participants", "decisions", "raw M", "raw SD");
  for (const v1::ArmFigures& arm : outcome.arms()) {
    out << absl::StrFormat("  %-16s %12d %10d %9s %8s\n", arm.arm(), arm.randomised(), arm.n(),
                           FormatFixed(arm.raw_mean(), 3), FormatFixed(arm.raw_sd(), 3));
  }
  PrintInteractionRows("coefficients", x.coefficients, ci, out);
  PrintInteractionRows(absl::StrCat("effect of ", x.factor, " by ", x.attribute), x.arm_effects, ci, out);
  PrintInteractionRows(absl::StrCat(x.attribute, " gap by ", x.factor), x.level_effects, ci, out);
  const ReportJointTest& test = x.interaction_test;
  out << "  interaction (every " << x.attribute << " x " << x.factor << " term zero): F(" << test.df1 << ", "
      << FormatDf(test.df2) << ") = " << FormatFixed(test.f, 2) << ", p = " << FormatP(test.p_value) << "\n";
  PrintInteractionRows("model means by cell (the progression figure)", x.cells, ci, out);
}

std::vector<ReportTimeBin> TimeBinsOf(const v1::OutcomeResult& outcome) {
  std::vector<ReportTimeBin> bins;
  for (const v1::TimeBinResult& b : outcome.time_bins()) {
    ReportTimeBin bin{b.label(), b.from_days(), b.to_days(), b.estimated(), b.n(), {}};
    for (const v1::Effect& e : b.effects()) bin.effects.push_back(EffectOf(e));
    bins.push_back(std::move(bin));
  }
  return bins;
}

std::string StandardisedText(const std::optional<ReportStandardised>& g) {
  if (!g.has_value()) return "g NA";
  return absl::StrCat("g ", FormatFixed(g->g, 2), " ", FormatInterval(g->conf_low, g->conf_high));
}

void PrintIpw(const ReportIpw& ipw, const std::string& ci, std::ostream& out) {
  out << "  robustness, not pre-registered: inverse-probability-of-response weights (1/p of "
         "responding from a logistic regression on "
      << ipw.response_model << "; n = " << ipw.n << ", weights "
      << FormatFixed(ipw.min_weight, 2) << " to " << FormatFixed(ipw.max_weight, 2) << ")\n";
  for (const ReportEffect& e : ipw.effects) {
    out << "    " << e.arm << " vs " << e.versus << ": " << FormatFixed(e.estimate, 2) << ", SE "
        << FormatFixed(e.std_error, 2) << ", df " << FormatDf(e.df) << ", " << ci << " "
        << FormatInterval(e.conf_low, e.conf_high) << ", p = " << FormatP(e.p_value) << "; "
        << StandardisedText(e.standardised) << "\n";
  }
  for (const std::string& w : ipw.warnings) out << "    warning: " << w << "\n";
}

void PrintOutcome(const v1::AnalysisPlan& plan, const v1::OutcomeResult& outcome,
                  double confidence, bool descriptive, std::ostream& out) {
  const std::string ci = FormatFixed(confidence, 0) + "% CI";
  out << "\n"
      << Title(outcome) << ": n = " << outcome.n() << (outcome.has_interaction() ? " decisions" : "")
      << ", SEs " << outcome.se_type() << (descriptive ? ", descriptive comparison" : "") << "\n";
  if (std::optional<ReportInteraction> interaction = InteractionOf(plan, outcome)) {
    PrintInteraction(outcome, *interaction, ci, out);
    for (const std::string& note : NotesOf(plan, outcome)) out << "  note: " << note << "\n";
    for (const std::string& w : outcome.warnings()) out << "  warning: " << w << "\n";
    return;
  }
  out << absl::StrFormat("  %-16s %7s %9s %8s %9s %8s %7s %-20s %8s %10s %6s %-16s\n", "arm", "n",
                         "M", "SE", "estimate", "SE", "df", ci, "p", "adjusted p", "g",
                         "g " + ci);
  for (const v1::ArmFigures& arm : outcome.arms()) {
    const v1::Effect* effect = nullptr;
    for (const v1::Effect& e : outcome.effects()) {
      if (e.arm() == arm.arm()) effect = &e;
    }
    out << absl::StrFormat("  %-16s %7d %9s %8s", arm.arm(), arm.n(),
                           FormatFixed(arm.adjusted_mean().estimate(), 2),
                           FormatFixed(arm.adjusted_mean().std_error(), 2));
    if (effect == nullptr) {
      out << absl::StrFormat(" %9s\n", "(ref)");
      continue;
    }
    const v1::Inference& e = effect->effect();
    const std::optional<ReportStandardised> g = StandardisedOf(*effect);
    out << absl::StrFormat(" %9s %8s %7s %-20s %8s %10s %6s %-16s\n", FormatFixed(e.estimate(), 2),
                           FormatFixed(e.std_error(), 2), FormatDf(e.df()),
                           FormatInterval(e.conf_low(), e.conf_high()), FormatP(e.p_value()),
                           FormatP(effect->adjusted_p_value()),
                           g.has_value() ? FormatFixed(g->g, 2) : "NA",
                           g.has_value() ? FormatInterval(g->conf_low, g->conf_high) : "");
  }
  for (const std::string& note : NotesOf(plan, outcome)) out << "  note: " << note << "\n";
  if (std::optional<ReportJointTest> joint = JointTestOf(outcome)) {
    out << "  joint test that all effects are zero: F(" << joint->df1 << ", " << FormatDf(joint->df2)
        << ") = " << FormatFixed(joint->f, 2) << ", p = " << FormatP(joint->p_value) << "\n";
  }
  if (std::optional<ReportRandomisationInference> ri = RandomisationInferenceOf(outcome)) {
    out << "  randomisation inference (" << ri->draws << " redraws, " << ri->method
        << "): p = " << FormatP(ri->p_value) << " (Monte Carlo SE "
        << FormatFixed(ri->monte_carlo_se, 3) << ")\n";
  }
  if (std::optional<ReportCace> cace = CaceOf(outcome)) {
    out << "  take-up effect (CACE, 2SLS; campaign " << cace->campaign
        << "): " << FormatFixed(cace->estimate, 2) << ", SE " << FormatFixed(cace->std_error, 2)
        << ", df " << FormatDf(cace->df) << ", " << ci << " "
        << FormatInterval(cace->conf_low, cace->conf_high) << ", p = " << FormatP(cace->p_value)
        << "; first-stage F " << FormatFixed(cace->first_stage_f, 2) << "; take-up "
        << TakeUpRates(cace->takeup_rate_by_arm) << "\n";
  }
  if (std::optional<ReportIpw> ipw = IpwOf(outcome)) PrintIpw(*ipw, ci, out);
  for (const std::string& w : outcome.warnings()) out << "  warning: " << w << "\n";
}

void PrintAttrition(const v1::OutcomeResult& outcome, std::ostream& out) {
  const v1::Attrition& a = outcome.attrition();
  out << "\nattrition, " << outcome.outcome() << "\n"
      << absl::StrFormat("  %-16s %10s %10s %8s\n", "arm", "randomised", "responded", "rate");
  for (const v1::ArmResponseRate& arm : a.arms()) {
    out << absl::StrFormat("  %-16s %10d %10d %8s\n", arm.arm(), arm.randomised(), arm.responded(),
                           FormatPercent(arm.rate()));
  }
  out << "  overall " << FormatPercent(a.overall_rate()) << "; differential attrition "
      << FormatFixed(a.differential_points(), 1) << " points, chi-square(" << a.chi_square_df()
      << ") = " << FormatFixed(a.chi_square(), 2) << ", p = " << FormatP(a.p_value()) << "\n";
  if (a.lee_computed()) {
    out << "  Lee bounds [" << FormatFixed(a.lee_lower(), 2) << ", "
        << FormatFixed(a.lee_upper(), 2) << "] (trimmed " << FormatPercent(a.lee_trim_share())
        << " of " << a.lee_trimmed_arm() << ")\n";
  }
}

void PrintLedger(const v1::AnalyseResponse& analysis, std::ostream& out) {
  bool any_mdes = false;  // the long-format interaction has none
  for (const v1::OutcomeResult& outcome : analysis.outcomes()) any_mdes = any_mdes || !outcome.has_interaction();
  if (!any_mdes) return;
  const bool planned = analysis.plan().plan().has_power();
  out << "\nMDES ledger (standardised)\n"
      << absl::StrFormat("  %-24s %12s %9s %9s %11s %13s %8s %13s\n", "outcome", "planned",
                         "plan resp", "actual", "plan@actual", "achieved", "change",
                         "due to resp.");
  for (const v1::OutcomeResult& outcome : analysis.outcomes()) {
    if (outcome.has_interaction()) continue;  // no MDES for the long-format interaction
    const v1::MdesLedger& m = outcome.mdes();
    // The comparison columns need both a plan and an achieved MDES.
    const bool compared = planned && m.achieved() > 0;
    out << absl::StrFormat(
        "  %-24s %12s %9s %9s %11s %13s %8s %13s\n", outcome.outcome(),
        FormatPlannedMdes(planned, m.planned()),
        planned ? FormatPercent(m.planned_response_rate()) : "-",
        FormatPercent(m.actual_response_rate()),
        compared ? FormatFixed(m.planned_at_actual_response(), 3) : "-",
        FormatAchievedMdes(m.achieved()), compared ? FormatFixed(m.change_total(), 3) : "-",
        compared ? absl::StrCat(FormatFixed(m.change_due_to_response_rate(), 3), " (",
                                FormatPercent(m.share_due_to_response_rate()), ")")
                 : "-");
    if (!m.summary().empty()) out << "    " << m.summary() << "\n";
  }
  if (!planned) out << "  no MDES was planned: the plan has no power section\n";
}

}  // namespace

void PrintAnalysis(const v1::AnalyseResponse& analysis, std::ostream& out) {
  const v1::PlanRecord& record = analysis.plan();
  out << "analysis of " << record.plan().trial_id() << " under plan "
      << (record.plan().plan_id().empty() ? "main" : record.plan().plan_id()) << " ("
      << (record.state() == v1::PLAN_STATE_LOCKED ? "locked, sha256 " + record.locked_sha256()
                                                  : std::string("NOT locked"))
      << (record.deviations_size() > 0
              ? absl::StrCat(", ", record.deviations_size(), " deviation(s)")
              : "")
      << ")\n"
      << "allocated " << analysis.allocated() << ", withdrawn (excluded) " << analysis.withdrawn()
      << ", leavers (kept) " << analysis.leavers() << "\n";
  if (analysis.descriptive()) out << DescriptiveNote(record.plan().factor()) << "\n";
  for (const std::string& w : analysis.warnings()) out << "warning: " << w << "\n";
  const double confidence = ConfidencePercent(analysis);
  for (const v1::OutcomeResult& outcome : analysis.outcomes())
    PrintOutcome(record.plan(), outcome, confidence, analysis.descriptive(), out);
  for (const v1::OutcomeResult& outcome : analysis.outcomes()) PrintAttrition(outcome, out);
  PrintLedger(analysis, out);
}

void AddAnalysisToReport(const v1::AnalyseResponse& analysis, ReportData& report, bool one_of_several) {
  const v1::PlanRecord& record = analysis.plan();
  const std::string plan_id = record.plan().plan_id().empty() ? "main" : record.plan().plan_id();
  const std::string sha256 = record.state() == v1::PLAN_STATE_LOCKED ? record.locked_sha256() : "";
  if (!one_of_several) {
    report.plan_id = plan_id;
    report.plan_sha256 = sha256;
  } else {
    // Several plans on one page: each named with its own hash, each outcome with its plan.
    absl::StrAppend(&report.plan_id, report.plan_id.empty() ? "" : ", ", plan_id);
    absl::StrAppend(&report.plan_sha256, report.plan_sha256.empty() ? "" : "; ", plan_id, " ",
                    sha256.empty() ? "not locked" : sha256);
  }
  report.confidence_percent = ConfidencePercent(analysis);
  if (analysis.descriptive()) report.descriptive_factor = record.plan().factor();
  if (analysis.has_computed_at()) {
    report.computed_at = google::protobuf::util::TimeUtil::ToString(analysis.computed_at());
  }
  report.warnings.insert(report.warnings.end(), analysis.warnings().begin(),
                         analysis.warnings().end());
  for (const v1::OutcomeResult& outcome : analysis.outcomes()) {
    ReportOutcome table;
    table.outcome = one_of_several ? absl::StrCat(plan_id, ": ", outcome.outcome()) : outcome.outcome();
    table.primary = outcome.primary();
    table.warnings.assign(outcome.warnings().begin(), outcome.warnings().end());
    for (const v1::ArmFigures& arm : outcome.arms()) {
      // A long-format outcome has no adjusted arm means: its raw mean over the decisions.
      table.arms.push_back(outcome.has_interaction()
                               ? ReportArm{arm.arm(), arm.n(), arm.raw_mean(), 0, arm.randomised()}
                               : ReportArm{arm.arm(), arm.n(), arm.adjusted_mean().estimate(),
                                           arm.adjusted_mean().std_error(), arm.randomised()});
    }
    table.interaction = InteractionOf(record.plan(), outcome);
    for (const v1::Effect& e : outcome.effects()) {
      table.effects.push_back(EffectOf(e));
      if (std::optional<ReportStandardised> g = StandardisedOf(e)) {
        report.forest.push_back(
            {plan_id, outcome.outcome(), outcome.primary(), e.arm(), e.versus(), *g});
      }
    }
    table.time_bins = TimeBinsOf(outcome);
    table.ipw = IpwOf(outcome);
    table.notes = NotesOf(record.plan(), outcome);
    table.joint_test = JointTestOf(outcome);
    table.cace = CaceOf(outcome);
    table.randomisation_inference = RandomisationInferenceOf(outcome);
    const std::string label = table.outcome;
    report.outcomes.push_back(std::move(table));
    ReportAttrition attrition{label,
                              {},
                              outcome.attrition().differential_points(),
                              outcome.attrition().p_value()};
    for (const v1::ArmResponseRate& arm : outcome.attrition().arms()) {
      attrition.arms.push_back({arm.arm(), arm.randomised(), arm.responded(), arm.rate()});
    }
    report.attrition.push_back(std::move(attrition));
    if (outcome.has_interaction()) continue;
    const v1::MdesLedger& m = outcome.mdes();
    report.mdes.push_back({label, record.plan().has_power(), m.planned(),
                           m.planned_response_rate(), m.actual_response_rate(), m.achieved(),
                           m.change_due_to_response_rate(), m.share_due_to_response_rate()});
  }
}

bool AddInteractionProgression(const v1::AnalyseResponse& analysis, ReportData& report) {
  for (const v1::OutcomeResult& outcome : analysis.outcomes()) {
    if (!outcome.has_interaction() || outcome.interaction().cells().empty()) continue;
    const v1::LongInteractionResult& x = outcome.interaction();
    report.progression.clear();
    for (const v1::InteractionEstimate& cell : x.cells()) {
      const v1::Inference& mean = cell.inference();
      report.progression.push_back({cell.arm(), cell.level(), cell.n(), mean.estimate(), mean.std_error(),
                                    std::make_pair(mean.conf_low(), mean.conf_high())});
    }
    report.progression_title =
        absl::StrCat(outcome.outcome(), ": ", analysis.plan().plan().factor(), " x ", x.attribute(),
                     " (model means; CIs clustered by participant, ", x.se_type(), ")");
    return true;
  }
  return false;
}

void AddAnalysisToConsort(const v1::AnalyseResponse& analysis, ReportConsort& flow) {
  std::map<std::string, ReportConsortArm*> arms;
  for (ReportConsortArm& arm : flow.arms) arms[arm.arm] = &arm;
  for (const v1::OutcomeResult& outcome : analysis.outcomes()) {
    for (const v1::ArmFigures& figures : outcome.arms()) {
      auto it = arms.find(figures.arm());
      if (it != arms.end()) {
        it->second->analysed.push_back({outcome.outcome(), figures.n(), figures.randomised()});
      }
    }
    // Take-up does not depend on the outcome: the first outcome that measured it says it.
    if (flow.takeup_campaign.empty() && outcome.has_cace() &&
        !outcome.cace().takeup_rate_by_arm().empty()) {
      flow.takeup_campaign = outcome.cace().campaign();
      for (const auto& [arm, rate] : outcome.cace().takeup_rate_by_arm()) {
        auto it = arms.find(arm);
        if (it != arms.end()) it->second->takeup_rate = rate;
      }
    }
  }
}

}  // namespace fieldwork::cli
