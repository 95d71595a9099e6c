// Reads a contacts CSV (one participant's contact details per row) into MessagingService
// Contact records. The details are personal data: errors name the file, line and column but
// never echo an e-mail address or phone number.
#ifndef FIELDWORK_SERVICES_CLI_CONTACTS_H_
#define FIELDWORK_SERVICES_CLI_CONTACTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fieldwork/v1/messaging.pb.h"

namespace fieldwork::cli {

struct ContactRow {
  int line = 0;  // physical line in the file
  fieldwork::v1::Contact contact;
};

struct ContactError {
  int line = 0;
  std::string column;
  std::string reason;
  std::string value;  // empty for email and phone (never echoed)
};

struct ContactFile {
  std::vector<ContactRow> rows;       // rows that parsed
  std::vector<ContactError> errors;   // rows that did not, one error each
};

// Columns (header row, any order): participant_id (required), first_name, email, phone,
// preferred_channel (email, sms or empty), time_zone (IANA, e.g. Europe/London, or empty).
// An unknown or missing participant_id column fails the whole file (INVALID_ARGUMENT naming
// it). The address and number formats are checked by the service, which reports the row.
absl::StatusOr<ContactFile> ReadContacts(absl::string_view csv, const std::string& path);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_CONTACTS_H_
