#include "services/analysis/analyser.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/analysis/decision_model.h"
#include "services/analysis/inference_proto.h"
#include "services/analysis/plan_validation.h"
#include "services/analysis/redraw.h"
#include "services/analysis/stats/attrition.h"
#include "services/analysis/stats/design.h"
#include "services/analysis/stats/effect_size.h"
#include "services/analysis/stats/itt.h"
#include "services/analysis/stats/iv.h"
#include "services/analysis/stats/multiple_testing.h"
#include "services/analysis/stats/nan.h"
#include "services/analysis/stats/randomisation_inference.h"
#include "services/analysis/stats/time_bins.h"
#include "services/common/proto_time.h"

namespace fieldwork::analysis {
namespace v1 = ::fieldwork::v1;

namespace {

// A covariate column over the analysed participants; NaN where missing. A categorical
// covariate gives one column per level but the first, all with the same `covariate`.
struct Column {
  std::string name;
  std::vector<double> values;
  std::string covariate;
  bool categorical = false;
};

std::vector<Column> BuildColumns(const v1::AnalysisPlan& plan, const JoinedTrial& joined,
                                 const std::vector<const JoinedParticipant*>& rows) {
  std::vector<Column> columns;
  for (const std::string& name : plan.covariates()) {
    const v1::Covariate* covariate = FindCovariate(joined.trial.design(), name);
    if (covariate == nullptr) continue;  // validated when registered
    if (covariate->kind() == v1::Covariate::KIND_CATEGORICAL) {
      std::vector<std::string> levels(covariate->levels().begin(), covariate->levels().end());
      if (levels.empty()) {
        std::set<std::string> seen;
        for (const JoinedParticipant* p : rows) {
          auto it = p->participant->covariates().find(name);
          if (it != p->participant->covariates().end() && it->second.has_category()) {
            seen.insert(it->second.category());
          }
        }
        levels.assign(seen.begin(), seen.end());
      }
      for (size_t l = 1; l < levels.size(); ++l) {
        Column column{absl::StrCat(name, levels[l]), {}, name, true};
        column.values.reserve(rows.size());
        for (const JoinedParticipant* p : rows) {
          auto it = p->participant->covariates().find(name);
          if (it == p->participant->covariates().end() || !it->second.has_category()) {
            column.values.push_back(kNaN);
          } else {
            column.values.push_back(it->second.category() == levels[l] ? 1.0 : 0.0);
          }
        }
        columns.push_back(std::move(column));
      }
    } else {
      Column column{name, {}, name};
      column.values.reserve(rows.size());
      for (const JoinedParticipant* p : rows) {
        auto it = p->participant->covariates().find(name);
        column.values.push_back(it != p->participant->covariates().end() && it->second.has_number()
                                    ? it->second.number()
                                    : kNaN);
      }
      columns.push_back(std::move(column));
    }
  }
  return columns;
}

// How one covariate's missing values were filled in one model.
struct Imputation {
  std::string covariate;
  int64_t missing = 0;
  double fill_value = 0;  // numeric covariates
  std::string indicator;
  bool categorical = false;
};

// `columns` over `subset` (indices into the analysed rows) appended to `out`: missing values set
// to the subset's mean (a categorical covariate's dummies to each level's share) and, per
// covariate with missing values, an indicator <covariate>_missing (1 = missing) after all the
// columns, the standard practice for experiments (the effect then does not depend on the
// value filled in). A covariate missing for every row of the subset is left out with a
// warning. Each imputation is recorded in `imputations` when given (the result shows them under
// the table), else said in a warning; `rows` names the subset there ("respondents").
void AddImputedCovariates(const std::vector<Column>& columns, const std::vector<size_t>& subset,
                          absl::string_view rows, std::vector<Covariate>& out,
                          std::vector<Imputation>* imputations,
                          std::vector<std::string>& warnings) {
  std::vector<Imputation> unrecorded;
  std::vector<Imputation>& made = imputations != nullptr ? *imputations : unrecorded;
  const size_t made_before = made.size();
  const auto n = static_cast<Eigen::Index>(subset.size());
  std::vector<const Column*> indicator_of;  // one column per covariate with missing values
  for (size_t c = 0; c < columns.size(); ++c) {
    const Column& column = columns[c];
    const bool first_of_covariate = c == 0 || columns[c - 1].covariate != column.covariate;
    double sum = 0;
    int64_t present = 0;
    for (size_t i : subset) {
      if (std::isfinite(column.values[i])) {
        sum += column.values[i];
        ++present;
      }
    }
    if (present == 0) {
      if (first_of_covariate) {
        warnings.push_back(absl::StrCat("covariate ", column.covariate, " is missing for every ",
                                        "one of the ", rows, "; left out"));
      }
      continue;
    }
    const double mean = sum / static_cast<double>(present);
    Covariate covariate;
    covariate.name = column.name;
    covariate.values.resize(n);
    for (Eigen::Index k = 0; k < n; ++k) {
      const double v = column.values[subset[static_cast<size_t>(k)]];
      covariate.values[k] = std::isfinite(v) ? v : mean;
    }
    out.push_back(std::move(covariate));
    const int64_t missing = static_cast<int64_t>(subset.size()) - present;
    if (missing == 0 || !first_of_covariate) continue;
    Imputation imputation{column.covariate, missing, column.categorical ? 0.0 : mean,
                          absl::StrCat(column.covariate, "_missing"), column.categorical};
    if (imputations == nullptr) {
      warnings.push_back(absl::StrCat(
          "covariate ", column.covariate, ": ", missing, " missing values set to the ", rows,
          "' ",
          column.categorical ? std::string("share of each level")
                             : absl::StrCat("mean (", absl::SixDigits(mean), ")"),
          ", with the indicator ", imputation.indicator, " in the model"));
    }
    made.push_back(std::move(imputation));
    indicator_of.push_back(&column);
  }
  for (size_t j = 0; j < indicator_of.size(); ++j) {
    Covariate indicator;
    indicator.name = made[made_before + j].indicator;
    indicator.values.resize(n);
    for (Eigen::Index k = 0; k < n; ++k) {
      indicator.values[k] =
          std::isfinite(indicator_of[j]->values[subset[static_cast<size_t>(k)]]) ? 0.0 : 1.0;
    }
    out.push_back(std::move(indicator));
  }
}

Eigen::VectorXd Gather(const std::vector<double>& values, const std::vector<size_t>& subset) {
  Eigen::VectorXd out(static_cast<Eigen::Index>(subset.size()));
  for (size_t k = 0; k < subset.size(); ++k) out[static_cast<Eigen::Index>(k)] = values[subset[k]];
  return out;
}

template <typename T>
std::vector<T> GatherVector(const std::vector<T>& values, const std::vector<size_t>& subset) {
  std::vector<T> out;
  out.reserve(subset.size());
  for (size_t i : subset) out.push_back(values[i]);
  return out;
}

// Everything an outcome's models need, over the analysed rows.
struct Rows {
  std::vector<const JoinedParticipant*> participants;
  std::vector<std::string> arm;
  std::vector<std::string> site;
  std::vector<int64_t> cluster;
  std::vector<Column> columns;
  std::vector<double> weights;  // the plan's weights per row; empty when unweighted
  // Randomisation inference: the redrawer over every participant allocated to the factor
  // (withdrawn ones too) and each analysed row's index among them; null when not asked for.
  const AllocationRedrawer* redrawer = nullptr;
  std::vector<size_t> unit_of_row;
};

// The ITT input over `subset` with the plan's covariates (and `extra`), imputed with
// indicators (AddImputedCovariates), and the plan's weights.
IttInput MakeIttInput(const v1::AnalysisPlan& plan, const Rows& rows, const std::vector<double>& y,
                      const std::vector<size_t>& subset, const std::vector<Column>& extra,
                      std::vector<std::string>& warnings,
                      std::vector<Imputation>* imputations = nullptr) {
  IttInput input;
  input.outcome = Gather(y, subset);
  input.arm = GatherVector(rows.arm, subset);
  input.control_arm = plan.control_arm();
  std::vector<Column> columns = rows.columns;
  columns.insert(columns.end(), extra.begin(), extra.end());
  AddImputedCovariates(columns, subset, "respondents", input.covariates, imputations, warnings);
  if (!rows.weights.empty()) input.weights = Gather(rows.weights, subset);
  if (plan.site_fixed_effects()) input.strata = GatherVector(rows.site, subset);
  if (plan.estimator() == v1::ESTIMATOR_CLUSTERED)
    input.clusters = GatherVector(rows.cluster, subset);
  return input;
}

IttOptions MakeIttOptions(const v1::AnalysisPlan& plan) {
  IttOptions options;
  options.lin_adjustment = plan.estimator() == v1::ESTIMATOR_LIN;
  options.se_type = ToSeType(plan.se_type());
  options.alpha = plan.alpha();
  return options;
}

const ArmSummary* SummaryOf(const IttResult& itt, const std::string& arm) {
  for (const ArmSummary& summary : itt.arm_summaries) {
    if (summary.arm == arm) return &summary;
  }
  return nullptr;
}

// Each effect with its Hedges' g over the two compared arms' respondents (effect_size.h).
void AddEffects(const IttResult& itt, google::protobuf::RepeatedPtrField<v1::Effect>& out) {
  for (const ArmEffect& effect : itt.effects) {
    v1::Effect& e = *out.Add();
    e.set_arm(effect.arm);
    e.set_versus(effect.versus);
    SetInference(effect.effect, *e.mutable_effect());
    e.set_adjusted_p_value(effect.effect.p_value);
    const ArmSummary* arm = SummaryOf(itt, effect.arm);
    const ArmSummary* versus = SummaryOf(itt, effect.versus);
    if (arm == nullptr || versus == nullptr) continue;
    absl::StatusOr<StandardisedEffect> g =
        HedgesG(effect.effect, {arm->n, arm->raw_sd}, {versus->n, versus->raw_sd});
    if (!g.ok()) continue;  // the effect itself is still shown; g needs a spread
    v1::StandardisedEffect& out_g = *e.mutable_standardised();
    out_g.set_g(g->g);
    out_g.set_std_error(g->std_error);
    out_g.set_conf_low(g->conf_low);
    out_g.set_conf_high(g->conf_high);
    out_g.set_pooled_sd(g->pooled_sd);
    out_g.set_correction(g->correction);
  }
}

// `message` under `prefix` ("attrition: ..."), once: the stats library's own messages may
// already name their part.
std::string Prefixed(const std::string& prefix, absl::string_view message) {
  if (prefix.empty() || absl::StartsWith(message, absl::StrCat(prefix, ": "))) {
    return std::string(message);
  }
  return absl::StrCat(prefix, ": ", message);
}

void AddWarnings(const std::vector<std::string>& warnings, const std::string& prefix,
                 google::protobuf::RepeatedPtrField<std::string>& out) {
  for (const std::string& w : warnings) *out.Add() = Prefixed(prefix, w);
}

// Robustness to non-response (InverseProbabilityWeighting in analysis.proto): the response
// model over every analysed row, the weighted ITT among the respondents with the main model's
// covariates (`input`, over `respondents`) and the plan's weights.
void AddIpwRobustness(const v1::AnalysisPlan& plan, const Rows& rows, const std::vector<double>& y,
                      const std::vector<size_t>& respondents, const IttInput& input,
                      const IttOptions& options, v1::OutcomeResult& result) {
  const size_t n_all = rows.participants.size();
  if (respondents.size() == n_all || rows.columns.empty()) return;
  std::vector<size_t> everyone(n_all);
  for (size_t i = 0; i < n_all; ++i) everyone[i] = i;
  IpwInput ipw;
  ipw.itt.outcome = Gather(y, everyone);
  ipw.itt.arm = rows.arm;
  ipw.itt.control_arm = plan.control_arm();
  // The outcome model's covariates as the main model has them; rows without an outcome are
  // dropped before it is fitted, so their values do not matter.
  for (const Covariate& covariate : input.covariates) {
    Covariate full{covariate.name, Eigen::VectorXd::Zero(static_cast<Eigen::Index>(n_all))};
    for (size_t k = 0; k < respondents.size(); ++k) {
      full.values[static_cast<Eigen::Index>(respondents[k])] =
          covariate.values[static_cast<Eigen::Index>(k)];
    }
    ipw.itt.covariates.push_back(std::move(full));
  }
  if (!rows.weights.empty()) ipw.itt.weights = Gather(rows.weights, everyone);
  if (plan.site_fixed_effects()) ipw.itt.strata = rows.site;
  if (plan.estimator() == v1::ESTIMATOR_CLUSTERED) ipw.itt.clusters = rows.cluster;
  std::vector<std::string> warnings;
  AddImputedCovariates(rows.columns, everyone, "analysed participants", ipw.response_covariates,
                       nullptr, warnings);
  v1::InverseProbabilityWeighting& out = *result.mutable_ipw();
  absl::StatusOr<IpwResult> fit = EstimateIttWithIpw(ipw, options);
  if (!fit.ok()) {
    *out.add_warnings() = absl::StrCat("not estimated: ", fit.status().message());
    return;
  }
  out.set_n(fit->itt.fit.n);
  for (const std::string& term : fit->response_model.terms) out.add_response_model_terms(term);
  double low = std::numeric_limits<double>::infinity();
  double high = 0;
  for (Eigen::Index i = 0; i < fit->weights.size(); ++i) {
    if (!std::isfinite(fit->weights[i])) continue;
    low = std::min(low, fit->weights[i]);
    high = std::max(high, fit->weights[i]);
  }
  out.set_min_weight(low);
  out.set_max_weight(high);
  AddEffects(fit->itt, *out.mutable_effects());
  for (const std::string& w : fit->warnings) *out.add_warnings() = w;
  for (const std::string& w : warnings) *out.add_warnings() = Prefixed("response model", w);
}

std::string SubgroupLevel(const JoinedParticipant& p, const std::string& variable) {
  if (variable == "site") return p.site;
  if (variable == "cohort") return p.cohort;
  auto it = p.participant->covariates().find(variable);
  if (it == p.participant->covariates().end() || !it->second.has_category()) return "";
  return it->second.category();
}

// Response by arm over every analysed participant (`responded`: 1 or 0 per row) into the
// result's attrition; returns the overall response rate.
double AddAttrition(const v1::AnalysisPlan& plan, const Rows& rows, const Eigen::VectorXd& responded,
                    v1::OutcomeResult& result) {
  const auto n_all = static_cast<double>(rows.participants.size());
  double actual_rate = n_all == 0 ? 0 : responded.sum() / n_all;
  absl::StatusOr<AttritionReport> attrition =
      AnalyseAttrition(rows.arm, responded, plan.control_arm());
  if (!attrition.ok()) {
    *result.add_warnings() = Prefixed("attrition", attrition.status().message());
    return actual_rate;
  }
  v1::Attrition& a = *result.mutable_attrition();
  for (const ArmResponse& arm : attrition->arms) {
    v1::ArmResponseRate& r = *a.add_arms();
    r.set_arm(arm.arm);
    r.set_randomised(arm.randomised);
    r.set_responded(arm.responded);
    r.set_rate(arm.rate);
  }
  a.set_overall_rate(attrition->overall_rate);
  if (attrition->arms.size() >= 2) {
    a.set_differential_points(100.0 * (attrition->arms[1].rate - attrition->arms[0].rate));
  }
  a.set_chi_square(attrition->chi_square);
  a.set_chi_square_df(attrition->chi_square_df);
  a.set_p_value(attrition->chi_square_p_value);
  AddWarnings(attrition->warnings, "attrition", *result.mutable_warnings());
  return attrition->overall_rate;
}

void RecordImputations(const std::vector<Imputation>& imputations, v1::OutcomeResult& result) {
  for (const Imputation& imputation : imputations) {
    v1::CovariateImputation& out = *result.add_imputations();
    out.set_covariate(imputation.covariate);
    out.set_missing(imputation.missing);
    out.set_fill_value(imputation.fill_value);
    out.set_indicator(imputation.indicator);
    out.set_categorical(imputation.categorical);
  }
}

// A long-format outcome (OutcomeSource.Decisions) under ESTIMATOR_LONG_INTERACTION: the
// respondents are the participants with usable decisions; their covariates are imputed over
// them as for any outcome and repeated on each of their decisions.
void AnalyseDecisionOutcome(const v1::AnalysisPlan& plan, const v1::PlannedOutcome& planned,
                            const JoinedTrial& joined, const Rows& rows, v1::OutcomeResult& result) {
  result.set_outcome(planned.name());
  *result.mutable_source() = planned.source();
  result.set_primary(planned.primary());
  const size_t n_all = rows.participants.size();
  SkippedDecisions skipped;
  std::vector<ParticipantDecisions> decisions(n_all);
  std::vector<size_t> respondents;
  Eigen::VectorXd responded(static_cast<Eigen::Index>(n_all));
  for (size_t i = 0; i < n_all; ++i) {
    decisions[i] = ReadDecisions(joined, *rows.participants[i], planned.source().decisions(),
                                 plan.interaction().attribute(), skipped);
    const bool any = !decisions[i].values.empty();
    responded[static_cast<Eigen::Index>(i)] = any ? 1 : 0;
    if (any) respondents.push_back(i);
  }
  AddAttrition(plan, rows, responded, result);
  std::vector<std::string> warnings = SkippedDecisionWarnings(skipped, plan.interaction().attribute());

  DecisionModelInput input;
  input.factor = plan.factor();
  input.control_arm = plan.control_arm();
  input.arm_order.push_back(plan.control_arm());
  if (const v1::Factor* factor = FindFactor(joined.trial.design(), plan.factor())) {
    for (const auto& arm : factor->arms()) {
      if (arm.name() != plan.control_arm()) input.arm_order.push_back(arm.name());
    }
  }
  for (const std::string& arm : rows.arm) ++input.randomised[arm];
  input.interaction = plan.interaction();
  input.alpha = plan.alpha();
  input.se_type = plan.se_type();
  input.arms = GatherVector(rows.arm, respondents);
  for (size_t i : respondents) input.decisions.push_back(std::move(decisions[i]));
  std::vector<Imputation> imputations;
  AddImputedCovariates(rows.columns, respondents, "respondents", input.covariates, &imputations,
                       warnings);
  RecordImputations(imputations, result);
  if (!rows.weights.empty()) input.weights = GatherVector(rows.weights, respondents);
  FitDecisionModel(input, result);
  AddWarnings(warnings, "", *result.mutable_warnings());
}

// Calls `work(0)` ... `work(count - 1)`, on up to as many threads as the machine has cores
// (this one among them), and returns when all have returned.
void ForEachInParallel(int count, const std::function<void(int)>& work) {
  std::atomic<int> next{0};
  auto worker = [&] {
    for (int i = next++; i < count; i = next++) work(i);
  };
  const int threads =
      std::min(count, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  std::vector<std::thread> helpers;
  for (int t = 1; t < threads; ++t) helpers.emplace_back(worker);
  worker();
  for (std::thread& helper : helpers) helper.join();
}

void AnalyseOutcome(const v1::AnalysisPlan& plan, const v1::PlannedOutcome& planned,
                    const JoinedTrial& joined, const Rows& rows, v1::OutcomeResult& result) {
  result.set_outcome(planned.name());
  *result.mutable_source() = planned.source();
  result.set_primary(planned.primary());
  const size_t n_all = rows.participants.size();
  std::vector<double> y(n_all, kNaN);
  std::vector<size_t> respondents;
  for (size_t i = 0; i < n_all; ++i) {
    std::optional<double> value = OutcomeValue(joined, *rows.participants[i], planned.source());
    if (value.has_value() && std::isfinite(*value)) {
      y[i] = *value;
      respondents.push_back(i);
    }
  }
  result.set_n(static_cast<int64_t>(respondents.size()));
  std::vector<std::string> warnings;
  std::vector<Column> extra;
  if (planned.has_baseline()) {
    Column baseline{"baseline", std::vector<double>(n_all, kNaN), "baseline"};
    for (size_t i = 0; i < n_all; ++i) {
      std::optional<double> value = OutcomeValue(joined, *rows.participants[i], planned.baseline());
      if (value.has_value()) baseline.values[i] = *value;
    }
    extra.push_back(std::move(baseline));
  }

  // Attrition over every analysed participant.
  Eigen::VectorXd responded(static_cast<Eigen::Index>(n_all));
  for (size_t i = 0; i < n_all; ++i)
    responded[static_cast<Eigen::Index>(i)] = std::isfinite(y[i]) ? 1 : 0;
  std::map<std::string, int64_t> randomised;
  for (const std::string& arm : rows.arm) ++randomised[arm];
  const double actual_rate = AddAttrition(plan, rows, responded, result);

  // The planned side of the MDES ledger comes from the plan alone, so it is shown before
  // anyone has responded; the rest needs the fitted effect below.
  v1::MdesLedger& ledger = *result.mutable_mdes();
  ledger.set_actual_response_rate(actual_rate);
  if (plan.has_power()) {
    absl::StatusOr<Mdes> planned_mdes = PlannedMdesOf(plan.power());
    if (planned_mdes.ok()) {
      ledger.set_planned(planned_mdes->mdes);
      ledger.set_planned_response_rate(plan.power().response_rate());
    } else {
      *result.add_warnings() = Prefixed("planned MDES", planned_mdes.status().message());
    }
  }

  std::vector<Imputation> imputations;
  IttInput input = MakeIttInput(plan, rows, y, respondents, extra, warnings, &imputations);
  RecordImputations(imputations, result);
  const IttOptions options = MakeIttOptions(plan);
  absl::StatusOr<IttResult> itt =
      respondents.empty()
          ? absl::StatusOr<IttResult>(absl::FailedPreconditionError("no respondents"))
          : EstimateItt(input, options);
  if (!itt.ok()) {
    *result.add_warnings() = absl::StrCat("not estimated: ", itt.status().message());
    AddWarnings(warnings, "", *result.mutable_warnings());
    return;
  }
  result.set_se_type(SeTypeName(itt->fit.se_type));
  for (const ArmSummary& summary : itt->arm_summaries) {
    v1::ArmFigures& arm = *result.add_arms();
    arm.set_arm(summary.arm);
    arm.set_randomised(randomised[summary.arm]);
    arm.set_n(summary.n);
    arm.set_raw_mean(summary.raw_mean);
    arm.set_raw_sd(summary.raw_sd);
    SetInference(summary.adjusted, *arm.mutable_adjusted_mean());
  }
  AddEffects(*itt, *result.mutable_effects());
  if (itt->arms.size() > 2) {
    result.set_joint_f(itt->joint_test.f_statistic);
    result.set_joint_df1(itt->joint_test.numerator_df);
    result.set_joint_df2(itt->joint_test.denominator_df);
    result.set_joint_p_value(itt->joint_test.p_value);
  } else if (!itt->effects.empty()) {
    result.set_joint_p_value(itt->effects[0].effect.p_value);
  }
  AddWarnings(itt->warnings, "", *result.mutable_warnings());

  // MDES: achieved from the first arm's effect, standardised by the control arm's SD.
  if (!itt->effects.empty() && !itt->arm_summaries.empty()) {
    const LinearCombination& effect = itt->effects[0].effect;
    TestSpec test;
    test.alpha = plan.has_power() ? plan.power().alpha() : plan.alpha();
    if (plan.has_power()) {
      test.power = plan.power().power();
      test.two_tailed = !plan.power().one_tailed();
    }
    absl::StatusOr<AchievedMdes> achieved =
        ComputeAchievedMdes(effect.std_error, effect.df, itt->arm_summaries[0].raw_sd, test);
    if (achieved.ok()) {
      ledger.set_achieved(achieved->mdes);
      ledger.set_achieved_raw(achieved->mdes_raw);
    } else {
      *result.add_warnings() = Prefixed("achieved MDES", achieved.status().message());
    }
    if (plan.has_power() && achieved.ok()) {
      absl::StatusOr<MdesLedger> built =
          IsClusterPower(plan.power())
              ? BuildMdesLedger(ToClusterDesign(plan.power()), actual_rate, achieved->mdes)
              : BuildMdesLedger(ToIndividualDesign(plan.power()), actual_rate, achieved->mdes);
      if (built.ok()) {
        ledger.set_planned(built->planned);
        ledger.set_planned_response_rate(built->planned_response_rate);
        ledger.set_actual_response_rate(built->actual_response_rate);
        ledger.set_planned_at_actual_response(built->planned_at_actual_response);
        ledger.set_change_total(built->change_total);
        ledger.set_change_due_to_response_rate(built->change_due_to_response_rate);
        ledger.set_change_other(built->change_other);
        ledger.set_share_due_to_response_rate(built->share_due_to_response_rate);
        ledger.set_summary(built->summary);
      } else {
        *result.add_warnings() = absl::StrCat("MDES ledger: ", built.status().message());
      }
    }
  }

  AddIpwRobustness(plan, rows, y, respondents, input, options, result);

  // Lee bounds for two-arm comparisons.
  if (itt->arms.size() == 2) {
    Eigen::VectorXd outcome(static_cast<Eigen::Index>(n_all));
    Eigen::VectorXd treated(static_cast<Eigen::Index>(n_all));
    for (size_t i = 0; i < n_all; ++i) {
      const auto k = static_cast<Eigen::Index>(i);
      outcome[k] = std::isfinite(y[i]) ? y[i] : 0.0;
      treated[k] = rows.arm[i] == plan.control_arm() ? 0.0 : 1.0;
    }
    absl::StatusOr<LeeBounds> lee = ComputeLeeBounds(outcome, treated, responded);
    v1::Attrition& a = *result.mutable_attrition();
    if (lee.ok()) {
      a.set_lee_computed(true);
      a.set_lee_lower(lee->lower);
      a.set_lee_upper(lee->upper);
      a.set_lee_trim_share(lee->trim_share);
      a.set_lee_trimmed_arm(lee->trimmed_arm);
    } else {
      *result.add_warnings() = Prefixed("Lee bounds", lee.status().message());
    }
  }

  // Subgroups.
  for (const v1::Subgroup& subgroup : plan.subgroups()) {
    std::map<std::string, std::vector<size_t>> by_level;
    for (size_t i : respondents) {
      by_level[SubgroupLevel(*rows.participants[i], subgroup.variable())].push_back(i);
    }
    for (const auto& [level, subset] : by_level) {
      v1::SubgroupResult& s = *result.add_subgroups();
      s.set_subgroup(subgroup.name().empty() ? subgroup.variable() : subgroup.name());
      s.set_level(level);
      s.set_n(static_cast<int64_t>(subset.size()));
      s.set_exploratory(!subgroup.confirmatory());
      std::vector<std::string> sub_warnings;
      IttInput sub = MakeIttInput(plan, rows, y, subset, extra, sub_warnings);
      absl::StatusOr<IttResult> sub_itt = EstimateItt(sub, options);
      if (sub_itt.ok()) {
        AddEffects(*sub_itt, *s.mutable_effects());
        AddWarnings(sub_itt->warnings, "", *s.mutable_warnings());
      } else {
        *s.add_warnings() = absl::StrCat("not estimated: ", sub_itt.status().message());
      }
    }
  }

  // Exploratory: effect by time since the intervention (survey outcomes only).
  if (plan.time_bin_edges_days_size() > 0 && planned.source().has_survey()) {
    TimeBinInput bins;
    bins.itt = input;
    bins.time_since_intervention.resize(static_cast<Eigen::Index>(respondents.size()));
    const absl::Time intervention = FromProtoTime(plan.intervention_at());
    for (size_t k = 0; k < respondents.size(); ++k) {
      const JoinedResponse* response = joined.ResponseOf(*rows.participants[respondents[k]],
                                                         planned.source().survey().wave_id());
      bins.time_since_intervention[static_cast<Eigen::Index>(k)] =
          absl::FDivDuration(response->at - intervention, absl::Hours(24));
    }
    bins.bin_edges.assign(plan.time_bin_edges_days().begin(), plan.time_bin_edges_days().end());
    absl::StatusOr<std::vector<TimeBinEffect>> effects =
        EstimateEffectByResponseTime(bins, options);
    if (effects.ok()) {
      for (const TimeBinEffect& bin : *effects) {
        v1::TimeBinResult& b = *result.add_time_bins();
        b.set_from_days(bin.from);
        b.set_to_days(bin.to);
        b.set_estimated(bin.estimated);
        if (bin.estimated) b.set_n(bin.itt.fit.n);
        for (const ArmEffect& effect : bin.effects) {
          v1::Effect& e = *b.add_effects();
          e.set_arm(effect.arm);
          e.set_versus(effect.versus);
          SetInference(effect.effect, *e.mutable_effect());
          e.set_adjusted_p_value(effect.effect.p_value);
        }
        b.set_exploratory(true);
        b.set_post_treatment(true);
        b.set_label(bin.label);
      }
    } else {
      *result.add_warnings() = Prefixed("time bins", effects.status().message());
    }
  }

  // Randomisation inference with the trial's own method (two arms).
  if (rows.redrawer != nullptr) {
    if (itt->arms.size() != 2) {
      *result.add_warnings() = "randomisation inference not run: it needs exactly two arms";
    } else {
      const auto n = static_cast<Eigen::Index>(respondents.size());
      std::vector<int> observed(respondents.size());
      for (size_t k = 0; k < respondents.size(); ++k) {
        observed[k] = rows.arm[respondents[k]] == plan.control_arm() ? 0 : 1;
      }
      Design fixed;
      fixed.Append(Eigen::VectorXd::Ones(n), "(Intercept)");
      for (const Covariate& covariate : input.covariates)
        fixed.Append(covariate.values, covariate.name);
      if (!input.strata.empty()) {
        absl::StatusOr<Factor> strata = MakeFactor(input.strata);
        if (strata.ok()) fixed.Append(Dummies(*strata), DummyNames(*strata, "site"));
      }
      const std::string treated_arm = itt->arms[1];
      AssignmentDraw draw = [&](std::int64_t d, std::vector<int>& assignment) -> absl::Status {
        absl::StatusOr<std::vector<std::string>> arms = rows.redrawer->Draw(d);
        if (!arms.ok()) return arms.status();
        for (size_t k = 0; k < respondents.size(); ++k) {
          assignment[k] = (*arms)[rows.unit_of_row[respondents[k]]] == treated_arm ? 1 : 0;
        }
        return absl::OkStatus();
      };
      if (!rows.weights.empty()) {
        *result.add_warnings() =
            "randomisation inference redraws the unweighted coefficient (the plan's weights are "
            "not applied to it)";
      }
      RandomisationInferenceOptions ri_options;
      ri_options.draws = plan.randomisation_inference_draws();
      ri_options.include_observed = true;  // (count + 1) / (draws + 1): never 0
      absl::StatusOr<RandomisationInferenceResult> ri =
          RandomisationTestOlsCoefficient(input.outcome, observed, fixed.x, draw, ri_options);
      if (ri.ok()) {
        v1::RandomisationInference& out = *result.mutable_randomisation_inference();
        out.set_draws(ri->draws);
        out.set_observed(ri->observed);
        out.set_as_or_more_extreme(ri->as_or_more_extreme);
        out.set_p_value(ri->p_value);
        out.set_monte_carlo_se(ri->monte_carlo_se);
        out.set_method(rows.redrawer->method());
      } else {
        *result.add_warnings() = Prefixed("randomisation inference", ri.status().message());
      }
    }
  }

  // Take-up (CACE) by 2SLS, two arms.
  if (!plan.takeup_campaign().empty()) {
    if (!joined.has_engagement) {
      *result.add_warnings() = "take-up effect not estimated: no messaging (engagement) source";
    } else if (itt->arms.size() != 2) {
      *result.add_warnings() = "take-up effect not estimated: it needs exactly two arms";
    } else {
      TakeUpInput takeup;
      takeup.itt = input;
      takeup.took_up.resize(static_cast<Eigen::Index>(respondents.size()));
      for (size_t k = 0; k < respondents.size(); ++k) {
        takeup.took_up[static_cast<Eigen::Index>(k)] =
            rows.participants[respondents[k]]->took_up.contains(plan.takeup_campaign()) ? 1.0 : 0.0;
      }
      v1::Cace& cace = *result.mutable_cace();
      cace.set_campaign(plan.takeup_campaign());
      std::map<std::string, std::pair<int64_t, int64_t>> by_arm;
      for (size_t i = 0; i < n_all; ++i) {
        auto& [took, total] = by_arm[rows.arm[i]];
        ++total;
        if (rows.participants[i]->took_up.contains(plan.takeup_campaign())) ++took;
      }
      for (const auto& [arm, counts] : by_arm) {
        (*cace.mutable_takeup_rate_by_arm())[arm] =
            static_cast<double>(counts.first) / static_cast<double>(counts.second);
      }
      absl::StatusOr<IvFit> iv = EstimateTakeUpEffect(takeup, options);
      if (iv.ok() && iv->fit.Find("took_up") != nullptr) {
        SetInference(*iv->fit.Find("took_up"), *cace.mutable_effect());
        if (!iv->first_stages.empty()) cace.set_first_stage_f(iv->first_stages[0].f_statistic);
        AddWarnings(iv->warnings, "take-up", *result.mutable_warnings());
      } else {
        *result.add_warnings() =
            Prefixed("take-up", iv.ok() ? "no took_up coefficient" : iv.status().message());
      }
    }
  }
  AddWarnings(warnings, "", *result.mutable_warnings());
}

std::optional<PAdjustMethod> ToPAdjust(v1::Correction correction) {
  switch (correction) {
    case v1::CORRECTION_NONE:
      return PAdjustMethod::kNone;
    case v1::CORRECTION_BONFERRONI:
      return PAdjustMethod::kBonferroni;
    case v1::CORRECTION_BENJAMINI_HOCHBERG:
      return PAdjustMethod::kBenjaminiHochberg;
    default:
      return PAdjustMethod::kHolm;
  }
}

}  // namespace

bool IsClusterPower(const v1::PowerAssumptions& power) { return power.clusters() > 0; }

IndividualDesign ToIndividualDesign(const v1::PowerAssumptions& power) {
  IndividualDesign design;
  design.n = static_cast<double>(power.n());
  design.treated_share = power.treated_share();
  design.r_squared = power.r_squared();
  design.covariates = power.covariates();
  design.response_rate = power.response_rate();
  design.test.alpha = power.alpha();
  design.test.power = power.power();
  design.test.two_tailed = !power.one_tailed();
  return design;
}

ClusterDesign ToClusterDesign(const v1::PowerAssumptions& power) {
  ClusterDesign design;
  design.clusters = static_cast<double>(power.clusters());
  design.cluster_size = power.cluster_size();
  design.icc = power.icc();
  design.treated_share = power.treated_share();
  design.r_squared_individual = power.r_squared();
  design.covariates = power.covariates();
  design.response_rate = power.response_rate();
  design.test.alpha = power.alpha();
  design.test.power = power.power();
  design.test.two_tailed = !power.one_tailed();
  return design;
}

absl::StatusOr<Mdes> PlannedMdesOf(const v1::PowerAssumptions& power) {
  return IsClusterPower(power) ? PlannedMdes(ToClusterDesign(power))
                               : PlannedMdes(ToIndividualDesign(power));
}

std::optional<SeType> ToSeType(v1::SeType type) {
  switch (type) {
    case v1::SE_TYPE_CLASSICAL:
      return SeType::kClassical;
    case v1::SE_TYPE_HC0:
      return SeType::kHC0;
    case v1::SE_TYPE_HC1:
      return SeType::kHC1;
    case v1::SE_TYPE_HC2:
      return SeType::kHC2;
    case v1::SE_TYPE_HC3:
      return SeType::kHC3;
    case v1::SE_TYPE_CR0:
      return SeType::kCR0;
    case v1::SE_TYPE_CR1:
      return SeType::kCR1Stata;
    case v1::SE_TYPE_CR2:
      return SeType::kCR2;
    default:
      return std::nullopt;
  }
}

absl::StatusOr<v1::AnalyseResponse> RunPlan(const v1::PlanRecord& record, const JoinedTrial& joined,
                                            absl::Time now) {
  const v1::AnalysisPlan& plan = record.plan();
  if (absl::Status ri = CheckRandomisationInference(joined.trial.design(), plan); !ri.ok()) {
    return ri;
  }
  v1::AnalyseResponse response;
  *response.mutable_plan() = record;
  *response.mutable_computed_at() = ToProtoTime(now);
  response.set_descriptive(IsAssignedFactor(joined.trial.design(), plan.factor()));
  if (record.state() != v1::PLAN_STATE_LOCKED) {
    response.add_warnings("the plan is not locked: these results are not pre-registered");
  }
  if (record.deviations_size() > 0) {
    response.add_warnings(absl::StrCat("the plan changed ", record.deviations_size(),
                                       " time(s) after locking; see plan.deviations"));
  }
  for (const std::string& w : joined.warnings) response.add_warnings(w);

  Rows rows;
  std::vector<const JoinedParticipant*> units;  // every participant allocated to the factor
  std::map<std::string, int64_t> cluster_ids;
  int64_t allocated = 0;
  int64_t withdrawn = 0;
  int64_t leavers = 0;
  for (const JoinedParticipant& p : joined.participants) {
    const std::string* arm = p.Arm(plan.factor());
    if (arm == nullptr) continue;
    ++allocated;
    units.push_back(&p);
    if (p.withdrawn) {
      ++withdrawn;
      continue;
    }
    if (p.left) ++leavers;
    rows.participants.push_back(&p);
    rows.unit_of_row.push_back(units.size() - 1);
    rows.arm.push_back(*arm);
    rows.site.push_back(p.site);
    auto [it, inserted] = cluster_ids.emplace(p.cluster, static_cast<int64_t>(cluster_ids.size()));
    rows.cluster.push_back(it->second);
  }
  response.set_allocated(allocated);
  response.set_withdrawn(withdrawn);
  response.set_leavers(leavers);
  if (rows.participants.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "trial \"", plan.trial_id(), "\" has no analysable participants allocated to factor \"",
        plan.factor(), "\""));
  }
  rows.columns = BuildColumns(plan, joined, rows.participants);
  if (!plan.weights().empty()) {
    WeightProblems problems(plan.weights());
    rows.weights.reserve(rows.participants.size());
    for (const JoinedParticipant* p : rows.participants) {
      if (problems.Check(*p->participant)) {
        rows.weights.push_back(p->participant->covariates().at(plan.weights()).number());
      }
    }
    if (!problems.empty()) return absl::FailedPreconditionError(problems.Message());
  }
  std::optional<AllocationRedrawer> redrawer;
  if (plan.randomisation_inference_draws() > 0) {
    absl::StatusOr<AllocationRedrawer> created =
        AllocationRedrawer::Create(joined.trial.design(), plan.factor(), units);
    if (created.ok()) {
      redrawer = std::move(*created);
      rows.redrawer = &*redrawer;
    } else {
      response.add_warnings(
          absl::StrCat("randomisation inference not run: ", created.status().message()));
    }
  }
  // The outcomes are independent (each reads the shared rows and writes its own result), so
  // they are analysed side by side, as many at a time as there are cores: on a large trial
  // each takes a good part of a second of one core.
  for (int i = 0; i < plan.outcomes_size(); ++i) response.add_outcomes();
  ForEachInParallel(plan.outcomes_size(), [&](int i) {
    const v1::PlannedOutcome& planned = plan.outcomes(i);
    v1::OutcomeResult& result = *response.mutable_outcomes(i);
    if (planned.source().has_decisions()) {
      AnalyseDecisionOutcome(plan, planned, joined, rows, result);
    } else {
      AnalyseOutcome(plan, planned, joined, rows, result);
    }
  });

  // Multiple testing across the family: the primary outcomes (every outcome when none is).
  bool any_primary = false;
  for (const auto& o : response.outcomes()) any_primary = any_primary || o.primary();
  std::vector<double> p;
  std::vector<v1::Effect*> family;
  for (auto& o : *response.mutable_outcomes()) {
    if (any_primary && !o.primary()) continue;
    for (auto& e : *o.mutable_effects()) {
      family.push_back(&e);
      p.push_back(e.effect().p_value());
    }
  }
  absl::StatusOr<std::vector<double>> adjusted = AdjustPValues(p, *ToPAdjust(plan.correction()));
  if (adjusted.ok()) {
    for (size_t i = 0; i < family.size(); ++i) family[i]->set_adjusted_p_value((*adjusted)[i]);
  } else {
    response.add_warnings(absl::StrCat("multiple testing: ", adjusted.status().message()));
  }
  response.add_sources("randomisation");
  if (joined.has_responses) response.add_sources("survey-ingest responses");
  if (joined.has_outcomes) response.add_sources("survey-ingest outcomes");
  if (joined.has_engagement) response.add_sources("messaging engagement");
  return response;
}

}  // namespace fieldwork::analysis
