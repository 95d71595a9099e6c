// Reads a roster CSV (one participant per row) into enrolment rows for a trial's design.
#ifndef FIELDWORK_SERVICES_CLI_ROSTER_H_
#define FIELDWORK_SERVICES_CLI_ROSTER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fieldwork/v1/randomisation.pb.h"

namespace fieldwork::cli {

struct RosterRow {
  int line = 0;  // physical line in the file
  fieldwork::v1::Participant participant;
};

struct RosterError {
  int line = 0;
  std::string column;
  std::string reason;
  std::string value;
};

struct Roster {
  std::vector<RosterRow> rows;      // rows that parsed
  std::vector<RosterError> errors;  // rows that did not (each row at most once per column)
};

// Columns: participant_id (required), site, cohort, cluster, and one column per covariate of
// the design (numeric covariates must hold numbers; an empty cell means missing). A column
// that is none of these fails the whole file (INVALID_ARGUMENT naming it): nothing is guessed.
absl::StatusOr<Roster> ReadRoster(absl::string_view csv, const std::string& path,
                                  const fieldwork::v1::TrialDesign& design);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_ROSTER_H_
