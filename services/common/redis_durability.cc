#include "services/common/redis_durability.h"

#include <map>
#include <string>
#include <vector>

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace fieldwork {
namespace {

constexpr absl::string_view kConfigAdvice =
    "the operator may have disabled or renamed CONFIG (a managed Redis); make sure that Redis "
    "runs with appendonly yes and appendfsync always";

// CONFIG GET NAME on every master into `values` (server -> value). A result that is not
// `durable` carries the reason a server gave no value; a durable one only means every server
// answered (the values are judged by the caller).
absl::StatusOr<RedisDurability> ConfigValues(RedisClient& redis, absl::string_view name,
                                             std::map<std::string, std::string>& values) {
  absl::StatusOr<std::vector<RedisClient::ServerReply>> replies =
      redis.CommandOnEveryMaster({"CONFIG", "GET", name});
  if (!replies.ok()) return replies.status();
  for (const RedisClient::ServerReply& answer : *replies) {
    const RedisReply& reply = answer.reply;
    if (reply.type() == RedisReply::Type::kError) {
      // CONFIG is unknown, renamed, or not permitted to this user.
      return RedisDurability{
          false, absl::StrCat("cannot verify Redis persistence: CONFIG GET ", name, " was refused by ",
                              answer.server, " (", StatusFromRedisError(reply.str()).message(),
                              "); ", kConfigAdvice)};
    }
    if (reply.type() != RedisReply::Type::kArray || reply.size() != 2 ||
        reply[1].type() != RedisReply::Type::kString) {
      return RedisDurability{
          false, absl::StrCat("cannot verify Redis persistence: CONFIG GET ", name, " gave ",
                              answer.server, " no value; ", kConfigAdvice)};
    }
    values[answer.server] = absl::AsciiStrToLower(reply[1].str());
  }
  return RedisDurability{true, ""};
}

}  // namespace

absl::StatusOr<RedisDurability> CheckRedisDurability(RedisClient& redis) {
  std::map<std::string, std::string> appendonly, appendfsync;
  absl::StatusOr<RedisDurability> asked = ConfigValues(redis, "appendonly", appendonly);
  if (!asked.ok() || !asked->durable) return asked;
  asked = ConfigValues(redis, "appendfsync", appendfsync);
  if (!asked.ok() || !asked->durable) return asked;
  // Every master must keep what it acknowledges: one volatile master loses its trials' writes.
  for (const auto& [server, value] : appendonly) {
    if (value == "yes") continue;
    return RedisDurability{
        false, absl::StrCat("Redis appendonly is ", value, ", not yes, on ", server,
                            ": without the append-only file a crash loses every write since "
                            "the last snapshot")};
  }
  for (const auto& [server, value] : appendfsync) {
    if (value == "always") continue;
    return RedisDurability{
        false, absl::StrCat("Redis appendfsync is ", value, ", not always, on ", server,
                            ": a crash loses writes already acknowledged to callers")};
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
