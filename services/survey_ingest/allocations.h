// A participant's allocation, as the randomisation service says: what an online experiment's
// form shows depends on it (domain/personal_pages.h). An interface, so the form needs no gRPC.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_ALLOCATIONS_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_ALLOCATIONS_H_

#include <string>

#include "absl/status/statusor.h"
#include "services/survey_ingest/domain/personal_pages.h"

namespace fieldwork::survey_ingest {

class Allocations {
 public:
  virtual ~Allocations() = default;
  // NOT_FOUND when the participant is not (yet) allocated; UNAVAILABLE when it cannot be asked.
  virtual absl::StatusOr<ParticipantAllocation> Get(const std::string& trial,
                                                    const std::string& participant) = 0;
};

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_ALLOCATIONS_H_
