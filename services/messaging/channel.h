// A delivery channel: hands one rendered message to a provider (an SMTP server, an SMS gateway,
// a file) and reports the outcome for the retry policy (domain/retry.h).
#ifndef FIELDWORK_SERVICES_MESSAGING_CHANNEL_H_
#define FIELDWORK_SERVICES_MESSAGING_CHANNEL_H_

#include <string>

#include "services/messaging/domain/campaign.h"
#include "services/messaging/domain/retry.h"

namespace fieldwork::messaging {

// Everything a channel needs for one message. Holds personal data (the address): never log it.
struct OutgoingMessage {
  DeliveryChannel channel = DeliveryChannel::kEmail;
  std::string idempotency_key;  // also the SMS gateway's reference field
  std::string to;               // e-mail address or E.164 phone number
  // E-mail only.
  std::string message_id;  // deterministic (schedule.h EmailMessageId), with angle brackets
  std::string subject;
  std::string text_body;
  std::string html_body;         // empty: text only
  std::string list_unsubscribe;  // an https URL for the List-Unsubscribe header; may be empty
  // SMS only.
  std::string sms_body;
};

class MessageChannel {
 public:
  virtual ~MessageChannel() = default;
  // Delivers `message`. Thread-safe: workers call it concurrently. The outcome's detail must
  // not contain the address or the message text.
  virtual DeliveryOutcome Deliver(const OutgoingMessage& message) = 0;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_CHANNEL_H_
