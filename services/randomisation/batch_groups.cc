#include "services/randomisation/batch_groups.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace fieldwork::randomisation {
namespace {

// As the engine reads a categorical variable of a participant (engine.cc's CategoryOf).
std::string CategoryOf(const fieldwork::v1::Participant& p, const std::string& variable) {
  if (variable == "site") return p.site();
  if (variable == "cohort") return p.cohort();
  auto it = p.covariates().find(variable);
  return it == p.covariates().end() ? "" : it->second.category();
}

}  // namespace

BatchGrouping GroupingOf(const fieldwork::v1::TrialDesign& design) {
  BatchGrouping grouping;
  bool first_stratified = true;
  for (const auto& factor : design.factors()) {
    switch (factor.method()) {
      case fieldwork::v1::RANDOMISATION_METHOD_SIMPLE:
      case fieldwork::v1::RANDOMISATION_METHOD_ASSIGNED:
      case fieldwork::v1::RANDOMISATION_METHOD_RANDOM_ORDER:
        continue;  // per participant: no constraint on the groups
      case fieldwork::v1::RANDOMISATION_METHOD_COMPLETE_WITHIN_STRATA: {
        std::vector<std::string> strata(factor.strata().begin(), factor.strata().end());
        if (first_stratified) {
          grouping.variables = strata;
          first_stratified = false;
        } else {
          // Keep the variables every such factor stratifies by, in the first one's order.
          std::vector<std::string> common;
          for (const std::string& v : grouping.variables) {
            if (std::find(strata.begin(), strata.end(), v) != strata.end()) common.push_back(v);
          }
          grouping.variables = std::move(common);
        }
        // No variable in common: one stratum spans the batch.
        if (grouping.variables.empty()) return BatchGrouping{};
        continue;
      }
      default:
        return BatchGrouping{};  // draws over the whole batch
    }
  }
  grouping.splits = true;
  return grouping;
}

std::string BatchGroupKey(const BatchGrouping& grouping, const fieldwork::v1::Participant& participant) {
  std::string key;
  for (const std::string& variable : grouping.variables) {
    const std::string value = CategoryOf(participant, variable);
    absl::StrAppend(&key, value.size(), ":", value);
  }
  return key;
}

}  // namespace fieldwork::randomisation
