#include "services/analysis/plan_validation.h"

#include <cmath>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fieldwork::analysis {
namespace v1 = ::fieldwork::v1;

const v1::Factor* FindFactor(const v1::TrialDesign& design, const std::string& name) {
  for (const auto& factor : design.factors()) {
    if (factor.name() == name) return &factor;
  }
  return nullptr;
}

bool IsAssignedFactor(const v1::TrialDesign& design, const std::string& name) {
  const v1::Factor* factor = FindFactor(design, name);
  return factor != nullptr && factor->method() == v1::RANDOMISATION_METHOD_ASSIGNED;
}

absl::Status CheckRandomisationInference(const v1::TrialDesign& design,
                                         const v1::AnalysisPlan& plan) {
  if (plan.randomisation_inference_draws() <= 0 || !IsAssignedFactor(design, plan.factor())) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "plan.randomisation_inference_draws: factor \"", plan.factor(),
      "\" is assigned, not randomised; there is no randomisation to redraw, so randomisation "
      "inference is not defined (its comparisons are descriptive)"));
}

const v1::Covariate* FindCovariate(const v1::TrialDesign& design, const std::string& name) {
  for (const auto& covariate : design.covariates()) {
    if (covariate.name() == name) return &covariate;
  }
  return nullptr;
}

std::optional<std::string> WeightProblem(const std::string& weights,
                                         const v1::Participant& participant) {
  auto it = participant.covariates().find(weights);
  if (it == participant.covariates().end()) return "is missing";
  if (!it->second.has_number()) {
    return absl::StrCat("is \"", it->second.category(), "\", not a number");
  }
  const double w = it->second.number();
  if (!std::isfinite(w) || w <= 0) {
    return absl::StrCat("is ", w, ", not a finite number > 0");
  }
  return std::nullopt;
}

namespace {
constexpr int64_t kWeightProblemsListed = 20;
}  // namespace

bool WeightProblems::Check(const v1::Participant& participant) {
  std::optional<std::string> problem = WeightProblem(weights_, participant);
  if (!problem.has_value()) return true;
  if (++count_ <= kWeightProblemsListed) {
    listed_.push_back(absl::StrCat("participant \"", participant.participant_id(), "\": ",
                                   weights_, " ", *problem));
  }
  return false;
}

std::string WeightProblems::Message() const {
  std::string message =
      absl::StrCat("plan.weights: covariate \"", weights_, "\" cannot weight ", count_,
                   " participant(s): ", absl::StrJoin(listed_, "; "));
  if (count_ > kWeightProblemsListed) {
    absl::StrAppend(&message, " and ", count_ - kWeightProblemsListed, " more");
  }
  return message;
}

void NormalisePlan(const v1::Trial& trial, v1::AnalysisPlan& plan) {
  if (plan.plan_id().empty()) plan.set_plan_id(kDefaultPlanId);
  if (plan.factor().empty() && trial.design().factors_size() > 0) {
    plan.set_factor(trial.design().factors(0).name());
  }
  if (plan.alpha() == 0) plan.set_alpha(0.05);
  if (plan.has_power()) {
    v1::PowerAssumptions& power = *plan.mutable_power();
    if (power.alpha() == 0) power.set_alpha(plan.alpha());
    if (power.power() == 0) power.set_power(0.80);
    if (power.response_rate() == 0) power.set_response_rate(1.0);
    if (power.treated_share() == 0) power.set_treated_share(0.5);
  }
}

