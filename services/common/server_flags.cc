#include "services/common/server_flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(bool, allow_volatile_redis, false,
          "Run against a Redis that may lose acknowledged writes (appendonly not yes, "
          "appendfsync not always, or CONFIG disabled so it cannot be checked): tests and "
          "demos only; logged as a warning and exported as fieldwork_redis_volatile 1");
ABSL_FLAG(double, rate_limit_per_token, 0,
          "Requests a second each bearer token may make, in bursts of up to one second's worth; "
          "beyond it calls fail with RESOURCE_EXHAUSTED. 0: no limit");

namespace fieldwork {

void ApplyServerFlags(ServiceRuntimeOptions& options) {
  options.allow_volatile_redis = absl::GetFlag(FLAGS_allow_volatile_redis);
  options.rate_limit_per_token = absl::GetFlag(FLAGS_rate_limit_per_token);
}

}  // namespace fieldwork
