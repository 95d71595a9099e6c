#include "services/analysis/redraw.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "services/randomisation/engine/engine.h"
#include "services/randomisation/methods/generator.h"

namespace fieldwork::analysis {
namespace v1 = ::fieldwork::v1;

absl::StatusOr<AllocationRedrawer> AllocationRedrawer::Create(
    const v1::TrialDesign& design, const std::string& factor,
    const std::vector<const JoinedParticipant*>& units) {
  AllocationRedrawer redrawer;
  redrawer.design_ = design;
  redrawer.factor_ = factor;
  redrawer.factor_index_ = -1;
  for (int i = 0; i < design.factors_size(); ++i) {
    if (design.factors(i).name() == factor) redrawer.factor_index_ = i;
  }
  if (redrawer.factor_index_ < 0) {
    return absl::InvalidArgumentError(absl::StrCat("factor \"", factor, "\" is not in the design"));
  }
  const v1::RandomisationMethod method = design.factors(redrawer.factor_index_).method();
  redrawer.method_ = v1::RandomisationMethod_Name(method);
  redrawer.sequential_ = method == v1::RANDOMISATION_METHOD_PERMUTED_BLOCKS ||
                         method == v1::RANDOMISATION_METHOD_MINIMISATION;
  redrawer.units_ = units.size();
  // Batch methods: one group per (cohort, batch); sequential: one per cohort, in arrival order.
  std::vector<size_t> order(units.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&units](size_t a, size_t b) {
    return std::tie(units[a]->cohort, units[a]->allocated_at, units[a]->id) <
           std::tie(units[b]->cohort, units[b]->allocated_at, units[b]->id);
  });
  std::map<std::pair<std::string, int64_t>, size_t> group_of;
  for (size_t i : order) {
    const JoinedParticipant& p = *units[i];
    const auto key = std::make_pair(p.cohort, redrawer.sequential_ ? int64_t{0} : p.batch);
    auto [it, inserted] = group_of.emplace(key, redrawer.groups_.size());
    if (inserted) redrawer.groups_.push_back(Group{key.first, key.second, {}, {}});
    Group& group = redrawer.groups_[it->second];
    group.participants.push_back(*p.participant);
    group.index.push_back(i);
  }
  return redrawer;
}

absl::StatusOr<std::vector<std::string>> AllocationRedrawer::Draw(int64_t draw) const {
  const std::string secret = randomisation::Sha256Hex(
      absl::StrCat("fieldwork.analysis.redraw|", design_.trial_id(), "|", draw));
  std::vector<std::string> arms(units_);
  for (const Group& group : groups_) {
    if (sequential_) {
      randomisation::SequentialAllocator allocator(secret, design_, group.cohort);
      for (size_t k = 0; k < group.participants.size(); ++k) {
        absl::StatusOr<std::vector<v1::Assignment>> next = allocator.Next(group.participants[k]);
        if (!next.ok()) return next.status();
        arms[group.index[k]] = (*next)[static_cast<size_t>(factor_index_)].arm();
      }
    } else {
      absl::StatusOr<randomisation::BatchAllocation> batch = randomisation::AllocateBatch(
          secret, design_, group.cohort, group.batch, group.participants);
      if (!batch.ok()) return batch.status();
      for (size_t k = 0; k < group.participants.size(); ++k) {
        arms[group.index[k]] = batch->assignments[k][static_cast<size_t>(factor_index_)].arm();
      }
    }
  }
  return arms;
}

}  // namespace fieldwork::analysis