namespace {

void CheckSource(const v1::OutcomeSource& source, const std::string& field,
                 std::vector<std::string>& errors) {
  switch (source.kind_case()) {
    case v1::OutcomeSource::kSurvey:
      if (source.survey().wave_id().empty()) {
        errors.push_back(absl::StrCat(field, ".survey.wave_id: required"));
      }
      if (source.survey().score_id().empty()) {
        errors.push_back(absl::StrCat(field, ".survey.score_id: required"));
      }
      break;
    case v1::OutcomeSource::kAdministrative:
      if (source.administrative().outcome().empty()) {
        errors.push_back(absl::StrCat(field, ".administrative.outcome: required"));
      }
      break;
    case v1::OutcomeSource::kDecisions:
      if (source.decisions().wave_id().empty()) {
        errors.push_back(absl::StrCat(field, ".decisions.wave_id: required"));
      }
      if (source.decisions().block().empty()) {
        errors.push_back(absl::StrCat(field, ".decisions.block: required"));
      }
      break;
    case v1::OutcomeSource::KIND_NOT_SET:
      errors.push_back(absl::StrCat(
          field, ": a survey score, an administrative outcome or decisions are required"));
      break;
  }
}

void CheckPower(const v1::PowerAssumptions& power, std::vector<std::string>& errors) {
  auto in_open = [](double x, double lo, double hi) {
    return std::isfinite(x) && x > lo && x < hi;
  };
  const bool cluster = power.clusters() > 0;
  if (!cluster && power.n() <= 1) errors.push_back("plan.power.n: must be at least 2");
  if (cluster && power.cluster_size() <= 0) {
    errors.push_back("plan.power.cluster_size: must be positive with clusters");
  }
  if (!in_open(power.treated_share(), 0, 1))
    errors.push_back("plan.power.treated_share: must be in (0, 1)");
  if (!in_open(power.alpha(), 0, 1)) errors.push_back("plan.power.alpha: must be in (0, 1)");
  if (!in_open(power.power(), 0, 1)) errors.push_back("plan.power.power: must be in (0, 1)");
  if (!(power.r_squared() >= 0 && power.r_squared() < 1)) {
    errors.push_back("plan.power.r_squared: must be in [0, 1)");
  }
  if (!(power.response_rate() > 0 && power.response_rate() <= 1)) {
    errors.push_back("plan.power.response_rate: must be in (0, 1]");
  }
  if (!(power.icc() >= 0 && power.icc() < 1)) errors.push_back("plan.power.icc: must be in [0, 1)");
  if (power.covariates() < 0) errors.push_back("plan.power.covariates: must not be negative");
}

// ESTIMATOR_LONG_INTERACTION and decisions outcomes go together, with the interaction's
// attribute; the per-participant extras of the other estimators are not defined for it.
void CheckLongInteraction(const v1::AnalysisPlan& plan, std::vector<std::string>& errors) {
  const bool long_format = plan.estimator() == v1::ESTIMATOR_LONG_INTERACTION;
  for (int i = 0; i < plan.outcomes_size(); ++i) {
    const v1::PlannedOutcome& outcome = plan.outcomes(i);
    if (outcome.source().has_decisions() != long_format) {
      errors.push_back(absl::StrCat(
          "plan.outcomes[", i, "].source: ",
          long_format ? "the long-format interaction analyses decisions (source.decisions)"
                      : "decisions are analysed only by ESTIMATOR_LONG_INTERACTION"));
    }
    if (outcome.baseline().has_decisions() || (long_format && outcome.has_baseline())) {
      errors.push_back(absl::StrCat("plan.outcomes[", i,
                                    "].baseline: not with the long-format interaction or decisions"));
    }
  }
  if (!long_format) {
    if (plan.has_interaction()) {
      errors.push_back("plan.interaction: only with ESTIMATOR_LONG_INTERACTION");
    }
    return;
  }
  if (plan.interaction().attribute().empty()) {
    errors.push_back("plan.interaction.attribute: required (a decision attribute, e.g. ethnicity)");
  }
  if (plan.interaction().reference_level().empty()) {
    errors.push_back("plan.interaction.reference_level: required (the attribute's reference level)");
  }
  const std::vector<std::pair<bool, const char*>> not_defined = {
      {plan.site_fixed_effects(), "site_fixed_effects"},
      {plan.subgroups_size() > 0, "subgroups"},
      {!plan.takeup_campaign().empty(), "takeup_campaign"},
      {plan.time_bin_edges_days_size() > 0, "time_bin_edges_days"},
      {plan.randomisation_inference_draws() > 0, "randomisation_inference_draws"},
      {plan.has_power(), "power"}};
  for (const auto& [set, field] : not_defined) {
    if (set) {
      errors.push_back(absl::StrCat("plan.", field,
                                    ": not available with the long-format interaction"));
    }
  }
}

}  // namespace

