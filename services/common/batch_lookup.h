// The one limit of the batch lookups (randomisation's GetParticipants, survey-ingest's
// GetResponseStatuses): how many participant ids one call may name. Their callers (messaging's
// send worker) split larger batches by it.
#ifndef FIELDWORK_SERVICES_COMMON_BATCH_LOOKUP_H_
#define FIELDWORK_SERVICES_COMMON_BATCH_LOOKUP_H_

#include <cstddef>

namespace fieldwork {

inline constexpr size_t kMaxBatchLookupIds = 1000;

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_BATCH_LOOKUP_H_
