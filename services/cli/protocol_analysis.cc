// `analysis:` of a protocol, read into AnalysisService's AnalysisPlan. AnalysisService checks
// the plan again against the design when it is registered; the checks here name what only the
// protocol file knows (a wave or campaign it does not define) with the field path in the file.
#include <set>

#include "absl/strings/str_cat.h"
#include "services/cli/protocol_fields.h"
#include "services/cli/protocol_sections.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;

const v1::Factor* FactorNamed(const v1::TrialDesign& design, const std::string& name) {
  for (const auto& f : design.factors()) {
    if (f.name() == name) return &f;
  }
  return nullptr;
}

const v1::Covariate* CovariateNamed(const v1::TrialDesign& design, const std::string& name) {
  for (const auto& c : design.covariates()) {
    if (c.name() == name) return &c;
  }
  return nullptr;
}

// A survey score ({wave, scale | composite}) or an administrative outcome ({administrative}).
// `node` is the outcome itself (its source keys sit beside name and primary) or its baseline.
v1::OutcomeSource ParseSource(const YAML::Node& node, const std::string& at, const Protocol& protocol) {
  v1::OutcomeSource source;
  if (node["decisions"]) {
    // {name, wave, decisions: BLOCK}: one row per decision of the block (long_interaction).
    if (node["scale"] || node["composite"] || node["administrative"]) {
      Fail(at + ".decisions", "an outcome is decisions, a survey score or administrative, not several");
    }
    auto* decisions = source.mutable_decisions();
    decisions->set_wave_id(Scalar(node["wave"], at + ".wave"));
    decisions->set_block(Scalar(node["decisions"], at + ".decisions"));
    bool known = false;
    for (const auto& w : protocol.waves) known = known || w.wave_id() == decisions->wave_id();
    if (!known) Fail(at + ".wave", absl::StrCat("\"", decisions->wave_id(), "\" is not a wave of this protocol (waves:)"));
    return source;
  }
  const bool survey = node["wave"] || node["scale"] || node["composite"];
  if (node["administrative"]) {
    if (survey) Fail(at + ".administrative", "an outcome is a survey score (wave, scale or composite) or administrative, not both");
    source.mutable_administrative()->set_outcome(Scalar(node["administrative"], at + ".administrative"));
    return source;
  }
  if (!survey) Fail(at, "needs a survey score (wave and scale or composite) or an administrative outcome");
  auto* score = source.mutable_survey();
  score->set_wave_id(Scalar(node["wave"], at + ".wave"));
  bool known = false;
  for (const auto& w : protocol.waves) known = known || w.wave_id() == score->wave_id();
  if (!known) Fail(at + ".wave", absl::StrCat("\"", score->wave_id(), "\" is not a wave of this protocol (waves:)"));
  if (node["scale"] && node["composite"]) Fail(at + ".composite", "give either scale or composite, not both");
  if (node["composite"]) {
    score->set_score_id(Scalar(node["composite"], at + ".composite"));
    score->set_kind(v1::OutcomeSource::SurveyScore::KIND_COMPOSITE);
  } else {
    score->set_score_id(Scalar(node["scale"], at + ".scale"));
    score->set_kind(v1::OutcomeSource::SurveyScore::KIND_SCALE);
  }
  return source;
}

