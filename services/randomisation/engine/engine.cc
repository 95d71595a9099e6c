#include "services/randomisation/engine/engine.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/randomisation/engine/design_validation.h"
#include "services/randomisation/methods/design.h"
#include "services/randomisation/methods/generator.h"
#include "services/randomisation/methods/orders.h"

namespace fieldwork::randomisation {
namespace {

using fieldwork::v1::Assignment;
using fieldwork::v1::Covariate;
using fieldwork::v1::Factor;
using fieldwork::v1::Participant;
using fieldwork::v1::TrialDesign;

bool IsOrderMethod(fieldwork::v1::RandomisationMethod method) {
  return method == fieldwork::v1::RANDOMISATION_METHOD_LATIN_SQUARE ||
         method == fieldwork::v1::RANDOMISATION_METHOD_RANDOM_ORDER;
}

Method ToMethod(fieldwork::v1::RandomisationMethod method) {
  switch (method) {
    case fieldwork::v1::RANDOMISATION_METHOD_SIMPLE:
      return Method::kSimple;
    case fieldwork::v1::RANDOMISATION_METHOD_COMPLETE:
      return Method::kComplete;
    case fieldwork::v1::RANDOMISATION_METHOD_PERMUTED_BLOCKS:
      return Method::kPermutedBlocks;
    case fieldwork::v1::RANDOMISATION_METHOD_MINIMISATION:
      return Method::kMinimisation;
    case fieldwork::v1::RANDOMISATION_METHOD_CLUSTER:
      return Method::kCluster;
    case fieldwork::v1::RANDOMISATION_METHOD_CLUSTER_WITHIN_STRATA:
      return Method::kClusterWithinStrata;
    case fieldwork::v1::RANDOMISATION_METHOD_RERANDOMISATION:
      return Method::kRerandomisation;
    default:
      return Method::kCompleteWithinStrata;
  }
}

FactorDesign ToFactorDesign(const Factor& factor) {
  FactorDesign design;
  design.name = factor.name();
  for (const auto& arm : factor.arms()) design.arms.push_back(Arm{arm.name(), arm.weight()});
  design.method = ToMethod(factor.method());
  design.cluster.forbid_clusters_across_strata = !factor.allow_clusters_across_strata();
  const auto& rr = factor.rerandomisation();
  if (rr.acceptance_probability() > 0) design.rerandomisation.acceptance_probability = rr.acceptance_probability();
  if (rr.max_draws() > 0) design.rerandomisation.max_draws = static_cast<std::uint64_t>(rr.max_draws());
  design.rerandomisation.within_strata = rr.within_strata();
  design.block_sizes.assign(factor.block_sizes().begin(), factor.block_sizes().end());
  const auto& mini = factor.minimisation();
  for (const auto& mf : mini.factors()) {
    design.minimisation_factors.push_back(MinimisationFactor{mf.variable(), mf.weight() > 0 ? mf.weight() : 1.0});
  }
  design.imbalance = mini.imbalance() == fieldwork::v1::MinimisationOptions::IMBALANCE_VARIANCE
                         ? ImbalanceMeasure::kVariance
                         : ImbalanceMeasure::kRange;
  if (mini.p_minimising() > 0) design.p_minimising = mini.p_minimising();
  design.random_first = mini.random_first();
  return design;
}

std::string CategoryOf(const Participant& p, const std::string& variable) {
  if (variable == "site") return p.site();
  if (variable == "cohort") return p.cohort();
  auto it = p.covariates().find(variable);
  return it == p.covariates().end() ? "" : it->second.category();
}

Assignment OrderAssignment(const Factor& factor, const std::vector<int>& order) {
  Assignment assignment;
  assignment.set_factor(factor.name());
  std::vector<std::string> items;
  for (int index : order) items.push_back(factor.order_items(index));
  assignment.set_arm(absl::StrJoin(items, ">"));
  for (std::string& item : items) assignment.add_order(std::move(item));
  return assignment;
}

absl::StatusOr<std::vector<Assignment>> AllocateOrders(const std::string& secret, const TrialDesign& design,
                                                       const Factor& factor, const std::string& scope_cohort,
                                                       const std::vector<Unit>& units) {
  auto gen = Generator::Create(secret, Scope{design.trial_id(), factor.name(), scope_cohort});
  if (!gen.ok()) return gen.status();
  const int k = factor.order_items_size();
  std::vector<Assignment> result;
  if (factor.method() == fieldwork::v1::RANDOMISATION_METHOD_LATIN_SQUARE) {
    auto square = RandomisedWilliamsSquare(*gen, k);
    if (!square.ok()) return square.status();
    auto rows = AssignSquareRows(*gen, k, units);
    if (!rows.ok()) return rows.status();
    for (int row : *rows) result.push_back(OrderAssignment(factor, (*square)[static_cast<size_t>(row)]));
  } else {
    auto orders = RandomOrders(*gen, k, units);
    if (!orders.ok()) return orders.status();
    for (const auto& order : *orders) result.push_back(OrderAssignment(factor, order));
  }
  return result;
}

// ASSIGNED: the participant's arm is its categorical covariate named like the factor. No
// draw is made; enrolment has already checked the value is one of the arms.
absl::StatusOr<Assignment> GivenAssignment(const Factor& factor, const Participant& participant) {
  const std::string arm = CategoryOf(participant, factor.name());
  for (const auto& a : factor.arms()) {
    if (a.name() == arm) {
      Assignment assignment;
      assignment.set_factor(factor.name());
      assignment.set_arm(arm);
      return assignment;
    }
  }
  return absl::FailedPreconditionError(absl::StrCat("factor \"", factor.name(), "\" is assigned: participant \"",
                                                    participant.participant_id(), "\" has \"", arm,
                                                    "\", which is not one of its arms"));
}

}  // namespace

std::vector<std::string> NumericCovariateNames(const TrialDesign& design, const Factor& factor) {
  if (factor.method() == fieldwork::v1::RANDOMISATION_METHOD_RERANDOMISATION &&
      !factor.rerandomisation().covariates().empty()) {
    return {factor.rerandomisation().covariates().begin(), factor.rerandomisation().covariates().end()};
  }
  std::vector<std::string> names;
  for (const Covariate& c : design.covariates()) {
    if (c.kind() == Covariate::KIND_NUMERIC) names.push_back(c.name());
  }
  return names;
}

Unit ToUnit(const TrialDesign& design, const Factor& factor, const Participant& participant) {
  Unit unit;
  unit.id = participant.participant_id();
  unit.cluster = participant.cluster();
  std::vector<std::string> parts;
  for (const std::string& variable : factor.strata()) {
    parts.push_back(absl::StrCat(variable, "=", CategoryOf(participant, variable)));
  }
  unit.stratum = absl::StrJoin(parts, "|");
  for (const std::string& name : NumericCovariateNames(design, factor)) {
    auto it = participant.covariates().find(name);
    unit.covariates.push_back(it != participant.covariates().end() &&
                                      it->second.kind_case() == fieldwork::v1::Value::kNumber
                                  ? it->second.number()
                                  : std::numeric_limits<double>::quiet_NaN());
  }
  unit.categorical["site"] = participant.site();
  unit.categorical["cohort"] = participant.cohort();
  for (const Covariate& c : design.covariates()) {
    if (c.kind() == Covariate::KIND_CATEGORICAL) unit.categorical[c.name()] = CategoryOf(participant, c.name());
  }
  return unit;
}

std::string BatchScope(const std::string& cohort, int64_t batch) {
  return absl::StrCat(cohort, "#", batch);
}

absl::StatusOr<BatchAllocation> AllocateBatch(const std::string& secret, const TrialDesign& design,
                                              const std::string& cohort, int64_t batch,
                                              const std::vector<Participant>& participants) {
  BatchAllocation result;
  result.assignments.resize(participants.size());
  const std::string scope_cohort = BatchScope(cohort, batch);
  for (const Factor& factor : design.factors()) {
    if (IsSequentialMethod(factor.method())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "factor \"", factor.name(), "\" is allocated one participant at a time: use AllocateNext"));
    }
    if (factor.method() == fieldwork::v1::RANDOMISATION_METHOD_ASSIGNED) {
      for (size_t i = 0; i < participants.size(); ++i) {
        absl::StatusOr<Assignment> given = GivenAssignment(factor, participants[i]);
        if (!given.ok()) return given.status();
        result.assignments[i].push_back(*std::move(given));
      }
      continue;
    }
    std::vector<Unit> units;
    units.reserve(participants.size());
    for (const Participant& p : participants) units.push_back(ToUnit(design, factor, p));
    if (IsOrderMethod(factor.method())) {
      auto orders = AllocateOrders(secret, design, factor, scope_cohort, units);
      if (!orders.ok()) return orders.status();
      for (size_t i = 0; i < participants.size(); ++i) result.assignments[i].push_back((*orders)[i]);
      continue;
    }
    auto allocation = AllocateFactor(secret, design.trial_id(), scope_cohort, ToFactorDesign(factor), units);
    if (!allocation.ok()) return allocation.status();
    result.rerandomisation_draws += static_cast<int64_t>(
        factor.method() == fieldwork::v1::RANDOMISATION_METHOD_RERANDOMISATION ? allocation->draws_used : 0);
    for (size_t i = 0; i < participants.size(); ++i) {
      Assignment& assignment = result.assignments[i].emplace_back();
      assignment.set_factor(factor.name());
      assignment.set_arm(factor.arms(allocation->arms[i]).name());
    }
  }
  return result;
}

