#include "services/common/redis_durability.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace fieldwork {
namespace {

constexpr absl::string_view kConfigAdvice =
    "the operator may have disabled or renamed CONFIG (a managed Redis); make sure that Redis "
    "runs with appendonly yes and appendfsync always";

// CONFIG GET NAME into `value`. A result that is not `durable` carries the reason Redis gave
// no value; a durable one only means it answered (the value is judged by the caller).
absl::StatusOr<RedisDurability> ConfigValue(RedisClient& redis, absl::string_view name,
                                            std::string& value) {
  absl::StatusOr<RedisReply> reply = redis.Command({"CONFIG", "GET", name});
  if (!reply.ok()) {
    if (absl::IsUnavailable(reply.status())) return reply.status();
    // An error reply from Redis: CONFIG is unknown, renamed, or not permitted to this user.
    return RedisDurability{
        false, absl::StrCat("cannot verify Redis persistence: CONFIG GET ", name, " was refused (",
                            reply.status().message(), "); ", kConfigAdvice)};
  }
  if (reply->type() != RedisReply::Type::kArray || reply->size() != 2 ||
      (*reply)[1].type() != RedisReply::Type::kString) {
    return RedisDurability{
        false, absl::StrCat("cannot verify Redis persistence: CONFIG GET ", name,
                            " gave no value; ", kConfigAdvice)};
  }
  value = absl::AsciiStrToLower((*reply)[1].str());
  return RedisDurability{true, ""};
}

}  // namespace

absl::StatusOr<RedisDurability> CheckRedisDurability(RedisClient& redis) {
  std::string appendonly, appendfsync;
  absl::StatusOr<RedisDurability> asked = ConfigValue(redis, "appendonly", appendonly);
  if (!asked.ok() || !asked->durable) return asked;
  asked = ConfigValue(redis, "appendfsync", appendfsync);
  if (!asked.ok() || !asked->durable) return asked;
  if (appendonly != "yes") {
    return RedisDurability{
        false, absl::StrCat("Redis appendonly is ", appendonly,
                            ", not yes: without the append-only file a crash loses every write "
                            "since the last snapshot")};
  }
  if (appendfsync != "always") {
    return RedisDurability{
        false, absl::StrCat("Redis appendfsync is ", appendfsync,
                            ", not always: a crash loses writes already acknowledged to callers")};
  }
  return RedisDurability{true, ""};
}

void ExportRedisVolatile(prometheus::Registry& registry, const std::string& service_name,
                         bool is_volatile) {
  prometheus::BuildGauge()
      .Name("fieldwork_redis_volatile")
      .Help("1 when this service runs against a Redis not confirmed to keep acknowledged writes "
            "(appendonly yes, appendfsync always), allowed by --allow_volatile_redis; else 0.")
      .Register(registry)
      .Add({{"service", service_name}})
      .Set(is_volatile ? 1 : 0);
}

}  // namespace fieldwork
