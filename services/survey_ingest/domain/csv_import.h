// Turns a Qualtrics export or a plain CSV into validated, scored responses, row by row: a bad
// row becomes a list of RowErrors and never affects the rows around it.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_CSV_IMPORT_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_CSV_IMPORT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/survey_ingest/domain/scoring.h"

namespace fieldwork::survey_ingest {

enum class CsvLayout {
  kAuto,       // Qualtrics when the third record is a row of {"ImportId": ...} objects
  kQualtrics,  // column names, question texts, ImportIds, then one response per record
  kPlain,      // one header row of column names, then one response per record
};

enum class UnfinishedPolicy {
  kReject,       // an unfinished response (Finished false, or Progress < 100) is a row error
  kKeepPartial,  // kept, flagged partial; required items are not enforced
};

enum class UnknownColumnPolicy {
  kRejectRowsWithValues,  // a row with a value in an unknown column is rejected (nothing is
                          // dropped silently); rows where it is blank are unaffected
  kIgnore,                // unknown columns are only listed in ImportResult::unknown_columns
};

struct ImportOptions {
  CsvLayout layout = CsvLayout::kAuto;
  // The column holding the pseudonymous participant id.
  std::string participant_column = "ExternalReference";
  // When set, the participant column holds something that resolves to the participant id (a
  // survey link token an external survey passed back): called with the value and when the
  // row was answered (its end, else recorded, else start date; none when it has no date). An
  // error is the row's error on that column, with the value not repeated.
  std::function<absl::StatusOr<std::string>(absl::string_view value,
                                            std::optional<absl::Time> answered_at)>
      resolve_participant;
  // The column holding the source's own response id (the submission id when present).
  std::string response_id_column = "ResponseId";
  UnfinishedPolicy unfinished = UnfinishedPolicy::kReject;
  UnknownColumnPolicy unknown_columns = UnknownColumnPolicy::kRejectRowsWithValues;
  // Further columns that are known and deliberately not imported: exact names, or a prefix
  // followed by '*' ("Q7_*"). Display-order columns (Q5_DO, Q7_DO_1) need no listing.
  std::vector<std::string> ignored_columns;
  // Columns with personal data (contact details, IP address, location). They are never
  // imported, and their values are blanked in the raw row content kept for rejects.
  std::vector<std::string> personal_data_columns = {"RecipientEmail",    "RecipientFirstName",
                                                    "RecipientLastName", "IPAddress",
                                                    "LocationLatitude",  "LocationLongitude"};
  // The zone of timestamps without an offset, unless the file declares one: Qualtrics names
  // the zone of its date columns in their ImportId ({"ImportId":"startDate","timeZone":
  // "Europe/London"}), which is loaded from the system's time-zone database (tzdata). A
  // declared zone that is not there makes the whole file an error.
  absl::TimeZone time_zone = absl::UTCTimeZone();
  // Reference norms for composites; without them composites are missing.
  const ScaleNorms* norms = nullptr;
};

enum class ColumnRole {
  kItem,
  kParticipant,
  kResponseId,
  kStartDate,
  kEndDate,
  kRecordedDate,
  kFinished,
  kProgress,
  kMetadata,      // a known Qualtrics column that is not imported (Status, Duration, ...)
  kDisplayOrder,  // Qualtrics' record of the order choices or questions were shown (Q5_DO)
  kPersonalData,  // never imported, blanked in raw content
  kIgnored,       // listed in ImportOptions::ignored_columns
  kDecisionData,  // a loop's stimulus or attribute (a decision block's qualtrics_loop)
  kUnknown,
};

absl::string_view ColumnRoleName(ColumnRole role);

// Whether a column `name` is one of `patterns` (ImportOptions::ignored_columns): an exact name,
// or a prefix followed by '*'.
bool MatchesColumnPattern(absl::string_view name, const std::vector<std::string>& patterns);

enum class MatchedBy { kNone, kImportId, kName };

struct ImportColumn {
  int index = 0;
  std::string name;
  std::string question;   // Qualtrics only: the question text row
  std::string import_id;  // Qualtrics only
  std::string time_zone;  // Qualtrics only: the zone declared for a date column
  ColumnRole role = ColumnRole::kUnknown;
  std::string item_id;  // kItem only
  MatchedBy matched_by = MatchedBy::kNone;
};

// One decision of an online experiment's block as a file gives it (fieldwork.v1.Decision
// without the proto): a long file's row, or one loop of a wide Qualtrics loop-and-merge export.
struct ImportedDecision {
  std::string block;
  int index = 0;
  std::string item_id;
  std::string value;  // a long file's; a wide export's stays empty (the item's answer is stored)
  std::string stimulus;
  std::string stimulus_text;
  std::map<std::string, std::string> attributes;  // non-blank ones only
};

struct ImportedResponse {
  std::string participant_id;
  // The source's response id, or "sha256:<hex>" of the row's content (participant, dates and
  // item values, independent of column order) when the source has none.
  std::string submission_id;
  bool submission_id_from_source = false;
  std::optional<absl::Time> start_date;
  std::optional<absl::Time> end_date;
  std::optional<absl::Time> recorded_date;
  std::optional<bool> finished;    // when the file has a Finished column
  std::optional<double> progress;  // when the file has a Progress column (0-100)
  bool partial = false;            // unfinished and kept (UnfinishedPolicy::kKeepPartial)
  // Every item's answer (raw text, parsed value) and the scale and composite scores.
  // RawAnswers(scored) gives the answers as item id -> raw text.
  ScoredResponse scored;
  // The decisions of the instrument's blocks with a qualtrics_loop: each loop with an answer,
  // a stimulus or an attribute, its stimulus's text and declared attributes filled in.
  std::vector<ImportedDecision> decisions;
};

// One problem with one row; mirrors fieldwork.v1.RowError.
struct RowError {
  int64_t row = 0;     // physical line of the record's first line, header rows included
  std::string field;   // column name; empty when the problem concerns the whole row
  std::string reason;  // what is wrong, naming the item when the column is not its id
  std::string value;   // the offending value as received
};

// A ResponseId seen on an earlier line for the same participant: the same response exported
// twice. Not imported again.
struct RepeatedResponse {
  int line = 0;
  int first_line = 0;
  std::string response_id;
};

struct ImportedRow {
  int line = 0;                              // physical line of the record's first line
  std::string raw;                           // the record as in the file, personal data blanked
  std::optional<ImportedResponse> response;  // set when the row is valid
  std::vector<RowError> errors;              // set (non-empty) when it is not
};

struct ImportResult {
  CsvLayout layout = CsvLayout::kPlain;  // as detected
  std::string content_sha256;            // of the whole file, bytes as given
  std::vector<ImportColumn> columns;
  std::vector<std::string> unknown_columns;
  std::vector<std::string> unmapped_items;  // instrument items with no column in the file
  std::vector<std::string> warnings;
  // One per data record, in file order (left empty by the streaming ImportSurveyCsv).
  std::vector<ImportedRow> rows;
  size_t accepted_rows = 0;
  size_t rejected_rows = 0;
  // Qualtrics "Survey Preview" rows (DistributionChannel preview, or Status "Survey Preview"
  // or 1): the survey's authors trying it, never responses. Skipped, not in `rows`.
  size_t preview_rows = 0;
  // Qualtrics test responses (DistributionChannel test, or Status "Survey Test" or 2): answers
  // Qualtrics made up to try the survey's logic. Skipped, not in `rows`.
  size_t test_rows = 0;
  // Rows repeating an earlier row's ResponseId for the same participant; not in `rows`.
  // (The same ResponseId for another participant is a row error.)
  std::vector<RepeatedResponse> repeated;

