// Fuzzes the survey import (Qualtrics or plain CSV) against a small instrument with every item
// type. The last byte picks the options (so a CSV file is a seed as it is); the rest is the
// file. Checks, beyond not crashing: every data record yields exactly one row, which is either
// a response or has errors; the counts add up; and the streaming import gives the same rows as
// the in-memory one.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fuzz/check.h"
#include "services/survey_ingest/domain/csv_import.h"
#include "services/survey_ingest/domain/csv_reader.h"
#include "services/survey_ingest/domain/instrument_yaml.h"
#include "services/survey_ingest/domain/scoring.h"

namespace fieldwork::survey_ingest {
namespace {

using fuzz::Check;

// Columns Q1, Q2_1, Q9_TEXT (by ImportId) and mood, hours (by name), as in
// fuzz/corpus/csv_import/.
constexpr absl::string_view kInstrument = R"yaml(
id: fz
version: 1
items:
  - {id: sat, label: Satisfied, type: likert, min: 0, max: 10, required: true,
     qualtrics_import_id: QID1, column: Q1}
  - id: worn
    label: Worn out
    type: single_choice
    qualtrics_import_id: QID2_1
    column: Q2_1
    options:
      - {code: "0", label: Never, score: 0}
      - {code: "50", label: Sometimes, score: 50}
  - {id: mood, label: Mood, type: likert, min: 1, max: 5}
  - {id: hours, label: Hours, type: numeric, min: 0, max: 80, integer: true}
  - {id: comment, label: Comment, type: free_text, qualtrics_import_id: QID9_TEXT,
     column: Q9_TEXT}
scales:
  - {id: wellbeing, label: W, items: [sat, mood], min_answered: 1}
composites:
  - id: overall
    label: O
    components:
      - {scale: wellbeing, weight: 1}
)yaml";

const Scorer& TheScorer() {
  static const Scorer* scorer = [] {
    absl::StatusOr<Instrument> instrument = ParseInstrumentYaml(kInstrument);
    Check(instrument.ok(), "the fuzz instrument parses", instrument.status().ToString());
    absl::StatusOr<Scorer> created = Scorer::Create(*std::move(instrument));
    Check(created.ok(), "the fuzz instrument is valid", created.status().ToString());
    return new Scorer(*std::move(created));
  }();
  return *scorer;
}

ImportOptions OptionsFrom(uint8_t byte) {
  ImportOptions options;
  options.layout = static_cast<CsvLayout>(byte % 3);
  options.unfinished = (byte & 0x04) != 0 ? UnfinishedPolicy::kKeepPartial : UnfinishedPolicy::kReject;
  options.unknown_columns = (byte & 0x08) != 0 ? UnknownColumnPolicy::kIgnore
                                               : UnknownColumnPolicy::kRejectRowsWithValues;
  if ((byte & 0x10) != 0) options.ignored_columns = {"Q7_DO_*", "Status"};
  // A declared time zone in the export is resolved by the import itself (tzdata); this is
  // the zone assumed when none is declared.
  if ((byte & 0x20) != 0) options.time_zone = absl::FixedTimeZone(3600);
  if ((byte & 0x40) != 0) options.participant_column = "pid";
  return options;
}

// Data records in the file: every record the reader sees (good or malformed) after the header
// rows, which is what the import promises one row for.
size_t DataRecords(absl::string_view content, CsvLayout layout) {
  CsvReader reader(content);
  CsvRecord record;
  CsvError error;
  size_t records = 0;
  while (reader.Next(record, error) != CsvReader::Result::kEnd) ++records;
  const size_t headers = layout == CsvLayout::kQualtrics ? 3 : 1;
  return records > headers ? records - headers : 0;
}

}  // namespace
}  // namespace fieldwork::survey_ingest

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fieldwork::survey_ingest;  // NOLINT(build/namespaces): a fuzz entry point
  using fieldwork::fuzz::Check;
  if (size == 0) return 0;
  const ImportOptions options = OptionsFrom(data[size - 1]);
  const absl::string_view content(reinterpret_cast<const char*>(data), size - 1);

  absl::StatusOr<ImportResult> result = ImportSurveyCsv(content, TheScorer(), options);
  std::vector<ImportedRow> streamed;
  absl::StatusOr<ImportResult> streaming = ImportSurveyCsv(
      content, TheScorer(), options, [&](ImportedRow row) { streamed.push_back(std::move(row)); });
  Check(result.ok() == streaming.ok(), "the streaming import fails exactly when the other does");
  if (!result.ok()) {
    Check(streamed.empty(), "a whole-file error passes no row to the sink");
    Check(result.status().code() == absl::StatusCode::kInvalidArgument,
          "a whole-file error is INVALID_ARGUMENT", result.status().ToString());
    return 0;
  }

  const std::vector<ImportedRow>& rows = result->rows;
  Check(rows.size() == DataRecords(content, result->layout),
        "every data record yields exactly one row");
  Check(result->accepted() + result->rejected() == rows.size(), "accepted + rejected = rows");
  Check(streamed.size() == rows.size() && streaming->accepted() == result->accepted() &&
            streaming->rows.empty(),
        "the streaming import yields the same rows");
  int last_line = 0;
  size_t accepted = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const ImportedRow& row = rows[i];
    Check(row.response.has_value() != !row.errors.empty(), "a row is a response or has errors");
    Check(row.line > last_line, "rows come in file order");
    last_line = row.line;
    for (const RowError& error : row.errors) {
      Check(error.row == row.line && !error.reason.empty(), "a row error names its line and reason");
    }
    if (row.response.has_value()) {
      ++accepted;
      Check(!row.response->participant_id.empty() && !row.response->submission_id.empty(),
            "an accepted response has a participant and a submission id");
    }
    Check(streamed[i].line == row.line && streamed[i].raw == row.raw &&
              streamed[i].errors.size() == row.errors.size() &&
              streamed[i].response.has_value() == row.response.has_value(),
          "the streaming import yields the same rows");
  }
  Check(accepted == result->accepted(), "accepted counts the responses");
  return 0;
}
