// The start-up check that Redis keeps every write it acknowledges: AOF on, fsynced before
// each reply. Fieldwork's promises (no acknowledged allocation, response or send lost, no
// message sent twice) hold only then, so the services refuse any other Redis unless told.
#ifndef FIELDWORK_SERVICES_COMMON_REDIS_DURABILITY_H_
#define FIELDWORK_SERVICES_COMMON_REDIS_DURABILITY_H_

#include <string>

#include "absl/status/statusor.h"
#include "services/common/redis_client.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace fieldwork {

struct RedisDurability {
  bool durable = false;
  // When not durable: what Redis said, naming the setting and its value ("appendfsync is
  // everysec, not always: ..."), or why it could not be asked (CONFIG disabled or renamed).
  std::string reason;
};

// Asks Redis CONFIG GET appendonly and CONFIG GET appendfsync: durable when appendonly is yes
// and appendfsync is always on every master (the one Redis, or each master of a cluster; the
// reason names the server that is not). An error reply to CONFIG (a managed Redis that disables or renames
// it, an ACL that forbids it) is "not durable" with that reason: unverified is not durable.
// Fails (UNAVAILABLE) only when Redis cannot be reached.
absl::StatusOr<RedisDurability> CheckRedisDurability(RedisClient& redis);

// The gauge fieldwork_redis_volatile{service}: 1 when the service runs against a Redis not
// confirmed durable (allowed by --allow_volatile_redis), 0 otherwise.
void ExportRedisVolatile(prometheus::Registry& registry, const std::string& service_name,
                         bool is_volatile);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_REDIS_DURABILITY_H_
