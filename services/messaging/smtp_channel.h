// The e-mail channel: SMTP with libcurl (STARTTLS whenever the server offers it, AUTH when a
// user is configured) over a small pool of reused sessions, one transaction per message, with
// the deterministic Message-ID and a List-Unsubscribe header.
#ifndef FIELDWORK_SERVICES_MESSAGING_SMTP_CHANNEL_H_
#define FIELDWORK_SERVICES_MESSAGING_SMTP_CHANNEL_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/common/clock.h"
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
  // Sessions (SMTP connections) kept open and reused, so a message costs MAIL, RCPT and DATA
  // only, and Deliver returns on the server's 250 for DATA with no QUIT or close before the
  // worker records "sent" (README, window 5). At most `max_sessions` are open at once; a
  // caller beyond that waits for a free one.
  int max_sessions = 4;
  // A session is closed (QUIT) and a new one opened after this many messages or this long
  // unused, as mail servers expect of a polite client; and after any failure. The QUIT is
  // sent at the start of the next delivery, never between a 250 and its record.
  int max_messages_per_session = 100;
  absl::Duration max_idle = absl::Seconds(10);
};

// The RFC 5322 message (CRLF line ends) for `message`. Exposed for tests.
std::string FormatEmail(const OutgoingMessage& message, const std::string& from, absl::Time date);

// Thread-safe: each Deliver takes a session of its own from the pool.
class SmtpChannel final : public MessageChannel {
 public:
  // `clock` times the sessions' idle limit.
  explicit SmtpChannel(SmtpOptions options, const Clock& clock = RealClock::Get());
  ~SmtpChannel() override;
  DeliveryOutcome Deliver(const OutgoingMessage& message) override;

 private:
  struct Session;
  // An idle session that may still be used, or a new one; null when libcurl cannot make one.
  // Waits while `max_sessions` are in use.
  std::unique_ptr<Session> Take();
  // Returns `session` to the pool, or retires it when `reusable` is false or it has carried
  // its last message.
  void Give(std::unique_ptr<Session> session, bool reusable);
  // One SMTP transaction on `session`.
  DeliveryOutcome Send(Session& session, const OutgoingMessage& message, const std::string& body,
                       bool* reused_without_reply);

  const SmtpOptions options_;
  const Clock& clock_;
  const std::string envelope_from_;
  std::mutex mutex_;
  std::condition_variable session_free_;
  std::vector<std::unique_ptr<Session>> idle_;     // most recently used last
  std::vector<std::unique_ptr<Session>> retired_;  // to be closed by the next Take
  int open_ = 0;                                   // sessions idle or in use
};

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_SMTP_CHANNEL_H_
