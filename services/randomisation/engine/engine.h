// Turns enrolled participants into allocations with the methods library: the batch
// allocation of Randomise, the one-at-a-time allocation of AllocateNext, and the replay of a
// whole trial from its revealed secret. Pure: no I/O.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_ENGINE_ENGINE_H_
#define FIELDWORK_SERVICES_RANDOMISATION_ENGINE_ENGINE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fieldwork/v1/randomisation.pb.h"
#include "services/randomisation/methods/blocks.h"
#include "services/randomisation/methods/minimisation.h"
#include "services/randomisation/methods/types.h"

namespace fieldwork::randomisation {

// The methods' view of a participant for one factor: stratum key from the factor's strata
// variables ("site=LA1|cohort=2021"), numeric covariates (the rerandomisation list, or every
// numeric covariate of the design, NaN when missing) and categorical values (site, cohort and
// the categorical covariates).
Unit ToUnit(const fieldwork::v1::TrialDesign& design, const fieldwork::v1::Factor& factor,
            const fieldwork::v1::Participant& participant);

// The names of ToUnit's numeric covariates, in order.
std::vector<std::string> NumericCovariateNames(const fieldwork::v1::TrialDesign& design,
                                               const fieldwork::v1::Factor& factor);

// The generator scope's cohort for a batch: "<cohort>#<batch>", so every Randomise call draws
// independently of earlier ones (documented in README.md).
std::string BatchScope(const std::string& cohort, int64_t batch);

struct BatchAllocation {
  // Parallel to the input participants: one Assignment per factor, in design order.
  std::vector<std::vector<fieldwork::v1::Assignment>> assignments;
  int64_t rerandomisation_draws = 0;
};

// Allocates `participants` (all of one cohort, any order) as batch `batch`.
absl::StatusOr<BatchAllocation> AllocateBatch(const std::string& secret,
                                              const fieldwork::v1::TrialDesign& design,
                                              const std::string& cohort, int64_t batch,
                                              const std::vector<fieldwork::v1::Participant>& participants);

// The running state of a sequential design for one cohort.
class SequentialAllocator {
 public:
  SequentialAllocator(const std::string& secret, const fieldwork::v1::TrialDesign& design,
                      const std::string& cohort);
  // Allocates the next arrival (sequence number = allocated()).
  absl::StatusOr<std::vector<fieldwork::v1::Assignment>> Next(
      const fieldwork::v1::Participant& participant);
  int64_t allocated() const { return allocated_; }

 private:
  std::string secret_;
  fieldwork::v1::TrialDesign design_;
  std::string cohort_;
  int64_t allocated_ = 0;
  std::map<std::string, MinimisationState> minimisation_;
  std::map<std::string, PermutedBlocksState> blocks_;
};

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_ENGINE_ENGINE_H_
