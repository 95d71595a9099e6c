// The SMS channel: a form POST to an HTTP gateway (Twilio-style fields To, From, Body) with a
// bearer token; the idempotency key goes in an Idempotency-Key header and a Reference field.
#ifndef FIELDWORK_SERVICES_MESSAGING_SMS_CHANNEL_H_
#define FIELDWORK_SERVICES_MESSAGING_SMS_CHANNEL_H_

#include <string>

#include "absl/time/time.h"
#include "services/messaging/channel.h"

namespace fieldwork::messaging {

struct SmsOptions {
  std::string url;    // the gateway's send endpoint
  std::string token;  // bearer token
  std::string from;   // sender id or number
  absl::Duration timeout = absl::Seconds(30);
};

class SmsChannel final : public MessageChannel {
 public:
  explicit SmsChannel(SmsOptions options);
  DeliveryOutcome Deliver(const OutgoingMessage& message) override;

 private:
  SmsOptions options_;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_SMS_CHANNEL_H_
