// The e-mail channel: SMTP with libcurl (STARTTLS whenever the server offers it, AUTH when a
// user is configured), one transaction per message, with the deterministic Message-ID and a
// List-Unsubscribe header.
#ifndef FIELDWORK_SERVICES_MESSAGING_SMTP_CHANNEL_H_
#define FIELDWORK_SERVICES_MESSAGING_SMTP_CHANNEL_H_

#include <string>

#include "absl/time/time.h"
#include "services/messaging/channel.h"

namespace fieldwork::messaging {

struct SmtpOptions {
  std::string url;  // smtp://host:port (STARTTLS when offered) or smtps://host:port
  std::string user;
  std::string password;
  std::string from_address;  // "Study team <study@example.org>" or a bare address
  bool require_tls = false;  // refuse to send without STARTTLS
  absl::Duration connect_timeout = absl::Seconds(10);
  // Long on purpose: RFC 5321 gives the end of DATA 10 minutes, and a short timeout there is
  // what turns a slow acceptance into a duplicate (README, window 6).
  absl::Duration timeout = absl::Minutes(10);
};

// The RFC 5322 message (CRLF line ends) for `message`. Exposed for tests.
std::string FormatEmail(const OutgoingMessage& message, const std::string& from, absl::Time date);

class SmtpChannel final : public MessageChannel {
 public:
  explicit SmtpChannel(SmtpOptions options);
  DeliveryOutcome Deliver(const OutgoingMessage& message) override;

 private:
  SmtpOptions options_;
  std::string envelope_from_;
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_SMTP_CHANNEL_H_
