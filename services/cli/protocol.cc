#include "services/cli/protocol.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <google/protobuf/util/time_util.h>
#include <yaml-cpp/yaml.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/cli/protocol_fields.h"
#include "services/cli/protocol_sections.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;

v1::RandomisationMethod Method(const std::string& name, const std::string& field) {
  static const std::map<std::string, v1::RandomisationMethod> kMethods = {
      {"simple", v1::RANDOMISATION_METHOD_SIMPLE},
      {"complete", v1::RANDOMISATION_METHOD_COMPLETE},
      {"complete_within_strata", v1::RANDOMISATION_METHOD_COMPLETE_WITHIN_STRATA},
      {"permuted_blocks", v1::RANDOMISATION_METHOD_PERMUTED_BLOCKS},
      {"minimisation", v1::RANDOMISATION_METHOD_MINIMISATION},
      {"cluster", v1::RANDOMISATION_METHOD_CLUSTER},
      {"cluster_within_strata", v1::RANDOMISATION_METHOD_CLUSTER_WITHIN_STRATA},
      {"rerandomisation", v1::RANDOMISATION_METHOD_RERANDOMISATION},
      {"latin_square", v1::RANDOMISATION_METHOD_LATIN_SQUARE},
      {"random_order", v1::RANDOMISATION_METHOD_RANDOM_ORDER},
      {"assigned", v1::RANDOMISATION_METHOD_ASSIGNED},  // not random: the arm is a roster column
  };
  auto it = kMethods.find(name);
  if (it == kMethods.end()) {
    std::string known;
    for (const auto& [key, value] : kMethods) absl::StrAppend(&known, known.empty() ? "" : ", ", key);
    Fail(field, absl::StrCat("\"", name, "\" is not a method (", known, ")"));
  }
  return it->second;
}

v1::Factor ParseFactor(const YAML::Node& node, const std::string& at) {
  RequireMap(node, at);
  CheckKeys(node, at, {"name", "method", "arms", "strata", "order_items", "block_sizes",
                       "allow_clusters_across_strata", "minimisation", "rerandomisation"});
  v1::Factor factor;
  factor.set_name(Scalar(node["name"], at + ".name"));
  factor.set_method(Method(Scalar(node["method"], at + ".method"), at + ".method"));
  if (const YAML::Node arms = node["arms"]) {
    if (!arms.IsSequence()) Fail(at + ".arms", "must be a list");
    for (size_t a = 0; a < arms.size(); ++a) {
      const std::string arm_at = absl::StrCat(at, ".arms[", a, "]");
      auto* arm = factor.add_arms();
      if (arms[a].IsScalar()) {
        arm->set_name(arms[a].as<std::string>());
        arm->set_weight(1);
      } else {
        CheckKeys(arms[a], arm_at, {"name", "weight"});
        arm->set_name(Scalar(arms[a]["name"], arm_at + ".name"));
        arm->set_weight(Integer(arms[a]["weight"], arm_at + ".weight", 1));
      }
    }
  }
  for (const std::string& s : Strings(node["strata"], at + ".strata")) factor.add_strata(s);
  for (const std::string& s : Strings(node["order_items"], at + ".order_items")) factor.add_order_items(s);
  if (const YAML::Node sizes = node["block_sizes"]) {
    for (size_t i = 0; i < sizes.size(); ++i) {
      factor.add_block_sizes(Integer(sizes[i], absl::StrCat(at, ".block_sizes[", i, "]"), 0));
    }
  }
  factor.set_allow_clusters_across_strata(Boolean(node["allow_clusters_across_strata"], at + ".allow_clusters_across_strata"));
  if (const YAML::Node mini = node["minimisation"]) {
    auto* options = factor.mutable_minimisation();
    CheckKeys(mini, at + ".minimisation", {"factors", "imbalance", "p_minimising", "random_first"});
    const YAML::Node factors = mini["factors"];
    for (size_t i = 0; factors && i < factors.size(); ++i) {
      auto* f = options->add_factors();
      const std::string f_at = absl::StrCat(at, ".minimisation.factors[", i, "]");
      if (factors[i].IsScalar()) {
        f->set_variable(factors[i].as<std::string>());
        f->set_weight(1);
      } else {
        f->set_variable(Scalar(factors[i]["variable"], f_at + ".variable"));
        f->set_weight(Number(factors[i]["weight"], f_at + ".weight", 1));
      }
    }
    const std::string imbalance = Scalar(mini["imbalance"], at + ".minimisation.imbalance", false);
    if (imbalance == "variance") {
      options->set_imbalance(v1::MinimisationOptions::IMBALANCE_VARIANCE);
    } else if (imbalance.empty() || imbalance == "range") {
      options->set_imbalance(v1::MinimisationOptions::IMBALANCE_RANGE);
    } else {
      Fail(at + ".minimisation.imbalance", "must be range or variance");
    }
    options->set_p_minimising(Number(mini["p_minimising"], at + ".minimisation.p_minimising", 0.8));
    options->set_random_first(Integer(mini["random_first"], at + ".minimisation.random_first", 0));
  }
  if (const YAML::Node rr = node["rerandomisation"]) {
    auto* options = factor.mutable_rerandomisation();
    CheckKeys(rr, at + ".rerandomisation", {"acceptance_probability", "max_draws", "within_strata", "covariates"});
    options->set_acceptance_probability(Number(rr["acceptance_probability"], at + ".rerandomisation.acceptance_probability", 0.1));
    options->set_max_draws(Integer(rr["max_draws"], at + ".rerandomisation.max_draws", 10000));
    options->set_within_strata(Boolean(rr["within_strata"], at + ".rerandomisation.within_strata"));
    for (const std::string& c : Strings(rr["covariates"], at + ".rerandomisation.covariates")) options->add_covariates(c);
  }
  return factor;
}

