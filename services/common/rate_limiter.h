// A request rate limit per principal (bearer token): one token bucket each.
#ifndef FIELDWORK_SERVICES_COMMON_RATE_LIMITER_H_
#define FIELDWORK_SERVICES_COMMON_RATE_LIMITER_H_

#include <map>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/common/clock.h"

namespace fieldwork {

class RateLimiter {
 public:
  // Principals tracked before refilled buckets are dropped.
  static constexpr size_t kPruneAbove = 65536;

  // `per_second` > 0 requests a second on average per principal, in bursts of up to
  // max(1, per_second) (one second's worth). `clock` must outlive the limiter.
  RateLimiter(const Clock& clock, double per_second);
  // The same with bursts of up to `burst` requests (at least 1): e.g. a minute's worth for a
  // limit stated per minute, so that a person's few quick clicks are never refused.
  RateLimiter(const Clock& clock, double per_second, double burst);

  // Takes one request from `principal`'s bucket: OK, or RESOURCE_EXHAUSTED saying the limit
  // and when to retry. Thread-safe. Memory grows with the number of principals seen recently:
  // past kPruneAbove of them, buckets that have refilled (the same as no bucket) are dropped,
  // so principals from the outside (client addresses, links) cannot grow it without bound.
  absl::Status Admit(const std::string& principal);
  // Principals with a bucket now (for tests).
  size_t tracked() const;

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
  };
  const Clock& clock_;
  const double per_second_;
  const double capacity_;
  mutable std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
  size_t prune_above_ = kPruneAbove;
};

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_RATE_LIMITER_H_
