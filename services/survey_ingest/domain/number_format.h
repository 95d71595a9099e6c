// Strict parsing and shortest formatting of numbers as they appear in survey data.
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_NUMBER_FORMAT_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_NUMBER_FORMAT_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace fieldwork::survey_ingest {

// Strips ASCII spaces and tabs (not other characters) from both ends.
absl::string_view TrimBlanks(absl::string_view text);

// A finite decimal number such as "3", "-1.5", "+2", ".5", "1e2" with optional surrounding
// blanks. Rejects everything else: "", "3 days", "3,5", "0x10", "inf", "nan".
std::optional<double> ParseNumber(absl::string_view text);

// The shortest text that parses back to exactly `value` ("3", "2.5", "0.1").
std::string FormatNumber(double value);

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_NUMBER_FORMAT_H_
