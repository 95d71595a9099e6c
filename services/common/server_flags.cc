#include "services/common/server_flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(bool, allow_volatile_redis, false,
          "Run against a Redis that may lose acknowledged writes (appendonly not yes, "
          "appendfsync not always, or CONFIG disabled so it cannot be checked): tests and "
          "demos only; logged as a warning and exported as fieldwork_redis_volatile 1");

namespace fieldwork {

void ApplyServerFlags(ServiceRuntimeOptions& options) {
  options.allow_volatile_redis = absl::GetFlag(FLAGS_allow_volatile_redis);
}

}  // namespace fieldwork