SequentialAllocator::SequentialAllocator(const std::string& secret, const TrialDesign& design,
                                         const std::string& cohort)
    : secret_(secret), design_(design), cohort_(cohort) {}

absl::StatusOr<std::vector<Assignment>> SequentialAllocator::Next(const Participant& participant) {
  std::vector<Assignment> assignments;
  // Per-participant methods are keyed by the participant; sequential ones by the arrival.
  const std::string scope_cohort = cohort_;
  for (const Factor& factor : design_.factors()) {
    if (factor.method() == fieldwork::v1::RANDOMISATION_METHOD_ASSIGNED) {
      absl::StatusOr<Assignment> given = GivenAssignment(factor, participant);
      if (!given.ok()) return given.status();
      assignments.push_back(*std::move(given));
      continue;
    }
    const Unit unit = ToUnit(design_, factor, participant);
    auto gen = Generator::Create(secret_, Scope{design_.trial_id(), factor.name(), scope_cohort});
    if (!gen.ok()) return gen.status();
    if (IsOrderMethod(factor.method())) {
      auto orders = AllocateOrders(secret_, design_, factor, scope_cohort, {unit});
      if (!orders.ok()) return orders.status();
      assignments.push_back(std::move(orders->front()));
      continue;
    }
    const FactorDesign fd = ToFactorDesign(factor);
    absl::StatusOr<int> arm;
    switch (factor.method()) {
      case fieldwork::v1::RANDOMISATION_METHOD_SIMPLE: {
        auto arms = AllocateSimple(*gen, fd.arms, {unit});
        if (!arms.ok()) return arms.status();
        arm = arms->front();
        break;
      }
      case fieldwork::v1::RANDOMISATION_METHOD_MINIMISATION:
        arm = MinimisationNext(*gen, ToMinimisationDesign(fd), unit, minimisation_[factor.name()]);
        break;
      case fieldwork::v1::RANDOMISATION_METHOD_PERMUTED_BLOCKS:
        arm = PermutedBlocksNext(*gen, ToPermutedBlocksDesign(fd), unit, blocks_[factor.name()]);
        break;
      default:
        return absl::FailedPreconditionError(absl::StrCat(
            "factor \"", factor.name(), "\" is a batch method: use Randomise"));
    }
    if (!arm.ok()) {
      return absl::Status(arm.status().code(),
                          absl::StrCat("factor \"", factor.name(), "\": ", arm.status().message()));
    }
    Assignment& assignment = assignments.emplace_back();
    assignment.set_factor(factor.name());
    assignment.set_arm(factor.arms(*arm).name());
  }
  ++allocated_;
  return assignments;
}

}  // namespace fieldwork::randomisation
