#include "services/randomisation/replay.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "services/randomisation/engine/design_validation.h"
#include "services/randomisation/engine/engine.h"
#include "services/randomisation/methods/generator.h"

namespace fieldwork::randomisation {

using fieldwork::v1::Allocation;
using fieldwork::v1::Assignment;
using fieldwork::v1::Participant;

absl::StatusOr<ReplayReport> ReplayAllocations(const fieldwork::v1::Trial& trial,
                                               const std::string& secret,
                                               const std::vector<Participant>& participants,
                                               const std::vector<Allocation>& allocations) {
  if (SecretCommitment(secret) != trial.secret_commitment()) {
    return absl::InvalidArgumentError("the secret does not match the trial's published commitment");
  }
  std::map<std::string, const Participant*> by_id;
  for (const Participant& p : participants) by_id[p.participant_id()] = &p;
  // (cohort, batch) -> allocations, in sequence order for sequential designs.
  std::map<std::pair<std::string, int64_t>, std::vector<const Allocation*>> groups;
  std::map<std::string, std::vector<const Allocation*>> arrivals;
  const bool sequential = IsSequentialDesign(trial.design());
  for (const Allocation& a : allocations) {
    if (by_id.count(a.participant_id()) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("allocation of ", a.participant_id(), " has no roster row"));
    }
    if (sequential) {
      arrivals[a.cohort()].push_back(&a);
    } else {
      groups[{a.cohort(), a.batch()}].push_back(&a);
    }
  }
  ReplayReport report;
  auto compare = [&](const Allocation& stored, const std::vector<Assignment>& replayed) {
    ++report.participants;
    for (size_t f = 0; f < replayed.size(); ++f) {
      const std::string stored_arm =
          static_cast<int>(f) < stored.assignments_size() ? stored.assignments(static_cast<int>(f)).arm() : "";
      if (stored_arm != replayed[f].arm()) {
        report.differences.push_back({stored.participant_id(), replayed[f].factor(), stored_arm, replayed[f].arm()});
      }
    }
  };
  for (const auto& [key, group] : groups) {
    std::vector<Participant> roster;
    for (const Allocation* a : group) roster.push_back(*by_id[a->participant_id()]);
    absl::StatusOr<BatchAllocation> replayed = AllocateBatch(secret, trial.design(), key.first, key.second, roster);
    if (!replayed.ok()) return replayed.status();
    for (size_t i = 0; i < group.size(); ++i) compare(*group[i], replayed->assignments[i]);
  }
  for (auto& [cohort, sequence] : arrivals) {
    std::sort(sequence.begin(), sequence.end(),
              [](const Allocation* a, const Allocation* b) { return a->batch() < b->batch(); });
    SequentialAllocator allocator(secret, trial.design(), cohort);
    for (const Allocation* a : sequence) {
      absl::StatusOr<std::vector<Assignment>> replayed = allocator.Next(*by_id[a->participant_id()]);
      if (!replayed.ok()) return replayed.status();
      compare(*a, *replayed);
    }
  }
  return report;
}

}  // namespace fieldwork::randomisation