  size_t accepted() const { return accepted_rows; }
  size_t rejected() const { return rejected_rows; }
};

// Receives each row as soon as it is read, in file order.
using ImportedRowSink = std::function<void(ImportedRow row)>;

// Reads `content` (the file's bytes) as a survey export for `scorer`'s instrument version.
// Columns map to items by the item's qualtrics_import_id first, then by its column name
// (Item::ColumnName()); a decision block's qualtrics_loop maps "<i>_<question>" to its
// items[i-1] and its stimulus and attribute columns to decision i. An item answer equal to one of the instrument's missing_codes is
// unanswered; one equal to an item's label (ignoring case and surrounding blanks) is read as
// its code. A row is unfinished when Finished is false or Progress is below 100 (either one:
// Finished=True with Progress 60 is unfinished), and is then rejected or kept as partial as
// `options.unfinished` says. Every data record yields exactly one ImportedRow, except preview
// rows and repeated ResponseIds (counted in ImportResult).
// Fails (INVALID_ARGUMENT) only when the file as a whole cannot be read: no header, a
// malformed header, no participant column, two columns for one item, a declared time zone
// not in tzdata, or kQualtrics forced on a file without an ImportId row.
absl::StatusOr<ImportResult> ImportSurveyCsv(absl::string_view content, const Scorer& scorer,
                                             const ImportOptions& options = {});

// The same, handing each row to `sink` instead of keeping it (ImportResult::rows stays empty),
// so that a caller can store rows in batches while the file is read, in bounded memory. On a
// whole-file error nothing is passed to `sink`.
absl::StatusOr<ImportResult> ImportSurveyCsv(absl::string_view content, const Scorer& scorer,
                                             const ImportOptions& options,
                                             const ImportedRowSink& sink);

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_CSV_IMPORT_H_
