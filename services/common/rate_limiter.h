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
  // `per_second` > 0 requests a second on average per principal, in bursts of up to
  // max(1, per_second) (one second's worth). `clock` must outlive the limiter.
  RateLimiter(const Clock& clock, double per_second);

  // Takes one request from `principal`'s bucket: OK, or RESOURCE_EXHAUSTED saying the limit
  // and when to retry. Thread-safe. Memory grows with the number of distinct principals, which
  // come from the tokens file.
  absl::Status Admit(const std::string& principal);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
  };
  const Clock& clock_;
  const double per_second_;
  const double capacity_;
  std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_RATE_LIMITER_H_
