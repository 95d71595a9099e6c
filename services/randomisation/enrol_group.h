// Checking a group of Enrol calls to one trial together, as if they had come one at a time: the
// decisions of Randomiser::Enrol's group commit, free of I/O.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_ENROL_GROUP_H_
#define FIELDWORK_SERVICES_RANDOMISATION_ENROL_GROUP_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "fieldwork/v1/randomisation.pb.h"
#include "services/randomisation/enrolment.h"

namespace fieldwork::randomisation {

// One Enrol call as the check sees it. The pointers outlive the check.
struct EnrolCallRows {
  // The rows to check: the request's rows less those at a site the caller may not enrol at.
  const std::vector<fieldwork::v1::Participant>* rows = nullptr;
  // The request row number of each of `rows` (empty: 1, 2, ...).
  const std::vector<int64_t>* row_numbers = nullptr;
  // The request rows set aside because the caller may not enrol at their site (see
  // EnrolGuards::may_enrol_at); any of them refuses the whole call.
  const std::vector<int64_t>* forbidden = nullptr;
  bool all_or_nothing = false;
  // Asked once the call's rows are checked and some are to be written (null: always wanted).
  std::function<bool()> still_wanted;
};

// What one call gets: its refusal, or its response so far (errors, rejected, unchanged; the
// caller adds enrolled and audit_head once the rows are written) and the rows to write.
struct EnrolCallOutcome {
  absl::Status status;
  fieldwork::v1::EnrolResponse response;
  // Positions in the call's `rows` of the rows to enrol, in request order.
  std::vector<size_t> accepted;
};

// Checks `calls` in order against `design` and the participants already `enrolled`, each call
// also against the rows accepted from the calls before it, exactly as if those had been
// enrolled already: a repeat of such a row (same data) is unchanged, a different row with its
// id is an error, and a cluster keeps to the site its first row gave it. A call refused (a
// forbidden site: PERMISSION_DENIED; all_or_nothing with a bad row: INVALID_ARGUMENT; no longer
// wanted: CANCELLED) adds nothing for the calls after it. One outcome per call, in order.
std::vector<EnrolCallOutcome> CheckEnrolCalls(const fieldwork::v1::TrialDesign& design,
                                              const std::vector<const EnrolCallRows*>& calls,
                                              const ExistingParticipants& enrolled);

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_ENROL_GROUP_H_