v1::TrialDesign ParseTrial(const YAML::Node& trial) {
  if (!trial || !trial.IsMap()) Fail("trial", "is required: a map with id, sites, factors, ...");
  CheckKeys(trial, "trial", {"id", "title", "sites", "cohorts", "covariates", "allow_clusters_across_sites", "factors"});
  v1::TrialDesign design;
  design.set_trial_id(Scalar(trial["id"], "trial.id"));
  design.set_title(Scalar(trial["title"], "trial.title", false));
  if (const YAML::Node sites = trial["sites"]) {
    for (size_t i = 0; i < sites.size(); ++i) {
      auto* site = design.add_sites();
      const std::string at = absl::StrCat("trial.sites[", i, "]");
      if (sites[i].IsScalar()) {
        site->set_id(sites[i].as<std::string>());
      } else {
        CheckKeys(sites[i], at, {"id", "name", "organisation"});
        site->set_id(Scalar(sites[i]["id"], at + ".id"));
        site->set_name(Scalar(sites[i]["name"], at + ".name", false));
        site->set_organisation(Scalar(sites[i]["organisation"], at + ".organisation", false));
      }
    }
  }
  for (const std::string& c : Strings(trial["cohorts"], "trial.cohorts")) design.add_cohorts(c);
  if (const YAML::Node covariates = trial["covariates"]) {
    for (size_t i = 0; i < covariates.size(); ++i) {
      const std::string at = absl::StrCat("trial.covariates[", i, "]");
      auto* c = design.add_covariates();
      CheckKeys(covariates[i], at, {"name", "kind", "levels", "required"});
      c->set_name(Scalar(covariates[i]["name"], at + ".name"));
      const std::string kind = Scalar(covariates[i]["kind"], at + ".kind");
      if (kind == "numeric") {
        c->set_kind(v1::Covariate::KIND_NUMERIC);
      } else if (kind == "categorical") {
        c->set_kind(v1::Covariate::KIND_CATEGORICAL);
      } else {
        Fail(at + ".kind", absl::StrCat("\"", kind, "\" must be numeric or categorical"));
      }
      for (const std::string& level : Strings(covariates[i]["levels"], at + ".levels")) c->add_levels(level);
      c->set_required(Boolean(covariates[i]["required"], at + ".required"));
    }
  }
  design.set_allow_clusters_across_sites(Boolean(trial["allow_clusters_across_sites"], "trial.allow_clusters_across_sites"));
  const YAML::Node factors = trial["factors"];
  if (!factors || !factors.IsSequence()) Fail("trial.factors", "needs a list of factors");
  for (size_t f = 0; f < factors.size(); ++f) {
    *design.add_factors() = ParseFactor(factors[f], absl::StrCat("trial.factors[", f, "]"));
  }
  return design;
}

