// Delivery outcomes and the retry policy: which failures are worth retrying, how long to wait
// (exponential backoff with deterministic jitter), and when to give up and dead-letter.
#ifndef FIELDWORK_SERVICES_MESSAGING_DOMAIN_RETRY_H_
#define FIELDWORK_SERVICES_MESSAGING_DOMAIN_RETRY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fieldwork::messaging {

// What a channel reports after one delivery attempt.
struct DeliveryOutcome {
  enum class Kind {
    kSmtpReply,       // `code` is the SMTP reply code to the final command of the transaction
    kHttpStatus,      // `code` is the SMS gateway's HTTP status
    kTimeout,         // no answer in time (connect, TLS, or a reply)
    kNetworkError,    // refused, reset, DNS failure: nothing reached the provider
    kInvalidAddress,  // the address or number cannot be used (rejected before sending)
  };
  Kind kind = Kind::kNetworkError;
  int code = 0;
  std::string detail;  // the provider's text, for the dead-letter record; no contact details
};

enum class OutcomeClass {
  kDelivered,  // the provider accepted the message
  kTransient,  // worth another try later
  kPermanent,  // will fail the same way again: dead-letter now
};

// SMTP 2xx delivered, 4xx transient, 5xx permanent; HTTP 2xx delivered, 429 / 408 / 5xx
// transient (408 Request Timeout is a timeout), other 4xx permanent, 3xx permanent (a gateway
// that redirects is misconfigured); timeouts and network errors transient; an invalid address
// permanent. Codes outside those ranges are transient: the attempt limit still bounds them.
OutcomeClass ClassifyOutcome(const DeliveryOutcome& outcome);

// A one-line description for logs and dead-letter records, e.g. "SMTP 451: try later".
std::string DescribeOutcome(const DeliveryOutcome& outcome);

struct RetryPolicy {
  absl::Duration initial_delay = absl::Seconds(30);
  double multiplier = 2.0;
  absl::Duration max_delay = absl::Hours(1);
  // Fraction of the delay that jitter may take off: delay is in (base * (1 - jitter), base].
  double jitter = 0.25;
  // Delivery attempts in all, the first included. After the last, a transient failure is
  // dead-lettered too.
  int max_attempts = 8;
};

// INVALID_ARGUMENT naming the field: initial_delay > 0, multiplier >= 1, max_delay >=
// initial_delay, 0 <= jitter < 1, 1 <= max_attempts <= 100.
absl::Status ValidateRetryPolicy(const RetryPolicy& policy);

// The wait after failed attempt number `attempt` (1 for the first attempt): base =
// min(max_delay, initial_delay * multiplier^(attempt-1)), minus up to `jitter` of it. The
// jitter is drawn from SHA-256(idempotency_key, attempt), so it is the same on every worker and
// in every test run, yet spreads different sends apart. Whole milliseconds.
absl::Duration BackoffDelay(const RetryPolicy& policy, absl::string_view idempotency_key,
                            int attempt);

struct RetryDecision {
  enum class Action { kDone, kRetry, kDeadLetter };
  Action action = Action::kDone;
  absl::Time retry_at;  // kRetry
  std::string reason;   // kDeadLetter: why, with the last error
};

// What to do after attempt number `attempt` ended with `outcome` at `now`.
RetryDecision DecideRetry(const RetryPolicy& policy, absl::string_view idempotency_key, int attempt,
                          const DeliveryOutcome& outcome, absl::Time now);

}  // namespace fieldwork::messaging

#endif  // FIELDWORK_SERVICES_MESSAGING_DOMAIN_RETRY_H_