absl::Status ValidatePlan(const v1::Trial& trial, const v1::AnalysisPlan& plan) {
  std::vector<std::string> errors;
  const v1::TrialDesign& design = trial.design();
  if (plan.trial_id().empty()) errors.push_back("plan.trial_id: required");
  const v1::Factor* factor = FindFactor(design, plan.factor());
  if (factor == nullptr) {
    errors.push_back(absl::StrCat("plan.factor: \"", plan.factor(),
                                  "\" is not a factor of trial \"", design.trial_id(), "\""));
  } else if (plan.control_arm().empty()) {
    errors.push_back("plan.control_arm: required");
  } else {
    bool found = false;
    for (const auto& arm : factor->arms()) found = found || arm.name() == plan.control_arm();
    if (!found) {
      errors.push_back(absl::StrCat("plan.control_arm: \"", plan.control_arm(),
                                    "\" is not an arm of factor \"", factor->name(), "\""));
    }
  }
  if (plan.outcomes_size() == 0)
    errors.push_back("plan.outcomes: at least one outcome is required");
  std::set<std::string> names;
  for (int i = 0; i < plan.outcomes_size(); ++i) {
    const v1::PlannedOutcome& outcome = plan.outcomes(i);
    const std::string field = absl::StrCat("plan.outcomes[", i, "]");
    if (outcome.name().empty()) errors.push_back(absl::StrCat(field, ".name: required"));
    if (!names.insert(outcome.name()).second) {
      errors.push_back(absl::StrCat(field, ".name: \"", outcome.name(), "\" is used twice"));
    }
    CheckSource(outcome.source(), absl::StrCat(field, ".source"), errors);
    if (outcome.has_baseline())
      CheckSource(outcome.baseline(), absl::StrCat(field, ".baseline"), errors);
  }
  for (int i = 0; i < plan.covariates_size(); ++i) {
    if (FindCovariate(design, plan.covariates(i)) == nullptr) {
      errors.push_back(absl::StrCat("plan.covariates[", i, "]: \"", plan.covariates(i),
                                    "\" is not a covariate of the trial's design"));
    }
  }
  for (int i = 0; i < plan.subgroups_size(); ++i) {
    const std::string& variable = plan.subgroups(i).variable();
    if (variable == "site" || variable == "cohort") continue;
    const v1::Covariate* covariate = FindCovariate(design, variable);
    if (covariate == nullptr || covariate->kind() != v1::Covariate::KIND_CATEGORICAL) {
      errors.push_back(absl::StrCat("plan.subgroups[", i, "].variable: \"", variable,
                                    "\" must be \"site\", \"cohort\" or a categorical covariate"));
    }
  }
  if (!plan.weights().empty()) {
    const v1::Covariate* weights = FindCovariate(design, plan.weights());
    if (weights == nullptr || weights->kind() == v1::Covariate::KIND_CATEGORICAL) {
      errors.push_back(absl::StrCat("plan.weights: \"", plan.weights(),
                                    "\" is not a numeric covariate of the trial's design (the "
                                    "weights are a roster column given at enrolment)"));
    }
  }
  if (!(plan.alpha() > 0 && plan.alpha() < 1)) errors.push_back("plan.alpha: must be in (0, 1)");
  const bool clustered = plan.estimator() == v1::ESTIMATOR_CLUSTERED ||
                         plan.estimator() == v1::ESTIMATOR_LONG_INTERACTION;
  const bool cluster_robust = plan.se_type() == v1::SE_TYPE_CR0 ||
                              plan.se_type() == v1::SE_TYPE_CR1 || plan.se_type() == v1::SE_TYPE_CR2;
  if (clustered && plan.se_type() != v1::SE_TYPE_UNSPECIFIED && !cluster_robust) {
    errors.push_back(absl::StrCat("plan.se_type: the ",
                                  plan.estimator() == v1::ESTIMATOR_CLUSTERED ? "clustered"
                                                                              : "long-format interaction",
                                  " estimator needs CR0, CR1 or CR2"));
  }
  if (!clustered && cluster_robust) {
    errors.push_back(
        "plan.se_type: cluster-robust SEs need ESTIMATOR_CLUSTERED or ESTIMATOR_LONG_INTERACTION");
  }
  CheckLongInteraction(plan, errors);
  if (plan.has_power()) CheckPower(plan.power(), errors);
  if (plan.randomisation_inference_draws() < 0 || plan.randomisation_inference_draws() > 100000) {
    errors.push_back("plan.randomisation_inference_draws: must be between 0 and 100,000");
  }
  for (int i = 1; i < plan.time_bin_edges_days_size(); ++i) {
    if (!(plan.time_bin_edges_days(i) > plan.time_bin_edges_days(i - 1))) {
      errors.push_back(absl::StrCat("plan.time_bin_edges_days[", i, "]: edges must increase"));
    }
  }
  if (plan.time_bin_edges_days_size() > 0 && !plan.has_intervention_at()) {
    errors.push_back("plan.intervention_at: required with time_bin_edges_days");
  }
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
}

}  // namespace fieldwork::analysis
