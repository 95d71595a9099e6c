// The start-up persistence check against real redis-servers: with AOF and appendfsync always,
// without AOF, with appendfsync everysec, and with CONFIG renamed away as a managed Redis does;
// and ServiceRuntime refusing each volatile one unless allow_volatile_redis, which it then
// exports as fieldwork_redis_volatile.
#include "services/common/redis_durability.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "services/common/service_runtime.h"
#include "tests/testing/redis_server.h"

namespace fieldwork {
namespace {

using ::fieldwork::testing::RedisServer;
using ::fieldwork::testing::RedisServerOptions;
using ::testing::HasSubstr;

constexpr RedisServerOptions kDurable{.durable = true};
constexpr RedisServerOptions kNoAof{.durable = false};

TEST(RedisDurabilityTest, AofWithFsyncAlwaysIsDurable) {
  RedisServer server(kDurable);
  absl::StatusOr<RedisDurability> checked = CheckRedisDurability(*server.NewClient());
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_TRUE(checked->durable) << checked->reason;
}

TEST(RedisDurabilityTest, NoAofIsVolatileNamingTheSetting) {
  RedisServer server(kNoAof);
  absl::StatusOr<RedisDurability> checked = CheckRedisDurability(*server.NewClient());
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_FALSE(checked->durable);
  EXPECT_THAT(checked->reason, HasSubstr("appendonly is no, not yes"));
}

TEST(RedisDurabilityTest, FsyncEverySecondIsVolatileNamingTheSetting) {
  RedisServer server(kNoAof, {"--appendonly", "yes", "--appendfsync", "everysec"});
  absl::StatusOr<RedisDurability> checked = CheckRedisDurability(*server.NewClient());
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_FALSE(checked->durable);
  EXPECT_THAT(checked->reason, HasSubstr("appendfsync is everysec, not always"));
}

TEST(RedisDurabilityTest, RenamedConfigCannotBeVerifiedAndSaysSo) {
  // Durable in fact, but nobody can ask: unverified counts as volatile.
  RedisServer server(kDurable, {"--rename-command", "CONFIG", ""});
  absl::StatusOr<RedisDurability> checked = CheckRedisDurability(*server.NewClient());
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_FALSE(checked->durable);
  EXPECT_THAT(checked->reason, HasSubstr("cannot verify Redis persistence"));
  EXPECT_THAT(checked->reason, HasSubstr("disabled or renamed CONFIG"));
}

TEST(RedisDurabilityTest, UnreachableRedisIsAnError) {
  std::unique_ptr<RedisClient> client;
  {
    RedisServer server(kDurable);
    client = server.NewClient();
  }  // killed
  absl::StatusOr<RedisDurability> checked = CheckRedisDurability(*client);
  EXPECT_EQ(checked.status().code(), absl::StatusCode::kUnavailable) << checked.status();
}

ServiceRuntimeOptions RuntimeOptions(const RedisServer& server, bool allow_volatile_redis) {
  ServiceRuntimeOptions options;
  options.service_name = "durability-test";
  options.metrics_bind_address = "127.0.0.1";
  options.metrics_port = 0;
  options.redis_url = server.url();
  options.insecure_no_auth = true;
  options.allow_volatile_redis = allow_volatile_redis;
  options.redis_startup_wait = absl::ZeroDuration();
  return options;
}

std::string Metrics(ServiceRuntime& runtime) {
  return prometheus::TextSerializer().Serialize(runtime.registry().Collect());
}

TEST(ServiceRuntimeDurabilityTest, StartsOnADurableRedisAndExportsZero) {
  RedisServer server(kDurable);
  absl::StatusOr<std::unique_ptr<ServiceRuntime>> runtime =
      ServiceRuntime::Create(RuntimeOptions(server, false));
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  EXPECT_THAT(Metrics(**runtime),
              HasSubstr("fieldwork_redis_volatile{service=\"durability-test\"} 0"));
}

TEST(ServiceRuntimeDurabilityTest, RefusesAVolatileRedisNamingTheFlag) {
  RedisServer no_aof(kNoAof);
  absl::StatusOr<std::unique_ptr<ServiceRuntime>> runtime =
      ServiceRuntime::Create(RuntimeOptions(no_aof, false));
  EXPECT_EQ(runtime.status().code(), absl::StatusCode::kFailedPrecondition) << runtime.status();
  EXPECT_THAT(runtime.status().message(), HasSubstr("refusing to start: Redis appendonly is no"));
  EXPECT_THAT(runtime.status().message(), HasSubstr("--allow_volatile_redis"));

  RedisServer hidden_config(kDurable, {"--rename-command", "CONFIG", ""});
  runtime = ServiceRuntime::Create(RuntimeOptions(hidden_config, false));
  EXPECT_EQ(runtime.status().code(), absl::StatusCode::kFailedPrecondition) << runtime.status();
  EXPECT_THAT(runtime.status().message(), HasSubstr("cannot verify Redis persistence"));
}

TEST(ServiceRuntimeDurabilityTest, RunsOnAVolatileRedisWhenAllowedAndExportsOne) {
  RedisServer server(kNoAof, {"--appendonly", "yes", "--appendfsync", "no"});
  absl::StatusOr<std::unique_ptr<ServiceRuntime>> runtime =
      ServiceRuntime::Create(RuntimeOptions(server, true));
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  EXPECT_THAT(Metrics(**runtime),
              HasSubstr("fieldwork_redis_volatile{service=\"durability-test\"} 1"));
}

TEST(ServiceRuntimeDurabilityTest, UnreachableRedisIsRefusedAfterTheWait) {
  std::string url;
  {
    RedisServer server(kDurable);
    url = server.url();
  }
  ServiceRuntimeOptions options;
  options.service_name = "durability-test";
  options.metrics_bind_address = "127.0.0.1";
  options.redis_url = url;
  options.insecure_no_auth = true;
  options.allow_volatile_redis = true;  // allowed to be volatile, but not to be unreachable
  options.redis_startup_wait = absl::ZeroDuration();
  absl::StatusOr<std::unique_ptr<ServiceRuntime>> runtime = ServiceRuntime::Create(options);
  EXPECT_EQ(runtime.status().code(), absl::StatusCode::kUnavailable) << runtime.status();
  EXPECT_THAT(runtime.status().message(), HasSubstr("cannot check the persistence of Redis at"));
}

}  // namespace
}  // namespace fieldwork
