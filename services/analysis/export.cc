#include "services/analysis/export.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/analysis/plan_validation.h"

namespace fieldwork::analysis {
namespace v1 = ::fieldwork::v1;

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string FormatNumber(double value) {
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  if (error != std::errc()) return "";
  return std::string(buffer, end);
}

namespace {

bool IsPlanCovariate(const v1::AnalysisPlan& plan, const std::string& name) {
  return std::find(plan.covariates().begin(), plan.covariates().end(), name) !=
         plan.covariates().end();
}

// How Analyse reports the effects on an outcome column, so that a reader of the export can
// reproduce the figures: the SE, its degrees of freedom, the standardisation and the weights.
std::string EffectsDescription(const v1::AnalysisPlan& plan) {
  const bool clustered = plan.estimator() == v1::ESTIMATOR_CLUSTERED;
  v1::SeType se = plan.se_type();
  if (se == v1::SE_TYPE_UNSPECIFIED) se = clustered ? v1::SE_TYPE_CR2 : v1::SE_TYPE_HC2;
  std::string se_name;
  std::string df;
  switch (se) {
    case v1::SE_TYPE_CLASSICAL:
      se_name = "classical";
      df = "n - rank";
      break;
    case v1::SE_TYPE_HC0:
    case v1::SE_TYPE_HC1:
    case v1::SE_TYPE_HC2:
    case v1::SE_TYPE_HC3:
      se_name = absl::StrCat("HC", static_cast<int>(se) - static_cast<int>(v1::SE_TYPE_HC0));
      df = "n - rank";
      break;
    case v1::SE_TYPE_CR0:
    case v1::SE_TYPE_CR1:
      se_name = se == v1::SE_TYPE_CR0 ? "CR0 by cluster" : "CR1 (Stata) by cluster";
      df = "clusters - 1";
      break;
    default:
      se_name = "CR2 by cluster";
      df = "Bell-McCaffrey";
      break;
  }
  return absl::StrCat(
      "; Analyse reports each arm's effect against ", plan.control_arm(), " with its SE (",
      se_name, "), degrees of freedom (", df, "), CI and p, and Hedges' g (the effect over the ",
      "pooled SD of this column among the two arms' respondents, times 1 - 3/(4n - 9))",
      plan.weights().empty() ? "" : absl::StrCat(", weighted by ", plan.weights()));
}

}  // namespace

DatasetLayout LayoutDataset(const v1::AnalysisPlan& plan, const JoinedTrial& joined) {
  if (!joined.has_engagement) return LayoutDataset(plan, joined.trial, joined.waves, nullptr);
  std::set<std::string> taken_up;
  for (const auto& p : joined.participants) taken_up.insert(p.took_up.begin(), p.took_up.end());
  return LayoutDataset(plan, joined.trial, joined.waves, &taken_up);
}

DatasetLayout LayoutDataset(const v1::AnalysisPlan& plan, const v1::Trial& trial,
                            const std::vector<v1::Wave>& waves_read,
                            const std::set<std::string>* taken_up) {
  DatasetLayout dataset;
  auto column = [&dataset](std::string name, std::string description, std::string type) {
    v1::ExportDatasetResponse::Column c;
    c.set_name(std::move(name));
    c.set_description(std::move(description));
    c.set_type(std::move(type));
    dataset.codebook.push_back(std::move(c));
  };
  column("participant_id", "pseudonymous participant id", "string");
  column("site", "site id", "string");
  column("cohort", "cohort (empty when the design has none)", "string");
  column("cluster", "cluster (e.g. team)", "string");
  column("arm",
         absl::StrCat("arm of factor ", plan.factor(), " (control: ", plan.control_arm(), ")",
                      IsAssignedFactor(trial.design(), plan.factor())
                          ? "; assigned, not randomised: comparisons of its arms are descriptive"
                          : ""),
         "string");
  column("withdrawn", "1 when withdrawn (excluded from the analysis)", "integer");
  column("left", "1 when the participant left the organisation (kept in the analysis)", "integer");
  for (const std::string& name : plan.covariates()) {
    const v1::Covariate* covariate = FindCovariate(trial.design(), name);
    const bool categorical =
        covariate != nullptr && covariate->kind() == v1::Covariate::KIND_CATEGORICAL;
    column(name,
           "baseline covariate from enrolment; where missing, Analyse sets it to the "
           "respondents' mean (a category's dummy to its share) and adds the indicator " +
               name + "_missing",
           categorical ? "string" : "number");
  }
  if (!plan.weights().empty() && !IsPlanCovariate(plan, plan.weights())) {
    column(plan.weights(),
           "analysis weight from enrolment (plan.weights): every model is weighted least squares",
           "number");
  }
  for (const auto& outcome : plan.outcomes()) {
    if (outcome.source().has_decisions()) {
      const v1::OutcomeSource::Decisions& d = outcome.source().decisions();
      column(absl::StrCat(outcome.name(), "_decisions"),
             absl::StrCat("number of decisions of block ", d.block(), " in wave ", d.wave_id(),
                          " (the outcome of the long-format interaction, one row per decision: ",
                          "`fieldwork responses decisions TRIAL --wave=", d.wave_id(),
                          "` lists them, to join on participant_id)"),
             "integer");
      continue;
    }
    const std::string description =
        outcome.source().has_survey()
            ? absl::StrCat("survey score ", outcome.source().survey().score_id(), " of wave ",
                           outcome.source().survey().wave_id())
            : absl::StrCat("administrative outcome ", outcome.source().administrative().outcome());
    column(outcome.name(),
           absl::StrCat(outcome.primary() ? "primary outcome: " : "outcome: ", description,
                        EffectsDescription(plan)),
           "number");
    if (outcome.has_baseline())
      column(absl::StrCat(outcome.name(), "_baseline"), "baseline of the outcome", "number");
  }
  std::vector<std::string>& waves = dataset.waves;
  for (const auto& wave : waves_read) waves.push_back(wave.wave_id());
  for (const std::string& wave : waves) {
    column(absl::StrCat("responded_", wave),
           absl::StrCat("1 when a counted response to wave ", wave, " exists"), "integer");
  }
  std::set<std::string> campaigns;
  if (taken_up != nullptr) {
    if (!plan.takeup_campaign().empty()) campaigns.insert(plan.takeup_campaign());
    campaigns.insert(taken_up->begin(), taken_up->end());
  }
  for (const std::string& campaign : campaigns) {
    column(absl::StrCat("took_up_", campaign),
           "1 when the campaign's message was opened or clicked", "integer");
  }
  dataset.campaigns.assign(campaigns.begin(), campaigns.end());
  std::vector<std::string> names;
  for (const auto& c : dataset.codebook) names.push_back(CsvField(c.name()));
  dataset.header = absl::StrCat(absl::StrJoin(names, ","), "\n");
  return dataset;
}

void ForEachDatasetLine(const v1::AnalysisPlan& plan, const JoinedTrial& joined,
                        const DatasetLayout& layout,
                        const std::function<bool(const std::string& line)>& write) {
  for (const JoinedParticipant& p : joined.participants) {
    const std::string* arm = p.Arm(plan.factor());
    if (arm == nullptr) continue;
    std::vector<std::string> cells = {
        CsvField(p.id), CsvField(p.site),        CsvField(p.cohort), CsvField(p.cluster),
        CsvField(*arm), p.withdrawn ? "1" : "0", p.left ? "1" : "0"};
    std::vector<std::string> covariates(plan.covariates().begin(), plan.covariates().end());
    if (!plan.weights().empty() && !IsPlanCovariate(plan, plan.weights())) {
      covariates.push_back(plan.weights());
    }
    for (const std::string& name : covariates) {
      auto it = p.participant->covariates().find(name);
      if (it == p.participant->covariates().end()) {
        cells.emplace_back();
      } else if (it->second.has_number()) {
        cells.push_back(FormatNumber(it->second.number()));
      } else {
        cells.push_back(CsvField(it->second.category()));
      }
    }
    for (const auto& outcome : plan.outcomes()) {
      if (outcome.source().has_decisions()) {
        cells.push_back(absl::StrCat(DecisionCount(joined, p, outcome.source().decisions())));
        continue;
      }
      std::optional<double> value = OutcomeValue(joined, p, outcome.source());
      cells.push_back(value.has_value() ? FormatNumber(*value) : "");
      if (outcome.has_baseline()) {
        std::optional<double> baseline = OutcomeValue(joined, p, outcome.baseline());
        cells.push_back(baseline.has_value() ? FormatNumber(*baseline) : "");
      }
    }
    for (const std::string& wave : layout.waves)
      cells.push_back(p.response_by_wave.contains(wave) ? "1" : "0");
    for (const std::string& campaign : layout.campaigns)
      cells.push_back(p.took_up.contains(campaign) ? "1" : "0");
    if (!write(absl::StrCat(absl::StrJoin(cells, ","), "\n"))) return;
  }
}

Dataset BuildDataset(const v1::AnalysisPlan& plan, const JoinedTrial& joined) {
  DatasetLayout layout = LayoutDataset(plan, joined);
  Dataset dataset;
  ForEachDatasetLine(plan, joined, layout, [&](const std::string& line) {
    dataset.lines.push_back(line);
    return true;
  });
  dataset.codebook = std::move(layout.codebook);
  dataset.header = std::move(layout.header);
  return dataset;
}

}  // namespace fieldwork::analysis
