// A participant's contact details (the suite's only personal data) and their validation.
#ifndef FIELDWORK_SERVICES_MESSAGING_DOMAIN_CONTACT_H_
#define FIELDWORK_SERVICES_MESSAGING_DOMAIN_CONTACT_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "services/messaging/domain/campaign.h"

namespace fieldwork::messaging {

struct Contact {
  std::string participant_id;
  std::string email;       // empty when none
  std::string phone;       // E.164, e.g. +447700900123; empty when none
  std::string first_name;  // empty when none
  std::string time_zone;   // IANA name; empty when unknown (the trial's zone is used)
  std::optional<DeliveryChannel> preference;
};

// INVALID_ARGUMENT naming the field. Messages never quote the e-mail, phone or name (they are
// personal data and errors end up in logs): "email: not an address of the form local@domain".
// Requires a valid participant id and at least one of email and phone.
absl::Status ValidateContact(const Contact& contact);

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_DOMAIN_CONTACT_H_
