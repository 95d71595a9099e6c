#include "services/common/rate_limiter.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace fieldwork {

RateLimiter::RateLimiter(const Clock& clock, double per_second)
    : clock_(clock), per_second_(per_second), capacity_(std::max(1.0, per_second)) {}

absl::Status RateLimiter::Admit(const std::string& principal) {
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, inserted] = buckets_.try_emplace(principal, Bucket{capacity_, now});
  Bucket& bucket = it->second;
  if (!inserted) {
    // A clock that went back (NTP) refills nothing rather than draining the bucket.
    const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - bucket.updated));
    bucket.tokens = std::min(capacity_, bucket.tokens + elapsed * per_second_);
    bucket.updated = now;
  }
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return absl::OkStatus();
  }
  const double wait_seconds = (1.0 - bucket.tokens) / per_second_;
  return absl::ResourceExhaustedError(absl::StrFormat(
      "rate limit: %s may make %g request(s) a second (--rate_limit_per_token); retry in %.3g s",
      principal, per_second_, wait_seconds));
}

}  // namespace fieldwork
