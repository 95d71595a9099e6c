#include "services/messaging/domain/retry.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "services/messaging/domain/encoding.h"

namespace fieldwork::messaging {
namespace {

// A uniform draw in [0, 1) from SHA-256 of the key and the attempt.
double JitterDraw(absl::string_view idempotency_key, int attempt) {
  std::string digest = Sha256(absl::StrCat("fieldwork-retry-jitter-v1", absl::string_view("\0", 1),
                                           idempotency_key, absl::string_view("\0", 1), attempt));
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) {
    bits = (bits << 8) | static_cast<unsigned char>(digest[static_cast<size_t>(i)]);
  }
  return static_cast<double>(bits >> 11) * 0x1.0p-53;  // the top 53 bits: exact in a double
}

}  // namespace

OutcomeClass ClassifyOutcome(const DeliveryOutcome& outcome) {
  using Kind = DeliveryOutcome::Kind;
  const int code = outcome.code;
  switch (outcome.kind) {
    case Kind::kSmtpReply:
      if (code >= 200 && code < 300) return OutcomeClass::kDelivered;
      if (code >= 500 && code < 600) return OutcomeClass::kPermanent;
      return OutcomeClass::kTransient;
    case Kind::kHttpStatus:
      if (code >= 200 && code < 300) return OutcomeClass::kDelivered;
      if (code == 429 || code == 408) return OutcomeClass::kTransient;
      if (code >= 300 && code < 500) return OutcomeClass::kPermanent;
      return OutcomeClass::kTransient;
    case Kind::kTimeout:
    case Kind::kNetworkError:
      return OutcomeClass::kTransient;
    case Kind::kInvalidAddress:
      return OutcomeClass::kPermanent;
  }
  return OutcomeClass::kTransient;
}

std::string DescribeOutcome(const DeliveryOutcome& outcome) {
  using Kind = DeliveryOutcome::Kind;
  std::string head;
  switch (outcome.kind) {
    case Kind::kSmtpReply:
      head = absl::StrCat("SMTP ", outcome.code);
      break;
    case Kind::kHttpStatus:
      head = absl::StrCat("HTTP ", outcome.code);
      break;
    case Kind::kTimeout:
      head = "timeout";
      break;
    case Kind::kNetworkError:
      head = "network error";
      break;
    case Kind::kInvalidAddress:
      head = "invalid address";
      break;
  }
  return outcome.detail.empty() ? head : absl::StrCat(head, ": ", outcome.detail);
}

absl::Status ValidateRetryPolicy(const RetryPolicy& p) {
  if (p.initial_delay <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("initial_delay: must be positive");
  }
  if (!(p.multiplier >= 1.0) || !std::isfinite(p.multiplier)) {
    return absl::InvalidArgumentError("multiplier: must be 1 or more");
  }
  if (p.max_delay < p.initial_delay || p.max_delay == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError("max_delay: must be finite and at least initial_delay");
  }
  if (!(p.jitter >= 0.0 && p.jitter < 1.0)) {
    return absl::InvalidArgumentError("jitter: must be in [0, 1)");
  }
  if (p.max_attempts < 1 || p.max_attempts > 100) {
    return absl::InvalidArgumentError("max_attempts: must be 1..100");
  }
  return absl::OkStatus();
}

absl::Duration BackoffDelay(const RetryPolicy& policy, absl::string_view idempotency_key,
                            int attempt) {
  const int exponent = std::max(0, attempt - 1);
  const double max_ms = absl::ToDoubleMilliseconds(policy.max_delay);
  const double base_ms =
      std::min(max_ms, absl::ToDoubleMilliseconds(policy.initial_delay) *
                           std::pow(policy.multiplier, static_cast<double>(exponent)));
  const double jittered_ms = base_ms * (1.0 - policy.jitter * JitterDraw(idempotency_key, attempt));
  // Floor to whole milliseconds, but never below 1 ms nor above the base.
  return absl::Milliseconds(std::max<int64_t>(1, static_cast<int64_t>(std::floor(jittered_ms))));
}

RetryDecision DecideRetry(const RetryPolicy& policy, absl::string_view idempotency_key, int attempt,
                          const DeliveryOutcome& outcome, absl::Time now) {
  RetryDecision decision;
  switch (ClassifyOutcome(outcome)) {
    case OutcomeClass::kDelivered:
      decision.action = RetryDecision::Action::kDone;
      return decision;
    case OutcomeClass::kPermanent:
      decision.action = RetryDecision::Action::kDeadLetter;
      decision.reason = absl::StrCat("permanent failure: ", DescribeOutcome(outcome));
      return decision;
    case OutcomeClass::kTransient:
      break;
  }
  if (attempt >= policy.max_attempts) {
    decision.action = RetryDecision::Action::kDeadLetter;
    decision.reason = absl::StrCat("gave up after ", attempt,
                                   " attempts; last error: ", DescribeOutcome(outcome));
    return decision;
  }
  decision.action = RetryDecision::Action::kRetry;
  decision.retry_at = now + BackoffDelay(policy, idempotency_key, attempt);
  return decision;
}

}  // namespace fieldwork::messaging
