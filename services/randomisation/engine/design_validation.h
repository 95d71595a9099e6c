// Checks a trial design before it is stored: every error names the field and the reason.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_ENGINE_DESIGN_VALIDATION_H_
#define FIELDWORK_SERVICES_RANDOMISATION_ENGINE_DESIGN_VALIDATION_H_

#include "absl/status/status.h"
#include "fieldwork/v1/randomisation.pb.h"

namespace fieldwork::randomisation {

// INVALID_ARGUMENT naming the first bad field (e.g. "factors[1].arms[0].weight must be
// positive, got 0").
absl::Status ValidateDesign(const fieldwork::v1::TrialDesign& design);

// True for PERMUTED_BLOCKS and MINIMISATION: allocated one arrival at a time (AllocateNext).
bool IsSequentialMethod(fieldwork::v1::RandomisationMethod method);
// True for SIMPLE and RANDOM_ORDER: per-participant draws, usable by both Randomise and
// AllocateNext.
bool IsPerParticipantMethod(fieldwork::v1::RandomisationMethod method);
// True when the design is allocated by AllocateNext (it has a sequential factor).
bool IsSequentialDesign(const fieldwork::v1::TrialDesign& design);
// True when some factor randomises clusters.
bool NeedsClusters(const fieldwork::v1::TrialDesign& design);

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_ENGINE_DESIGN_VALIDATION_H_