v1::Wave ParseWave(const YAML::Node& node, const std::string& trial_id, const std::string& at) {
  RequireMap(node, at);
  CheckKeys(node, at, {"id", "instrument", "version", "opens", "closes", "allow_late", "rule", "norms_wave"});
  v1::Wave wave;
  wave.set_trial_id(trial_id);
  wave.set_wave_id(Scalar(node["id"], at + ".id"));
  wave.set_instrument_id(Scalar(node["instrument"], at + ".instrument"));
  wave.set_instrument_version(static_cast<int32_t>(Integer(node["version"], at + ".version", 1)));
  *wave.mutable_opens_at() = Time(node["opens"], at + ".opens");
  *wave.mutable_closes_at() = Time(node["closes"], at + ".closes");
  wave.set_allow_late(Boolean(node["allow_late"], at + ".allow_late"));
  const std::string rule = Scalar(node["rule"], at + ".rule", false);
  if (rule.empty() || rule == "first_complete") {
    wave.set_rule(v1::RESPONSE_RULE_FIRST_COMPLETE);
  } else if (rule == "last_complete") {
    wave.set_rule(v1::RESPONSE_RULE_LAST_COMPLETE);
  } else {
    Fail(at + ".rule", "must be first_complete or last_complete");
  }
  wave.set_norms_wave_id(Scalar(node["norms_wave"], at + ".norms_wave", false));
  return wave;
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot be read"));
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::StatusOr<Protocol> ParseProtocol(
    absl::string_view yaml, const std::string& path,
    const std::function<absl::StatusOr<std::string>(const std::string&)>& read_file) {
  Protocol protocol;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap()) Fail("trial", "is required: a map with id, sites, factors, ...");
    protocol.design = ParseTrial(root["trial"]);
    CheckKeys(root, "", {"trial", "instruments", "waves", "lock_design", "templates", "campaigns", "analysis", "analyses", "lock_plan"});
    protocol.lock_design = Boolean(root["lock_design"], "lock_design");
    const std::filesystem::path base = std::filesystem::path(path).parent_path();
    const std::vector<std::string> instruments = Strings(root["instruments"], "instruments");
    for (size_t i = 0; i < instruments.size(); ++i) {
      std::filesystem::path file = instruments[i];
      if (file.is_relative()) file = base / file;
      absl::StatusOr<std::string> text = read_file(file.string());
      if (!text.ok()) Fail(absl::StrCat("instruments[", i, "]"), std::string(text.status().message()));
      protocol.instruments.push_back({file.string(), *std::move(text)});
    }
    if (const YAML::Node waves = root["waves"]) {
      RequireList(waves, "waves");
      for (size_t w = 0; w < waves.size(); ++w) {
        protocol.waves.push_back(ParseWave(waves[w], protocol.design.trial_id(), absl::StrCat("waves[", w, "]")));
      }
    }
    protocol.templates = ParseTemplates(root["templates"], base.string(), read_file);
    protocol.campaigns = ParseCampaigns(root["campaigns"], protocol);
    protocol.plans = ParseAnalysisPlans(root, protocol);
    protocol.lock_plan = Boolean(root["lock_plan"], "lock_plan");
    if (protocol.lock_plan && protocol.plans.empty()) Fail("lock_plan", "there is no analysis: (or analyses:) section to lock");
  } catch (const ProtocolError& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.field, " ", e.reason));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not valid YAML: ", e.what()));
  }
  return protocol;
}

}  // namespace fieldwork::cli
