#include "services/cli/simulate/allocations.h"

#include "absl/strings/str_cat.h"
#include "services/survey_ingest/domain/csv_reader.h"

namespace fieldwork::cli::simulate {

using survey_ingest::CsvError;
using survey_ingest::CsvReader;
using survey_ingest::CsvRecord;

absl::StatusOr<std::vector<SimAllocation>> ReadAllocations(absl::string_view csv, const std::string& path) {
  CsvReader reader(csv);
  CsvRecord record;
  CsvError error;
  if (reader.Next(record, error) != CsvReader::Result::kRecord) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no header row (expected `fieldwork export` output)"));
  }
  const std::vector<std::string> header = record.fields;
  const size_t n = header.size();
  if (n < 6 || header[0] != "participant_id" || header[1] != "site" || header[2] != "cohort" ||
      header[3] != "cluster" || header[n - 2] != "withdrawn" || header[n - 1] != "left_on") {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": line ", record.line,
        ": the header must be participant_id,site,cohort,cluster,<factors...>,withdrawn,left_on"));
  }
  std::vector<SimAllocation> out;
  while (true) {
    const CsvReader::Result result = reader.Next(record, error);
    if (result == CsvReader::Result::kEnd) break;
    if (result == CsvReader::Result::kError) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": line ", error.line, ": ", error.reason));
    }
    if (record.fields.size() != n) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": line ", record.line, ": has ", record.fields.size(),
                                                     " fields, the header has ", n));
    }
    SimAllocation a;
    a.participant_id = record.fields[0];
    if (a.participant_id.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": line ", record.line, ": participant_id: is empty"));
    }
    a.site = record.fields[1];
    a.cohort = record.fields[2];
    a.cluster = record.fields[3];
    for (size_t c = 4; c + 2 < n; ++c) a.arms[header[c]] = record.fields[c];
    const std::string& withdrawn = record.fields[n - 2];
    if (withdrawn != "true" && withdrawn != "false") {
      return absl::InvalidArgumentError(absl::StrCat(path, ": line ", record.line,
                                                     ": withdrawn: is not true or false (\"", withdrawn, "\")"));
    }
    a.withdrawn = withdrawn == "true";
    a.left_on = record.fields[n - 1];
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace fieldwork::cli::simulate
