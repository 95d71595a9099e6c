// Parses the timestamps found in survey exports (Qualtrics and ISO 8601).
#ifndef FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_TIMESTAMP_H_
#define FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_TIMESTAMP_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fieldwork::survey_ingest {

// Accepts the Qualtrics export format "2021-03-04 10:15:00" (also without seconds) and
// ISO 8601 "2021-03-04T10:15:00", with optional fractional seconds and an optional offset
// ("Z", "+01:00"). A time without an offset is read in `zone` (the survey's time zone).
// Surrounding blanks are ignored; anything else, including impossible dates, is nullopt.
std::optional<absl::Time> ParseSurveyTimestamp(absl::string_view text, absl::TimeZone zone);

}  // namespace fieldwork::survey_ingest

#endif  // FIELDWORK_SERVICES_SURVEY_INGEST_DOMAIN_TIMESTAMP_H_
