#include "services/common/rate_limiter.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace fieldwork {

RateLimiter::RateLimiter(const Clock& clock, double per_second)
    : RateLimiter(clock, per_second, per_second) {}

RateLimiter::RateLimiter(const Clock& clock, double per_second, double burst)
    : clock_(clock), per_second_(per_second), capacity_(std::max(1.0, burst)) {}

absl::Status RateLimiter::Admit(const std::string& principal) {
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mutex_);
  if (buckets_.size() >= prune_above_) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - it->second.updated));
      it = it->second.tokens + elapsed * per_second_ >= capacity_ ? buckets_.erase(it)
                                                                    : std::next(it);
    }
    // Still full of active principals: sweep again only once that many more arrive, so a
    // sweep's cost is spread over as many requests.
    prune_above_ = std::max(kPruneAbove, 2 * buckets_.size());
  }
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

size_t RateLimiter::tracked() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return buckets_.size();
}

}  // namespace fieldwork
