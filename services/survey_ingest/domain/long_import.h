// Reads per-decision (long-format) data — one row per decision, as `fieldwork responses
// decisions` exports it — into one response per participant (ImportCsvRequest.LAYOUT_LONG).
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_LONG_IMPORT_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_LONG_IMPORT_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/survey_ingest/domain/csv_import.h"
#include "services/survey_ingest/domain/scoring.h"

namespace fieldwork::survey_ingest {

struct LongImportOptions {
  std::string participant_column = "participant_id";
  // The wave imported into: a wave_id column, when the file has one, must name it on every row.
  std::string wave_id;
  // A participant with fewer than every decision is kept, unfinished, instead of rejected.
  bool keep_unfinished = false;
  // Columns not to import: exact names, or a prefix followed by '*'.
  std::vector<std::string> ignored_columns;
};

// One participant's rows, or one row that names no participant (blank or malformed).
struct LongParticipant {
  int line = 0;                // the participant's first row (physical line)
  std::string participant_id;  // as in the file; may be empty
  std::string raw;             // the header and the participant's rows, as in the file
  // Every problem of the participant's rows (row = the line of the row it concerns). When not
  // empty the participant is refused whole and the fields below are not to be used.
  std::vector<RowError> errors;
  std::map<std::string, std::string> answers;  // item id -> the decision's value
  std::vector<ImportedDecision> decisions;         // in block (instrument) order, then index
  bool finished = false;                       // every decision of every block is there
  std::string submission_id;  // "long:" + SHA-256 of participant, wave and decisions
};

// The participants of `content` (in the order of their first rows) for `scorer`'s instrument.
// Every row problem is a RowError of its participant; values are checked by `scorer` as a
// submission's answers are. INVALID_ARGUMENT for a whole-file problem: no header, a column
// named twice, a required column missing (participant, block, decision, value), or a column
// that is neither known nor an attribute some decision block's stimuli declare.
absl::StatusOr<std::vector<LongParticipant>> ReadLongCsv(absl::string_view content,
                                                        const Scorer& scorer,
                                                        const LongImportOptions& options);

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_LONG_IMPORT_H_