v1::PowerAssumptions ParsePower(const YAML::Node& node, const std::string& at) {
  RequireMap(node, at);
  CheckKeys(node, at, {"n", "treated_share", "alpha", "power", "r_squared", "response_rate", "icc",
                       "clusters", "cluster_size", "covariates", "one_tailed"});
  v1::PowerAssumptions power;
  power.set_n(Integer(node["n"], at + ".n", 0));
  power.set_treated_share(Number(node["treated_share"], at + ".treated_share", 0));
  power.set_alpha(Number(node["alpha"], at + ".alpha", 0));
  power.set_power(Number(node["power"], at + ".power", 0));
  power.set_r_squared(Number(node["r_squared"], at + ".r_squared", 0));
  power.set_response_rate(Number(node["response_rate"], at + ".response_rate", 0));
  power.set_icc(Number(node["icc"], at + ".icc", 0));
  power.set_clusters(Integer(node["clusters"], at + ".clusters", 0));
  power.set_cluster_size(Number(node["cluster_size"], at + ".cluster_size", 0));
  power.set_covariates(static_cast<int32_t>(Integer(node["covariates"], at + ".covariates", 0)));
  power.set_one_tailed(Boolean(node["one_tailed"], at + ".one_tailed"));
  if (power.clusters() == 0 && power.n() < 2) Fail(at + ".n", "is required: participants randomised (at least 2)");
  auto share = [&](const char* key, double value, bool allow_one) {
    if (value < 0 || value > 1 || (!allow_one && value == 1)) {
      Fail(at + "." + key, allow_one ? "must be between 0 and 1" : "must be between 0 and 1 (exclusive)");
    }
  };
  share("treated_share", power.treated_share(), false);
  share("alpha", power.alpha(), false);
  share("power", power.power(), false);
  share("r_squared", power.r_squared(), false);
  share("response_rate", power.response_rate(), true);
  share("icc", power.icc(), false);
  return power;
}

