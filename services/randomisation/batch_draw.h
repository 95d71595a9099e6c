// Draws a Randomise batch without holding it: the participants' records are read from the
// store a page at a time, allocated a group of whole strata at a time where the design allows
// it (batch_groups.h), and what was drawn is kept as a few numbers per participant until it
// is written. The draws are exactly those of the whole batch at once (replay.cc).
#ifndef FIELDWORK_SERVICES_RANDOMISATION_BATCH_DRAW_H_
#define FIELDWORK_SERVICES_RANDOMISATION_BATCH_DRAW_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "fieldwork/v1/randomisation.pb.h"
#include "services/randomisation/store.h"
#include "services/randomisation/trial_cache.h"

namespace fieldwork::randomisation {

// Distinct assignments (factor, arm, order) numbered: a million participants' assignments
// are a million small integers and a handful of protos.
class AssignmentTable {
 public:
  uint32_t Number(const fieldwork::v1::Assignment& assignment);
  const fieldwork::v1::Assignment& operator[](uint32_t number) const { return assignments_[number]; }

 private:
  absl::flat_hash_map<std::string, uint32_t> numbers_;
  std::vector<fieldwork::v1::Assignment> assignments_;
};

struct DrawnBatch {
  // The participants drawn, and their assignments: participant `ids[i]` has
  // `assignments[drawn[i * factors + f]]` for factor f (in design order).
  std::vector<std::string> ids;
  std::vector<uint32_t> drawn;
  AssignmentTable assignments;
  int64_t rerandomisation_draws = 0;
  // Participants of the cohort who already had an allocation.
  int64_t already_allocated = 0;
};

// Draws batch `batch` of `cohort` of the cached trial: every enrolled, unallocated
// participant of the cohort who has neither withdrawn nor left. Nothing is written.
absl::StatusOr<DrawnBatch> DrawBatch(RandomisationStore& store, const TrialCache& cache,
                                     const std::string& cohort, int64_t batch);

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_BATCH_DRAW_H_
