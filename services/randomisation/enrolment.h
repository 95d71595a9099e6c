// Validation of enrolment rows against a trial's design: every problem of every row, with
// its row number, field and reason.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_ENROLMENT_H_
#define FIELDWORK_SERVICES_RANDOMISATION_ENROLMENT_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fieldwork/v1/common.pb.h"
#include "fieldwork/v1/randomisation.pb.h"

namespace fieldwork::randomisation {

// The most rows one Enrol request may carry (EnrolStream takes up to kMaxEnrolmentStream).
inline constexpr int kMaxEnrolmentBatch = 100'000;
inline constexpr int kMaxEnrolmentStream = 2'000'000;

struct EnrolmentCheck {
  // The positions in `rows` of the rows that are valid and new, in request order (positions,
  // not copies: a roster of a million rows is not held twice).
  std::vector<size_t> accepted;
  // Rows identical to an existing enrolment (a retry).
  int64_t unchanged = 0;
  std::vector<fieldwork::v1::RowError> errors;
};

// The participants already enrolled, as CheckEnrolment asks about them: one lookup per row, so
// that checking a batch costs the batch, not the trial. An empty function means there are none.
struct ExistingParticipants {
  // The enrolled participant with this id, or nullptr.
  std::function<const fieldwork::v1::Participant*(const std::string& id)> find;
  // The site of the enrolled participants in this cluster, or nullptr when it has none.
  std::function<const std::string*(const std::string& cluster)> site_of_cluster;
};

// Checks `rows` against `design` and against the participants already enrolled. Errors name
// each row by its number in `row_numbers` (empty: 1, 2, ...; the caller may have set rows of
// the request aside). A row with any error is not accepted; the other rows are, so a bad row
// never takes a good one down with it.
EnrolmentCheck CheckEnrolment(const fieldwork::v1::TrialDesign& design,
                              const std::vector<fieldwork::v1::Participant>& rows,
                              const ExistingParticipants& existing,
                              const std::vector<int64_t>& row_numbers = {});

// True when two enrolments of a participant carry the same data (enrolled_at ignored).
bool SameEnrolment(const fieldwork::v1::Participant& a, const fieldwork::v1::Participant& b);

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_ENROLMENT_H_
