#include "services/randomisation/engine/design_validation.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/quote.h"
#include "services/randomisation/engine/ids.h"

namespace fieldwork::randomisation {
namespace {

using fieldwork::v1::Covariate;
using fieldwork::v1::Factor;
using fieldwork::v1::RandomisationMethod;
using fieldwork::v1::TrialDesign;

// A title is shown in reports and listings, never parsed; the bound only keeps a design small.
constexpr size_t kMaxTitleBytes = 1000;

absl::Status Invalid(absl::string_view field, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(field, " ", reason));
}

bool IsBatchOnly(RandomisationMethod method) {
  return !IsSequentialMethod(method) && !IsPerParticipantMethod(method);
}

// ASSIGNED (not random): the arm is the categorical covariate named like the factor, which
// must be required and list exactly the arms as its levels, so that enrolment rejects a row
// without a valid arm instead of allocation failing later.
absl::Status ValidateAssigned(const Factor& factor, const std::string& where, const TrialDesign& design) {
  const Covariate* source = nullptr;
  for (const Covariate& c : design.covariates()) {
    if (c.name() == factor.name()) source = &c;
  }
  if (source == nullptr || source->kind() != Covariate::KIND_CATEGORICAL) {
    return Invalid(where + ".method", absl::StrCat("assigned: needs a categorical covariate named \"", factor.name(),
                                                   "\" (the roster column holding each participant's arm)"));
  }
  if (!source->required()) {
    return Invalid(where + ".method", absl::StrCat("assigned: covariate \"", factor.name(), "\" must be required"));
  }
  std::set<std::string> arms, levels(source->levels().begin(), source->levels().end());
  for (const auto& arm : factor.arms()) arms.insert(arm.name());
  if (arms != levels) {
    return Invalid(where + ".method", absl::StrCat("assigned: covariate \"", factor.name(), "\" levels [",
                                                   absl::StrJoin(levels, ", "), "] must be exactly the arms [",
                                                   absl::StrJoin(arms, ", "), "]"));
  }
  return absl::OkStatus();
}

absl::Status ValidateFactor(const Factor& factor,
                            const std::string& where, const std::set<std::string>& categorical,
                            const std::set<std::string>& numeric) {
  if (factor.name().empty()) return Invalid(where + ".name", "is required");
  if (factor.method() == fieldwork::v1::RANDOMISATION_METHOD_UNSPECIFIED ||
      !fieldwork::v1::RandomisationMethod_IsValid(factor.method())) {
    return Invalid(where + ".method", "is required");
  }
  const bool orders = factor.method() == fieldwork::v1::RANDOMISATION_METHOD_LATIN_SQUARE ||
                      factor.method() == fieldwork::v1::RANDOMISATION_METHOD_RANDOM_ORDER;
  if (orders) {
    if (factor.order_items_size() < 2) return Invalid(where + ".order_items", "needs at least 2 items");
    std::set<std::string> items;
    for (const std::string& item : factor.order_items()) {
      if (item.empty() || !items.insert(item).second) {
        return Invalid(where + ".order_items", absl::StrCat("has an empty or repeated item \"", item, "\""));
      }
    }
  } else {
    if (factor.arms_size() < 2) return Invalid(where + ".arms", "needs at least 2 arms");
    std::set<std::string> arms;
    int64_t total = 0;
    for (int a = 0; a < factor.arms_size(); ++a) {
      const auto& arm = factor.arms(a);
      const std::string at = absl::StrCat(where, ".arms[", a, "]");
      if (arm.name().empty()) return Invalid(at + ".name", "is required");
      if (!arms.insert(arm.name()).second) return Invalid(at + ".name", absl::StrCat("\"", arm.name(), "\" is repeated"));
      if (arm.weight() <= 0) return Invalid(at + ".weight", absl::StrCat("must be positive, got ", arm.weight()));
      total += arm.weight();
    }
    if (factor.method() == fieldwork::v1::RANDOMISATION_METHOD_PERMUTED_BLOCKS) {
      if (factor.block_sizes().empty()) return Invalid(where + ".block_sizes", "needs at least one size");
      for (int64_t size : factor.block_sizes()) {
        if (size <= 0 || size % total != 0) {
          return Invalid(where + ".block_sizes", absl::StrCat("size ", size, " is not a positive multiple of the weights' sum ", total));
        }
      }
    }
  }
  for (int s = 0; s < factor.strata_size(); ++s) {
    const std::string& variable = factor.strata(s);
    if (variable != "site" && variable != "cohort" && categorical.count(variable) == 0) {
      return Invalid(absl::StrCat(where, ".strata[", s, "]"),
                     absl::StrCat("\"", variable, "\" is not site, cohort or a categorical covariate"));
    }
  }
  if (factor.method() == fieldwork::v1::RANDOMISATION_METHOD_MINIMISATION) {
    const auto& options = factor.minimisation();
    if (options.factors().empty()) return Invalid(where + ".minimisation.factors", "needs at least one variable");
    for (int f = 0; f < options.factors_size(); ++f) {
      const auto& mf = options.factors(f);
      const std::string at = absl::StrCat(where, ".minimisation.factors[", f, "]");
      if (mf.variable() != "site" && mf.variable() != "cohort" && categorical.count(mf.variable()) == 0) {
        return Invalid(at + ".variable", absl::StrCat("\"", mf.variable(), "\" is not site, cohort or a categorical covariate"));
      }
      if (mf.weight() < 0) return Invalid(at + ".weight", "must not be negative");
    }
    if (options.p_minimising() < 0 || options.p_minimising() > 1) {
      return Invalid(where + ".minimisation.p_minimising", "must be in [0, 1]");
    }
    if (options.random_first() < 0) return Invalid(where + ".minimisation.random_first", "must not be negative");
  }
  if (factor.method() == fieldwork::v1::RANDOMISATION_METHOD_RERANDOMISATION) {
    const auto& options = factor.rerandomisation();
    if (options.acceptance_probability() < 0 || options.acceptance_probability() >= 1) {
      return Invalid(where + ".rerandomisation.acceptance_probability", "must be in (0, 1)");
    }
    if (options.max_draws() < 0) return Invalid(where + ".rerandomisation.max_draws", "must not be negative");
    for (const std::string& name : options.covariates()) {
      if (numeric.count(name) == 0) {
        return Invalid(where + ".rerandomisation.covariates", absl::StrCat("\"", name, "\" is not a numeric covariate"));
      }
    }
    if (options.covariates().empty() && numeric.empty()) {
      return Invalid(where + ".rerandomisation", "needs numeric covariates to balance on");
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsSequentialMethod(RandomisationMethod method) {
  return method == fieldwork::v1::RANDOMISATION_METHOD_PERMUTED_BLOCKS ||
         method == fieldwork::v1::RANDOMISATION_METHOD_MINIMISATION;
}

bool IsPerParticipantMethod(RandomisationMethod method) {
  return method == fieldwork::v1::RANDOMISATION_METHOD_SIMPLE ||
         method == fieldwork::v1::RANDOMISATION_METHOD_RANDOM_ORDER ||
         method == fieldwork::v1::RANDOMISATION_METHOD_ASSIGNED;
}

bool IsSequentialDesign(const TrialDesign& design) {
  for (const Factor& factor : design.factors()) {
    if (IsSequentialMethod(factor.method())) return true;
  }
  return false;
}

bool NeedsClusters(const TrialDesign& design) {
  for (const Factor& factor : design.factors()) {
    if (factor.method() == fieldwork::v1::RANDOMISATION_METHOD_CLUSTER ||
        factor.method() == fieldwork::v1::RANDOMISATION_METHOD_CLUSTER_WITHIN_STRATA) {
      return true;
    }
  }
  return false;
}

absl::Status ValidateDesign(const TrialDesign& design) {
  if (!ValidTrialId(design.trial_id())) {
    return Invalid("trial_id", absl::StrCat(Excerpt(design.trial_id()),
                                            " must be 1-64 lowercase letters, digits or '-'"));
  }
  if (design.title().size() > kMaxTitleBytes) {
    return Invalid("title", absl::StrCat("is ", design.title().size(), " bytes, more than the limit of ",
                                         kMaxTitleBytes));
  }
  std::set<std::string> sites;
  for (int s = 0; s < design.sites_size(); ++s) {
    const std::string& id = design.sites(s).id();
    if (id.empty() || !sites.insert(id).second) {
      return Invalid(absl::StrCat("sites[", s, "].id"), absl::StrCat(Excerpt(id), " is empty or repeated"));
    }
  }
  std::set<std::string> cohorts;
  for (int c = 0; c < design.cohorts_size(); ++c) {
    if (design.cohorts(c).empty() || !cohorts.insert(design.cohorts(c)).second) {
      return Invalid(absl::StrCat("cohorts[", c, "]"), absl::StrCat("\"", design.cohorts(c), "\" is empty or repeated"));
    }
  }
  std::set<std::string> categorical, numeric, names;
  for (int i = 0; i < design.covariates_size(); ++i) {
    const Covariate& covariate = design.covariates(i);
    const std::string at = absl::StrCat("covariates[", i, "]");
    if (covariate.name().empty() || !names.insert(covariate.name()).second ||
        covariate.name() == "site" || covariate.name() == "cohort") {
      return Invalid(at + ".name", absl::StrCat("\"", covariate.name(), "\" is empty, repeated or reserved"));
    }
    if (covariate.kind() == Covariate::KIND_NUMERIC) {
      numeric.insert(covariate.name());
    } else if (covariate.kind() == Covariate::KIND_CATEGORICAL) {
      categorical.insert(covariate.name());
    } else {
      return Invalid(at + ".kind", "must be KIND_NUMERIC or KIND_CATEGORICAL");
    }
  }
  if (design.factors().empty()) return Invalid("factors", "needs at least one factor");
  std::set<std::string> factor_names;
  bool sequential = false;
  bool batch_only = false;
  for (int f = 0; f < design.factors_size(); ++f) {
    const Factor& factor = design.factors(f);
    const std::string at = absl::StrCat("factors[", f, "]");
    if (absl::Status s = ValidateFactor(factor, at, categorical, numeric); !s.ok()) return s;
    if (factor.method() == fieldwork::v1::RANDOMISATION_METHOD_ASSIGNED) {
      if (absl::Status s = ValidateAssigned(factor, at, design); !s.ok()) return s;
    }
    if (!factor_names.insert(factor.name()).second) {
      return Invalid(at + ".name", absl::StrCat("\"", factor.name(), "\" is repeated"));
    }
    sequential = sequential || IsSequentialMethod(factor.method());
    batch_only = batch_only || IsBatchOnly(factor.method());
  }
  if (sequential && batch_only) {
    return Invalid("factors", "mix sequential methods (permuted blocks, minimisation) with batch-only "
                              "methods; a trial is allocated either by Randomise or by AllocateNext");
  }
  return absl::OkStatus();
}

}  // namespace fieldwork::randomisation
