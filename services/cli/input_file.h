// Reading the CSV files a command uploads (rosters, contacts, responses, outcomes, leavers).
#ifndef FIELDWORK_SERVICES_CLI_INPUT_FILE_H_
#define FIELDWORK_SERVICES_CLI_INPUT_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace fieldwork::cli {

// Reads a whole CSV file. INVALID_ARGUMENT naming the file when it cannot be read, is empty
// (nothing but a byte-order mark and white space), or is not UTF-8 text (a NUL byte or an
// invalid UTF-8 sequence, with its offset): a spreadsheet saved in its own format, a zip, or
// a UTF-16 export; or when a quoted field is never closed and swallows the rows after it
// (survey_ingest::FindRunawayQuote). Such a file would otherwise reach a service and be refused
// as rows.
absl::StatusOr<std::string> ReadCsvFile(const std::string& path);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_INPUT_FILE_H_
