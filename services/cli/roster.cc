#include "services/cli/roster.h"

#include <cmath>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/survey_ingest/domain/csv_reader.h"

namespace fieldwork::cli {

namespace v1 = ::fieldwork::v1;
using fieldwork::survey_ingest::CsvError;
using fieldwork::survey_ingest::CsvReader;
using fieldwork::survey_ingest::CsvRecord;

absl::StatusOr<Roster> ReadRoster(absl::string_view csv, const std::string& path,
                                  const v1::TrialDesign& design) {
  std::map<std::string, const v1::Covariate*> covariates;
  for (const auto& c : design.covariates()) covariates[c.name()] = &c;
  CsvReader reader(csv);
  CsvRecord record;
  CsvError error;
  if (reader.Next(record, error) != CsvReader::Result::kRecord) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no header row"));
  }
  const std::vector<std::string> header = record.fields;
  int id_column = -1;
  for (size_t c = 0; c < header.size(); ++c) {
    const std::string name(absl::StripAsciiWhitespace(header[c]));
    if (name == "participant_id") id_column = static_cast<int>(c);
    if (name != "participant_id" && name != "site" && name != "cohort" && name != "cluster" &&
        covariates.count(name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": line ", record.line, ", column \"", name,
          "\" is not participant_id, site, cohort, cluster or a covariate of trial ", design.trial_id()));
    }
  }
  if (id_column < 0) return absl::InvalidArgumentError(absl::StrCat(path, ": no participant_id column"));

  Roster roster;
  while (true) {
    const CsvReader::Result result = reader.Next(record, error);
    if (result == CsvReader::Result::kEnd) break;
    if (result == CsvReader::Result::kError) {
      roster.errors.push_back({error.line, "", error.reason, std::string(error.raw)});
      continue;
    }
    if (record.fields.size() != header.size()) {
      roster.errors.push_back({record.line, "", absl::StrCat("has ", record.fields.size(), " fields, the header has ", header.size()), std::string(record.raw)});
      continue;
    }
    RosterRow row;
    row.line = record.line;
    bool ok = true;
    for (size_t c = 0; c < header.size(); ++c) {
      const std::string name(absl::StripAsciiWhitespace(header[c]));
      const std::string value(absl::StripAsciiWhitespace(record.fields[c]));
      if (name == "participant_id") {
        row.participant.set_participant_id(value);
      } else if (name == "site") {
        row.participant.set_site(value);
      } else if (name == "cohort") {
        row.participant.set_cohort(value);
      } else if (name == "cluster") {
        row.participant.set_cluster(value);
      } else if (!value.empty()) {
        v1::Value& cell = (*row.participant.mutable_covariates())[name];
        if (covariates[name]->kind() == v1::Covariate::KIND_NUMERIC) {
          double number = 0;
          if (!absl::SimpleAtod(value, &number) || !std::isfinite(number)) {
            roster.errors.push_back({record.line, name, "is not a number", value});
            ok = false;
            continue;
          }
          cell.set_number(number);
        } else {
          cell.set_category(value);
        }
      }
    }
    if (ok) roster.rows.push_back(std::move(row));
  }
  return roster;
}

}  // namespace fieldwork::cli
