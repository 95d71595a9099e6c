// fieldwork leavers import TRIAL LEAVERS.csv: records participants who left the organisation
// (RandomisationService.RecordLeaver), and withdraws those given a withdraw_reason (Withdraw).
// Leavers keep their allocation and stay in intent-to-treat analyses; withdrawal also stops
// their survey responses being accepted.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "services/cli/commands.h"
#include "services/cli/input_file.h"
#include "services/cli/protocol.h"
#include "services/survey_ingest/domain/csv_reader.h"

namespace fieldwork::cli {
namespace {

namespace v1 = ::fieldwork::v1;
using survey_ingest::CsvError;
using survey_ingest::CsvReader;
using survey_ingest::CsvRecord;

struct LeaverRow {
  int line = 0;
  std::string participant_id;
  v1::CivilDate left_on;
  std::string withdraw_reason;  // empty: a leaver only
};

void RowError(const std::string& path, int64_t line, const std::string& field, const std::string& reason,
              const std::string& value = "") {
  std::cerr << path << ":" << line << ": " << (field.empty() ? "" : field + ": ") << reason;
  if (!value.empty()) std::cerr << " (\"" << value << "\")";
  std::cerr << "\n";
}

bool ParseDay(absl::string_view text, v1::CivilDate& date) {
  absl::CivilDay day;
  if (!absl::ParseCivilTime(text, &day)) return false;
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return true;
}

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

}  // namespace

int Leavers(CliContext& cli, const Args& args, const CommandOptions& /*options*/) {
  if (args.size() != 3 || args[0] != "import") {
    std::cerr << "usage: fieldwork leavers import TRIAL LEAVERS.csv\n"
                 "  columns: participant_id, left_on (YYYY-MM-DD)[, withdraw_reason]\n";
    return kUsage;
  }
  const std::string& trial_id = args[1];
  const std::string& path = args[2];
  absl::StatusOr<std::string> csv = ReadCsvFile(path);
  if (!csv.ok()) return std::cerr << "fieldwork: " << csv.status().message() << "\n", kUsage;

  // The whole file is checked before anything is sent: a bad file changes nothing.
  CsvReader reader(*csv);
  CsvRecord record;
  CsvError error;
  if (reader.Next(record, error) != CsvReader::Result::kRecord) {
    std::cerr << "fieldwork: " << path << ": no header row\n";
    return kUsage;
  }
  int id_column = -1, date_column = -1, reason_column = -1;
  for (size_t c = 0; c < record.fields.size(); ++c) {
    const std::string name(absl::StripAsciiWhitespace(record.fields[c]));
    if (name == "participant_id") {
      id_column = static_cast<int>(c);
    } else if (name == "left_on") {
      date_column = static_cast<int>(c);
    } else if (name == "withdraw_reason") {
      reason_column = static_cast<int>(c);
    } else {
      RowError(path, record.line, name, "is not participant_id, left_on or withdraw_reason");
      return kUsage;
    }
  }
  if (id_column < 0 || date_column < 0) {
    std::cerr << "fieldwork: " << path << ": the header needs participant_id and left_on\n";
    return kUsage;
  }
  const size_t columns = record.fields.size();
  std::vector<LeaverRow> rows;
  int bad = 0;
  while (true) {
    const CsvReader::Result result = reader.Next(record, error);
    if (result == CsvReader::Result::kEnd) break;
    if (result == CsvReader::Result::kError) {
      RowError(path, error.line, "", error.reason, std::string(error.raw));
      ++bad;
      continue;
    }
    if (record.fields.size() != columns) {
      RowError(path, record.line, "", absl::StrCat("has ", record.fields.size(), " fields, the header has ", columns));
      ++bad;
      continue;
    }
    LeaverRow row;
    row.line = record.line;
    row.participant_id = std::string(absl::StripAsciiWhitespace(record.fields[static_cast<size_t>(id_column)]));
    const std::string date(absl::StripAsciiWhitespace(record.fields[static_cast<size_t>(date_column)]));
    if (reason_column >= 0) row.withdraw_reason = std::string(absl::StripAsciiWhitespace(record.fields[static_cast<size_t>(reason_column)]));
    if (row.participant_id.empty()) {
      RowError(path, record.line, "participant_id", "is empty");
      ++bad;
    } else if (!ParseDay(date, row.left_on)) {
      RowError(path, record.line, "left_on", "is not a date YYYY-MM-DD", date);
      ++bad;
    } else {
      rows.push_back(std::move(row));
    }
  }
  if (bad > 0) {
    std::cerr << "fieldwork: " << path << ": " << bad << " bad row(s): nothing recorded\n";
    return kUsage;
  }

  int64_t recorded = 0, withdrawn = 0, rejected = 0;
  for (const LeaverRow& row : rows) {
    v1::RecordLeaverRequest request;
    request.set_trial_id(trial_id);
    request.set_participant_id(row.participant_id);
    *request.mutable_left_on() = row.left_on;
    v1::RecordLeaverResponse response;
    grpc::Status status = cli.randomisation().RecordLeaver(cli.Call().get(), request, &response);
    if (status.ok() && !row.withdraw_reason.empty()) {
      v1::WithdrawRequest withdraw;
      withdraw.set_trial_id(trial_id);
      withdraw.set_participant_id(row.participant_id);
      *withdraw.mutable_date() = row.left_on;
      withdraw.set_reason(row.withdraw_reason);
      v1::WithdrawResponse withdraw_response;
      status = cli.randomisation().Withdraw(cli.Call().get(), withdraw, &withdraw_response);
      if (status.ok()) withdrawn += withdraw_response.withdrawn();
    }
    if (status.ok()) {
      ++recorded;
      continue;
    }
    if (Retryable(status.error_code()) || status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
        status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
      std::cerr << path << ":" << row.line << ": stopped here; " << recorded << " earlier row(s) recorded (re-running is safe)\n";
      return ReportFailure("RecordLeaver", status);
    }
    RowError(path, row.line, "participant_id", status.error_message(), row.participant_id);
    ++rejected;
  }
  std::cout << "recorded " << recorded << " leavers, withdrew " << withdrawn << ", rejected " << rejected << "\n";
  return rejected == 0 ? kOk : kRejected;
}

}  // namespace fieldwork::cli
