#include "services/analysis/decision_model.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "services/analysis/analyser.h"
#include "services/analysis/inference_proto.h"
#include "services/analysis/stats/interaction.h"

namespace fieldwork::analysis {
namespace v1 = ::fieldwork::v1;

namespace {

// A decision's answer as a number: the whole string must be one ("1", "0", "3.5").
bool DecisionNumber(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(value);
}

void SetEstimate(const std::string& arm, const std::string& level, const std::string& versus_arm,
                 const std::string& versus_level, const LinearCombination& estimate,
                 v1::InteractionEstimate& out) {
  out.set_arm(arm);
  out.set_level(level);
  out.set_versus_arm(versus_arm);
  out.set_versus_level(versus_level);
  SetInference(estimate, *out.mutable_inference());
}

// Each arm's figures over its decisions (randomised counts participants).
void AddArmFigures(const DecisionModelInput& input, v1::OutcomeResult& result) {
  for (const std::string& arm : input.arm_order) {
    double sum = 0;
    double sum_squares = 0;
    int64_t n = 0;
    for (size_t i = 0; i < input.arms.size(); ++i) {
      if (input.arms[i] != arm) continue;
      for (double v : input.decisions[i].values) {
        sum += v;
        sum_squares += v * v;
        ++n;
      }
    }
    v1::ArmFigures& figures = *result.add_arms();
    figures.set_arm(arm);
    auto randomised = input.randomised.find(arm);
    figures.set_randomised(randomised == input.randomised.end() ? 0 : randomised->second);
    figures.set_n(n);
    if (n == 0) continue;
    const double mean = sum / static_cast<double>(n);
    figures.set_raw_mean(mean);
    if (n > 1) {
      const double variance =
          (sum_squares - static_cast<double>(n) * mean * mean) / static_cast<double>(n - 1);
      figures.set_raw_sd(std::sqrt(std::max(0.0, variance)));
    }
  }
}

}  // namespace

ParticipantDecisions ReadDecisions(const JoinedTrial& joined, const JoinedParticipant& participant,
                                   const v1::OutcomeSource::Decisions& source,
                                   const std::string& attribute, SkippedDecisions& skipped) {
  ParticipantDecisions out;
  const JoinedResponse* response = joined.ResponseOf(participant, source.wave_id());
  if (response == nullptr) return out;
  for (const v1::Decision& decision : response->decisions()) {
    if (decision.block() != source.block()) continue;
    double value = 0;
    if (decision.value().empty()) {
      ++skipped.unanswered;
      continue;
    }
    if (!DecisionNumber(decision.value(), value)) {
      ++skipped.not_numeric;
      continue;
    }
    auto level = decision.attributes().find(attribute);
    if (level == decision.attributes().end() || level->second.empty()) {
      ++skipped.without_attribute;
      continue;
    }
    out.values.push_back(value);
    out.levels.push_back(level->second);
  }
  return out;
}

std::vector<std::string> SkippedDecisionWarnings(const SkippedDecisions& skipped,
                                                 const std::string& attribute) {
  std::vector<std::string> warnings;
  if (skipped.unanswered > 0) {
    warnings.push_back(absl::StrCat(skipped.unanswered, " unanswered decision(s) left out"));
  }
  if (skipped.not_numeric > 0) {
    warnings.push_back(absl::StrCat(skipped.not_numeric,
                                    " decision(s) whose answer is not a number left out"));
  }
  if (skipped.without_attribute > 0) {
    warnings.push_back(absl::StrCat(skipped.without_attribute, " decision(s) without the attribute \"",
                                    attribute, "\" left out"));
  }
  return warnings;
}

void FitDecisionModel(const DecisionModelInput& input, v1::OutcomeResult& result) {
  AddArmFigures(input, result);
  int64_t rows = 0;
  for (const ParticipantDecisions& d : input.decisions) rows += static_cast<int64_t>(d.values.size());
  result.set_n(rows);
  v1::LongInteractionResult& out = *result.mutable_interaction();
  out.set_attribute(input.interaction.attribute());
  out.set_reference_level(input.interaction.reference_level());
  out.set_decisions(rows);
  if (rows == 0) {
    *result.add_warnings() = "not estimated: no decisions";
    return;
  }

  // One row per decision; each participant's arm, covariates and weight repeated on theirs.
  InteractionInput model;
  model.outcome.resize(rows);
  model.a = {input.interaction.attribute(), {}, input.interaction.reference_level()};
  model.b = {input.factor, {}, input.control_arm};
  for (const Covariate& c : input.covariates) {
    model.covariates.push_back({c.name, Eigen::VectorXd(rows)});
  }
  if (!input.weights.empty()) model.weights.resize(rows);
  Eigen::Index row = 0;
  for (size_t p = 0; p < input.decisions.size(); ++p) {
    const ParticipantDecisions& d = input.decisions[p];
    for (size_t k = 0; k < d.values.size(); ++k, ++row) {
      model.outcome[row] = d.values[k];
      model.a.values.push_back(d.levels[k]);
      model.b.values.push_back(input.arms[p]);
      model.clusters.push_back(static_cast<int64_t>(p));
      for (size_t c = 0; c < input.covariates.size(); ++c) {
        model.covariates[c].values[row] = input.covariates[c].values[static_cast<Eigen::Index>(p)];
      }
      if (!input.weights.empty()) model.weights[row] = input.weights[p];
    }
  }
  InteractionOptions options;
  options.alpha = input.alpha;
  options.se_type = ToSeType(input.se_type);
  absl::StatusOr<InteractionResult> fit = FitInteraction(model, options);
  if (!fit.ok()) {
    *result.add_warnings() = absl::StrCat("not estimated: ", fit.status().message());
    return;
  }
  result.set_se_type(SeTypeName(fit->fit.se_type));
  out.set_se_type(result.se_type());
  out.set_clusters(fit->fit.n_clusters);
  for (const Coefficient& c : fit->fit.coefficients) {
    out.add_terms(c.term);
    SetInference(c, *out.add_coefficients());
  }
  for (const SimpleEffect& e : fit->b_simple_effects) {
    SetEstimate(e.b_level, e.a_level, input.control_arm, e.a_level, e.effect, *out.add_arm_effects());
  }
  for (const SimpleEffect& e : fit->simple_effects) {
    SetEstimate(e.b_level, e.a_level, e.b_level, input.interaction.reference_level(), e.effect,
                *out.add_level_effects());
  }
  out.set_interaction_f(fit->interaction_test.f_statistic);
  out.set_interaction_df1(fit->interaction_test.numerator_df);
  out.set_interaction_df2(fit->interaction_test.denominator_df);
  out.set_interaction_p_value(fit->interaction_test.p_value);
  for (const CellMean& cell : fit->cells) {
    v1::InteractionEstimate& e = *out.add_cells();
    SetEstimate(cell.b_level, cell.a_level, "", "", cell.mean, e);
    e.set_n(cell.n);
  }
  for (const std::string& w : fit->warnings) *result.add_warnings() = w;
}

}  // namespace fieldwork::analysis