v1::AnalysisPlan ParseAnalysisPlan(const YAML::Node& node, const std::string& at, const Protocol& protocol) {
  RequireMap(node, at);
  CheckKeys(node, at, {"plan_id", "factor", "control_arm", "outcomes", "covariates", "site_fixed_effects",
                       "estimator", "se_type", "alpha", "correction", "subgroups", "power",
                       "takeup_campaign", "intervention_at", "time_bin_edges_days",
                       "randomisation_inference_draws", "weights", "interaction"});
  const v1::TrialDesign& design = protocol.design;
  v1::AnalysisPlan plan;
  plan.set_trial_id(design.trial_id());
  plan.set_plan_id(Scalar(node["plan_id"], at + ".plan_id", false));
  // The service's own default, written out so that comparing with the stored plan is exact.
  if (plan.plan_id().empty()) plan.set_plan_id("main");

  const std::string factor_name = node["factor"] ? Scalar(node["factor"], at + ".factor")
                                  : design.factors_size() > 0 ? design.factors(0).name() : "";
  const v1::Factor* factor = FactorNamed(design, factor_name);
  if (factor == nullptr) Fail(at + ".factor", absl::StrCat("\"", factor_name, "\" is not a factor of the design"));
  plan.set_factor(factor_name);
  plan.set_control_arm(Scalar(node["control_arm"], at + ".control_arm"));
  bool arm_known = false;
  for (const auto& arm : factor->arms()) arm_known = arm_known || arm.name() == plan.control_arm();
  if (!arm_known) Fail(at + ".control_arm", absl::StrCat("\"", plan.control_arm(), "\" is not an arm of factor ", factor_name));

  const YAML::Node outcomes = node["outcomes"];
  if (!outcomes || !outcomes.IsSequence() || outcomes.size() == 0) Fail(at + ".outcomes", "needs at least one outcome");
  std::set<std::string> names;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const std::string o_at = absl::StrCat(at, ".outcomes[", i, "]");
    RequireMap(outcomes[i], o_at);
    CheckKeys(outcomes[i], o_at, {"name", "primary", "wave", "scale", "composite", "administrative", "decisions", "baseline"});
    auto* outcome = plan.add_outcomes();
    outcome->set_name(Scalar(outcomes[i]["name"], o_at + ".name"));
    if (!names.insert(outcome->name()).second) Fail(o_at + ".name", absl::StrCat("\"", outcome->name(), "\" is listed twice"));
    outcome->set_primary(Boolean(outcomes[i]["primary"], o_at + ".primary"));
    *outcome->mutable_source() = ParseSource(outcomes[i], o_at, protocol);
    if (const YAML::Node baseline = outcomes[i]["baseline"]) {
      RequireMap(baseline, o_at + ".baseline");
      CheckKeys(baseline, o_at + ".baseline", {"wave", "scale", "composite", "administrative"});
      *outcome->mutable_baseline() = ParseSource(baseline, o_at + ".baseline", protocol);
    }
  }

  const std::vector<std::string> covariates = Strings(node["covariates"], at + ".covariates");
  for (size_t i = 0; i < covariates.size(); ++i) {
    if (CovariateNamed(design, covariates[i]) == nullptr) {
      Fail(absl::StrCat(at, ".covariates[", i, "]"), absl::StrCat("\"", covariates[i], "\" is not a covariate of the design"));
    }
    plan.add_covariates(covariates[i]);
  }
  // Checked against the design (a numeric covariate) by the one validator, ValidatePlan.
  if (node["weights"]) plan.set_weights(Scalar(node["weights"], at + ".weights"));
  plan.set_site_fixed_effects(Boolean(node["site_fixed_effects"], at + ".site_fixed_effects"));
  if (node["estimator"]) {
    static const std::vector<v1::Estimator> kEstimators = {v1::ESTIMATOR_ITT, v1::ESTIMATOR_LIN, v1::ESTIMATOR_CLUSTERED,
                                                           v1::ESTIMATOR_LONG_INTERACTION};
    plan.set_estimator(kEstimators[OneOf(node["estimator"], at + ".estimator", {"itt", "lin", "clustered", "long_interaction"})]);
  }
  if (node["se_type"]) {
    static const std::vector<v1::SeType> kSe = {v1::SE_TYPE_CLASSICAL, v1::SE_TYPE_HC0, v1::SE_TYPE_HC1, v1::SE_TYPE_HC2,
                                                v1::SE_TYPE_HC3, v1::SE_TYPE_CR0, v1::SE_TYPE_CR1, v1::SE_TYPE_CR2};
    plan.set_se_type(kSe[OneOf(node["se_type"], at + ".se_type", {"classical", "HC0", "HC1", "HC2", "HC3", "CR0", "CR1", "CR2"})]);
  }
  plan.set_alpha(Number(node["alpha"], at + ".alpha", 0.05));
  if (plan.alpha() <= 0 || plan.alpha() >= 1) Fail(at + ".alpha", "must be between 0 and 1 (exclusive)");
  if (node["correction"]) {
    static const std::vector<v1::Correction> kCorrections = {v1::CORRECTION_NONE, v1::CORRECTION_BONFERRONI,
                                                             v1::CORRECTION_HOLM, v1::CORRECTION_BENJAMINI_HOCHBERG};
    plan.set_correction(kCorrections[OneOf(node["correction"], at + ".correction", {"none", "bonferroni", "holm", "benjamini_hochberg"})]);
  }
  if (const YAML::Node subgroups = node["subgroups"]) {
    RequireList(subgroups, at + ".subgroups");
    for (size_t i = 0; i < subgroups.size(); ++i) {
      const std::string s_at = absl::StrCat(at, ".subgroups[", i, "]");
      RequireMap(subgroups[i], s_at);
      CheckKeys(subgroups[i], s_at, {"name", "variable", "confirmatory"});
      auto* subgroup = plan.add_subgroups();
      subgroup->set_variable(Scalar(subgroups[i]["variable"], s_at + ".variable"));
      subgroup->set_name(subgroups[i]["name"] ? Scalar(subgroups[i]["name"], s_at + ".name") : subgroup->variable());
      subgroup->set_confirmatory(Boolean(subgroups[i]["confirmatory"], s_at + ".confirmatory"));
      const v1::Covariate* c = CovariateNamed(design, subgroup->variable());
      if (subgroup->variable() != "site" && subgroup->variable() != "cohort" &&
          (c == nullptr || c->kind() != v1::Covariate::KIND_CATEGORICAL)) {
        Fail(s_at + ".variable", absl::StrCat("\"", subgroup->variable(), "\" must be site, cohort or a categorical covariate of the design"));
      }
    }
  }
  if (const YAML::Node power = node["power"]) {
    *plan.mutable_power() = ParsePower(power, at + ".power");
    // The service fills these defaults when it stores the plan; writing them here keeps the
    // plan in the file and the stored plan comparable field by field.
    v1::PowerAssumptions& p = *plan.mutable_power();
    if (p.alpha() == 0) p.set_alpha(plan.alpha());
    if (p.power() == 0) p.set_power(0.80);
    if (p.response_rate() == 0) p.set_response_rate(1.0);
    if (p.treated_share() == 0) p.set_treated_share(0.5);
  }
  if (node["takeup_campaign"]) {
    plan.set_takeup_campaign(Scalar(node["takeup_campaign"], at + ".takeup_campaign"));
    bool known = false;
    for (const auto& c : protocol.campaigns) known = known || c.campaign_id() == plan.takeup_campaign();
    if (!known) Fail(at + ".takeup_campaign", absl::StrCat("\"", plan.takeup_campaign(), "\" is not a campaign of this protocol (campaigns:)"));
  }
  if (node["intervention_at"]) *plan.mutable_intervention_at() = Time(node["intervention_at"], at + ".intervention_at");
  if (const YAML::Node edges = node["time_bin_edges_days"]) {
    RequireList(edges, at + ".time_bin_edges_days");
    if (!node["intervention_at"]) Fail(at + ".time_bin_edges_days", "needs intervention_at (the day 0 of the bins)");
    for (size_t i = 0; i < edges.size(); ++i) {
      const double edge = Number(edges[i], absl::StrCat(at, ".time_bin_edges_days[", i, "]"), 0);
      if (i > 0 && edge <= plan.time_bin_edges_days(static_cast<int>(i) - 1)) {
        Fail(absl::StrCat(at, ".time_bin_edges_days[", i, "]"), "must be larger than the edge before it");
      }
      plan.add_time_bin_edges_days(edge);
    }
  }
  const int64_t draws = Integer(node["randomisation_inference_draws"], at + ".randomisation_inference_draws", 0);
  if (draws < 0 || draws > 100000) Fail(at + ".randomisation_inference_draws", "must be 0 to 100000");
  if (draws > 0 && factor->method() == v1::RANDOMISATION_METHOD_ASSIGNED) {
    Fail(at + ".randomisation_inference_draws",
         absl::StrCat("factor ", factor_name, " is assigned, not randomised: there is no randomisation to redraw, so "
                      "randomisation inference is not defined (its comparisons are descriptive)"));
  }
  plan.set_randomisation_inference_draws(static_cast<int32_t>(draws));
  if (const YAML::Node interaction = node["interaction"]) {
    // {attribute, reference_level}: the decision attribute crossed with the factor's arms.
    RequireMap(interaction, at + ".interaction");
    CheckKeys(interaction, at + ".interaction", {"attribute", "reference_level"});
    plan.mutable_interaction()->set_attribute(Scalar(interaction["attribute"], at + ".interaction.attribute"));
    plan.mutable_interaction()->set_reference_level(
        Scalar(interaction["reference_level"], at + ".interaction.reference_level"));
  }
  return plan;
}

}  // namespace

