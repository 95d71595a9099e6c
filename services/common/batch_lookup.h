// The one limit of the batch lookups (randomisation's GetParticipants, survey-ingest's
// GetResponseStatuses): how many participant ids one call may name. Their callers (messaging's
// send worker) split larger batches by it.
#ifndef FIELDWORK_SERVICES_COMMON_BATCH_LOOKUP_H_
#define FIELDWORK_SERVICES_COMMON_BATCH_LOOKUP_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fieldwork {

inline constexpr size_t kMaxBatchLookupIds = 1000;

// INVALID_ARGUMENT naming participant_ids unless a call names 1 to kMaxBatchLookupIds ids.
inline absl::Status CheckBatchLookupSize(size_t ids) {
  if (ids >= 1 && ids <= kMaxBatchLookupIds) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("participant_ids: give 1 to ", kMaxBatchLookupIds, " ids (got ", ids, ")"));
}

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_BATCH_LOOKUP_H_
