#include "services/survey_ingest/domain/timestamp.h"

#include <string>

#include "absl/time/civil_time.h"
#include "services/survey_ingest/domain/number_format.h"

namespace fieldwork::survey_ingest {
namespace {

bool Digits(absl::string_view text, size_t pos, size_t len, int* out) {
  int value = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  *out = value;
  return true;
}

// The Qualtrics format "2021-03-04 10:15:00", three per row of an export: without the
// general parser's format machinery.
std::optional<absl::Time> ParseQualtricsFormat(absl::string_view t, absl::TimeZone zone) {
  if (t.size() != 19 || t[4] != '-' || t[7] != '-' || t[10] != ' ' || t[13] != ':' ||
      t[16] != ':') {
    return std::nullopt;
  }
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!Digits(t, 0, 4, &year) || !Digits(t, 5, 2, &month) || !Digits(t, 8, 2, &day) ||
      !Digits(t, 11, 2, &hour) || !Digits(t, 14, 2, &minute) || !Digits(t, 17, 2, &second)) {
    return std::nullopt;
  }
  const absl::CivilSecond civil(year, month, day, hour, minute, second);
  // CivilSecond normalises (February 30 becomes March 2): a changed field means invalid.
  if (civil.year() != year || civil.month() != month || civil.day() != day ||
      civil.hour() != hour || civil.minute() != minute || civil.second() != second) {
    return std::nullopt;
  }
  return absl::FromCivil(civil, zone);
}

}  // namespace

std::optional<absl::Time> ParseSurveyTimestamp(absl::string_view text, absl::TimeZone zone) {
  text = TrimBlanks(text);
  if (std::optional<absl::Time> fast = ParseQualtricsFormat(text, zone)) return fast;
  if (text.size() < 10) return std::nullopt;
  // absl::ParseTime must consume the whole text, so at most one format matches; the
  // Qualtrics one comes first because it is by far the most common.
  static constexpr const char* kFormats[] = {
      "%Y-%m-%d %H:%M:%E*S",    "%Y-%m-%dT%H:%M:%E*S%Ez", "%Y-%m-%dT%H:%M:%E*S",
      "%Y-%m-%d %H:%M:%E*S%Ez", "%Y-%m-%d %H:%M",         "%Y-%m-%dT%H:%M%Ez",
      "%Y-%m-%dT%H:%M",
  };
  const std::string input(text);
  for (const char* format : kFormats) {
    absl::Time time;
    std::string error;
    if (absl::ParseTime(format, input, zone, &time, &error)) return time;
  }
  return std::nullopt;
}

}  // namespace fieldwork::survey_ingest