std::vector<v1::AnalysisPlan> ParseAnalysisPlans(const YAML::Node& root, const Protocol& protocol) {
  std::vector<v1::AnalysisPlan> plans;
  if (const YAML::Node analysis = root["analysis"]) {
    if (root["analyses"]) Fail("analyses", "give one analysis: section or an analyses: list, not both");
    plans.push_back(ParseAnalysisPlan(analysis, "analysis", protocol));
    return plans;
  }
  const YAML::Node analyses = root["analyses"];
  if (!analyses) return plans;
  RequireList(analyses, "analyses");
  if (analyses.size() == 0) Fail("analyses", "needs at least one analysis (or leave the key out)");
  std::set<std::string> ids;
  for (size_t i = 0; i < analyses.size(); ++i) {
    const std::string at = absl::StrCat("analyses[", i, "]");
    RequireMap(analyses[i], at);
    // Each plan is registered, locked and analysed under its own id, so it must be given.
    Scalar(analyses[i]["plan_id"], at + ".plan_id");
    plans.push_back(ParseAnalysisPlan(analyses[i], at, protocol));
    if (!ids.insert(plans.back().plan_id()).second) {
      Fail(at + ".plan_id", absl::StrCat("\"", plans.back().plan_id(), "\" is used by an earlier analysis"));
    }
  }
  return plans;
}

}  // namespace fieldwork::cli
