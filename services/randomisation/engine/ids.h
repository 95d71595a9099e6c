// The documented forms of the ids the randomisation service is given, checked before any
// lookup so that a junk or oversized id costs neither a Redis key nor an echo in an error.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_ENGINE_IDS_H_
#define FIELDWORK_SERVICES_RANDOMISATION_ENGINE_IDS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fieldwork::randomisation {

inline constexpr size_t kMaxTrialIdLength = 64;
inline constexpr size_t kMaxParticipantIdLength = 128;
inline constexpr size_t kMaxClusterLength = 128;
// Covariate categories and free text (withdrawal reasons).
inline constexpr size_t kMaxTextLength = 1024;

// 1-64 characters of a-z, 0-9 and '-'.
bool ValidTrialId(absl::string_view id);
// 1-128 characters of A-Z, a-z, 0-9, '.', '_' and '-'.
bool ValidParticipantId(absl::string_view id);

// INVALID_ARGUMENT "trial_id: must be ... (got <excerpt>)" unless valid.
absl::Status CheckTrialId(absl::string_view id);
// The same for a participant id, named `field`.
absl::Status CheckParticipantId(absl::string_view id, absl::string_view field = "participant_id");

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_ENGINE_IDS_H_
