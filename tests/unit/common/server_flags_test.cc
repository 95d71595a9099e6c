// The shared server flags: a service's own defaults apply unless the environment or the
// command line says otherwise.
#include "services/common/server_flags.h"

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "absl/time/time.h"

namespace fieldwork {
namespace {

const ServerDefaults kDefaults{.service_name = "example",
                               .listen_address = "0.0.0.0:50099",
                               .metrics_port = 9499,
                               .redis_pool_size = 12};

TEST(ServerFlagsTest, TheServiceDefaultsApplyWhenNothingElseIsSet) {
  std::string program = "prog";
  char* argv[] = {program.data()};
  const ServiceRuntimeOptions options = ParseServerFlags(1, argv, kDefaults);
  EXPECT_EQ(options.service_name, "example");
  EXPECT_EQ(options.grpc.listen_address, "0.0.0.0:50099");
  EXPECT_EQ(options.metrics_port, 9499);
  EXPECT_EQ(options.redis_pool_size, 12);
  EXPECT_EQ(options.redis_url, "redis://127.0.0.1:6379");
  EXPECT_EQ(options.redis_timeout, absl::Seconds(5));
  EXPECT_FALSE(options.allow_volatile_redis);
  EXPECT_EQ(options.grpc.max_connection_age, absl::ZeroDuration());
}

TEST(ServerFlagsTest, TheEnvironmentAndTheCommandLineBeatTheServiceDefaults) {
  setenv("FIELDWORK_METRICS_PORT", "9999", 1);
  setenv("FIELDWORK_LISTEN_ADDRESS", "127.0.0.1:7000", 1);
  setenv("FIELDWORK_ALLOW_VOLATILE_REDIS", "true", 1);
  setenv("FIELDWORK_MAX_CONNECTION_AGE", "5m", 1);
  std::string program = "prog";
  std::string listen = "--listen_address=127.0.0.1:7001";
  std::string pool = "--redis_pool_size=3";
  std::string tls = "--tls_cert_file=cert.pem";
  char* argv[] = {program.data(), listen.data(), pool.data(), tls.data()};
  const ServiceRuntimeOptions options = ParseServerFlags(4, argv, kDefaults);
  unsetenv("FIELDWORK_METRICS_PORT");
  unsetenv("FIELDWORK_LISTEN_ADDRESS");
  unsetenv("FIELDWORK_ALLOW_VOLATILE_REDIS");
  unsetenv("FIELDWORK_MAX_CONNECTION_AGE");
  EXPECT_EQ(options.metrics_port, 9999);
  EXPECT_EQ(options.grpc.listen_address, "127.0.0.1:7001");
  EXPECT_EQ(options.redis_pool_size, 3);
  EXPECT_EQ(options.grpc.tls_cert_file, "cert.pem");
  EXPECT_TRUE(options.allow_volatile_redis);
  EXPECT_EQ(options.grpc.max_connection_age, absl::Minutes(5));
}

}  // namespace
}  // namespace fieldwork
