#include "services/cli/contacts.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/survey_ingest/domain/csv_reader.h"

namespace fieldwork::cli {

namespace v1 = ::fieldwork::v1;
using fieldwork::survey_ingest::CsvError;
using fieldwork::survey_ingest::CsvReader;
using fieldwork::survey_ingest::CsvRecord;

namespace {

enum class Column { kParticipantId, kFirstName, kEmail, kPhone, kPreferredChannel, kTimeZone };

const std::map<std::string, Column>& Columns() {
  static const auto* columns = new std::map<std::string, Column>{
      {"participant_id", Column::kParticipantId}, {"first_name", Column::kFirstName},
      {"email", Column::kEmail},                  {"phone", Column::kPhone},
      {"preferred_channel", Column::kPreferredChannel}, {"time_zone", Column::kTimeZone},
  };
  return *columns;
}

}  // namespace

absl::StatusOr<ContactFile> ReadContacts(absl::string_view csv, const std::string& path) {
  CsvReader reader(csv);
  CsvRecord record;
  CsvError error;
  if (reader.Next(record, error) != CsvReader::Result::kRecord) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no header row"));
  }
  std::vector<Column> header;
  bool has_id = false;
  for (const std::string& raw : record.fields) {
    const std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(raw));
    auto it = Columns().find(name);
    if (it == Columns().end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": line ", record.line, ", column \"", name,
          "\" is not participant_id, first_name, email, phone, preferred_channel or time_zone"));
    }
    has_id = has_id || it->second == Column::kParticipantId;
    header.push_back(it->second);
  }
  if (!has_id) return absl::InvalidArgumentError(absl::StrCat(path, ": no participant_id column"));

  ContactFile contacts;
  while (true) {
    const CsvReader::Result result = reader.Next(record, error);
    if (result == CsvReader::Result::kEnd) break;
    if (result == CsvReader::Result::kError) {
      // The raw line may hold an address: say where, not what.
      contacts.errors.push_back({error.line, "", error.reason, ""});
      continue;
    }
    if (record.fields.size() != header.size()) {
      contacts.errors.push_back({record.line, "", absl::StrCat("has ", record.fields.size(), " fields, the header has ", header.size()), ""});
      continue;
    }
    ContactRow row;
    row.line = record.line;
    bool ok = true;
    for (size_t c = 0; c < header.size() && ok; ++c) {
      const std::string value(absl::StripAsciiWhitespace(record.fields[c]));
      switch (header[c]) {
        case Column::kParticipantId:
          if (value.empty()) {
            contacts.errors.push_back({record.line, "participant_id", "is empty", ""});
            ok = false;
          }
          row.contact.set_participant_id(value);
          break;
        case Column::kFirstName:
          row.contact.set_first_name(value);
          break;
        case Column::kEmail:
          row.contact.set_email(value);
          break;
        case Column::kPhone:
          row.contact.set_phone(value);
          break;
        case Column::kPreferredChannel: {
          const std::string channel = absl::AsciiStrToLower(value);
          if (channel == "email") {
            row.contact.set_preference(v1::MESSAGE_CHANNEL_EMAIL);
          } else if (channel == "sms") {
            row.contact.set_preference(v1::MESSAGE_CHANNEL_SMS);
          } else if (!channel.empty()) {
            contacts.errors.push_back({record.line, "preferred_channel", "must be email, sms or empty", value});
            ok = false;
          }
          break;
        }
        case Column::kTimeZone: {
          absl::TimeZone zone;
          if (!value.empty() && !absl::LoadTimeZone(value, &zone)) {
            contacts.errors.push_back({record.line, "time_zone", "is not an IANA time zone such as Europe/London", value});
            ok = false;
          }
          row.contact.set_time_zone(value);
          break;
        }
      }
    }
    if (ok) contacts.rows.push_back(std::move(row));
  }
  return contacts;
}

}  // namespace fieldwork::cli
