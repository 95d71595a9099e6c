// Replays a trial's allocations from its design, roster and revealed secret, so anyone can
// check that the stored allocations are the ones the pre-registered procedure gives.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_REPLAY_H_
#define FIELDWORK_SERVICES_RANDOMISATION_REPLAY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "fieldwork/v1/randomisation.pb.h"

namespace fieldwork::randomisation {

struct ReplayDifference {
  std::string participant_id;
  std::string factor;
  std::string stored_arm;
  std::string replayed_arm;
};

struct ReplayReport {
  int64_t participants = 0;
  std::vector<ReplayDifference> differences;
};

// Recomputes every allocation: batch designs batch by batch (the participants stored with
// the same cohort and batch number were randomised together), sequential designs arrival by
// arrival in sequence order. The secret must match the trial's commitment.
absl::StatusOr<ReplayReport> ReplayAllocations(
    const fieldwork::v1::Trial& trial, const std::string& secret,
    const std::vector<fieldwork::v1::Participant>& participants,
    const std::vector<fieldwork::v1::Allocation>& allocations);

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_REPLAY_H_
