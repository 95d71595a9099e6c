#include "services/randomisation/batch_draw.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "services/randomisation/audit.h"
#include "services/randomisation/batch_groups.h"
#include "services/randomisation/engine/engine.h"

namespace fieldwork::randomisation {
namespace {

// Participants drawn together when the batch splits (whole groups: one group may be larger):
// the records of this many at a time, not of the whole batch.
constexpr size_t kDrawUnit = 20'000;
// Records read from the store per call.
constexpr size_t kRosterPage = 5'000;

}  // namespace

uint32_t AssignmentTable::Number(const fieldwork::v1::Assignment& assignment) {
  auto [it, inserted] =
      numbers_.try_emplace(DeterministicBytes(assignment), static_cast<uint32_t>(assignments_.size()));
  if (inserted) assignments_.push_back(assignment);
  return it->second;
}

absl::StatusOr<DrawnBatch> DrawBatch(RandomisationStore& store, const TrialCache& cache,
                                     const std::string& cohort, int64_t batch) {
  DrawnBatch result;
  const std::optional<TrialCache::Text> cohort_text = cache.FindText(cohort);
  if (!cohort_text.has_value()) return result;  // nobody enrolled in it
  const fieldwork::v1::TrialDesign& design = cache.trial().design();
  const size_t factors = static_cast<size_t>(design.factors_size());
  // Who is randomised, by batch group.
  std::map<TrialCache::Text, std::vector<std::string>> groups;
  size_t pending = 0;
  for (const auto& [id, entry] : cache.index()) {
    if (entry.cohort != *cohort_text) continue;
    if (entry.allocated()) {
      ++result.already_allocated;
      continue;
    }
    if (entry.gone()) continue;  // someone who withdrew or left before randomisation
    groups[entry.group].push_back(id);
    ++pending;
  }
  result.ids.reserve(pending);
  result.drawn.reserve(pending * factors);

  std::vector<std::string> unit;
  auto draw_unit = [&]() -> absl::Status {
    // Read a page at a time straight into the roster (a batch that does not split is the
    // whole cohort: no second copy of it).
    std::vector<fieldwork::v1::Participant> roster;
    roster.reserve(unit.size());
    absl::Status read = ForEachRecordPage(
        store, cache.id(), unit, {.participants = true}, kRosterPage,
        [&](const std::vector<std::string>& ids, ParticipantRecords& records) -> absl::Status {
          for (size_t i = 0; i < ids.size(); ++i) {
            if (!records.participants[i].has_value()) {
              return absl::DataLossError(
                  absl::StrCat("the stored enrolment of participant \"", ids[i], "\" is missing"));
            }
            roster.push_back(*std::move(records.participants[i]));
          }
          return absl::OkStatus();
        });
    if (!read.ok()) return read;
    absl::StatusOr<BatchAllocation> allocated = AllocateBatch(cache.secret(), design, cohort, batch, roster);
    if (!allocated.ok()) return allocated.status();
    result.rerandomisation_draws += allocated->rerandomisation_draws;
    for (size_t i = 0; i < unit.size(); ++i) {
      if (allocated->assignments[i].size() != factors) {
        return absl::InternalError("the engine gave a participant the wrong number of assignments");
      }
      for (const auto& assignment : allocated->assignments[i]) result.drawn.push_back(result.assignments.Number(assignment));
      result.ids.push_back(std::move(unit[i]));
    }
    unit.clear();
    return absl::OkStatus();
  };
  const BatchGrouping& grouping = cache.grouping();
  for (auto& [group, ids] : groups) {
    for (std::string& id : ids) {
      unit.push_back(std::move(id));
      // Per-participant designs split anywhere; stratified ones between groups only.
      if (grouping.splits && grouping.variables.empty() && unit.size() == kDrawUnit) {
        if (absl::Status s = draw_unit(); !s.ok()) return s;
      }
    }
    std::vector<std::string>().swap(ids);
    if (grouping.splits && unit.size() >= kDrawUnit) {
      if (absl::Status s = draw_unit(); !s.ok()) return s;
    }
  }
  if (!unit.empty()) {
    if (absl::Status s = draw_unit(); !s.ok()) return s;
  }
  return result;
}

}  // namespace fieldwork::randomisation
