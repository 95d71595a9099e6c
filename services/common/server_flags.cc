#include "services/common/server_flags.h"

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "services/common/flags.h"

// The service's own defaults replace these three (see server_flags.h).
ABSL_FLAG(std::string, listen_address, "0.0.0.0:0",
          "gRPC listen address (host:port); each service has its own default port");
ABSL_FLAG(int, metrics_port, 0,
          "Port of the Prometheus /metrics endpoint (0: any free port); each service has its "
          "own default");
ABSL_FLAG(int, redis_pool_size, 8,
          "Redis connections (messaging opens at least 4 per worker thread + 4)");

ABSL_FLAG(std::string, metrics_bind_address, "0.0.0.0", "Address the /metrics endpoint binds");
ABSL_FLAG(std::string, redis_url, "redis://127.0.0.1:6379", "Redis URL (redis:// or unix://)");
ABSL_FLAG(absl::Duration, redis_timeout, absl::Seconds(5), "Redis command timeout");
ABSL_FLAG(std::string, tokens_file, "", "YAML file of hashed bearer tokens");
ABSL_FLAG(bool, insecure_no_auth, false, "Accept every call as an admin (development only)");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM certificate for TLS");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key for TLS");
ABSL_FLAG(absl::Duration, drain_delay, absl::Seconds(2), "NOT_SERVING time before stopping");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10), "Grace for in-flight calls");
ABSL_FLAG(absl::Duration, max_connection_age, absl::ZeroDuration(),
          "Ask a client to reconnect after its connection is this old (calls in flight finish), "
          "so that callers resolving a name of several pods spread over pods added since; "
          "0: never");
ABSL_FLAG(bool, simulated_clock, false, "Use the simulated clock in Redis (demo and tests)");
ABSL_FLAG(bool, allow_volatile_redis, false,
          "Run against a Redis that may lose acknowledged writes (appendonly not yes, "
          "appendfsync not always, or CONFIG disabled so it cannot be checked): tests and "
          "demos only; logged as a warning and exported as fieldwork_redis_volatile 1");
ABSL_FLAG(double, rate_limit_per_token, 0,
          "Requests a second each bearer token may make, in bursts of up to one second's worth; "
          "beyond it calls fail with RESOURCE_EXHAUSTED. 0: no limit");

namespace fieldwork {

ServiceRuntimeOptions ParseServerFlags(int argc, char** argv, const ServerDefaults& defaults) {
  absl::SetFlag(&FLAGS_listen_address, defaults.listen_address);
  absl::SetFlag(&FLAGS_metrics_port, defaults.metrics_port);
  absl::SetFlag(&FLAGS_redis_pool_size, defaults.redis_pool_size);
  ParseFlagsWithEnvironment(argc, argv);

  ServiceRuntimeOptions options;
  options.service_name = defaults.service_name;
  options.grpc.listen_address = absl::GetFlag(FLAGS_listen_address);
  options.grpc.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.grpc.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.grpc.drain_delay = absl::GetFlag(FLAGS_drain_delay);
  options.grpc.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  options.grpc.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  options.metrics_bind_address = absl::GetFlag(FLAGS_metrics_bind_address);
  options.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  options.redis_url = absl::GetFlag(FLAGS_redis_url);
  options.redis_pool_size = absl::GetFlag(FLAGS_redis_pool_size);
  options.redis_timeout = absl::GetFlag(FLAGS_redis_timeout);
  options.tokens_file = absl::GetFlag(FLAGS_tokens_file);
  options.insecure_no_auth = absl::GetFlag(FLAGS_insecure_no_auth);
  options.simulated_clock = absl::GetFlag(FLAGS_simulated_clock);
  options.allow_volatile_redis = absl::GetFlag(FLAGS_allow_volatile_redis);
  options.rate_limit_per_token = absl::GetFlag(FLAGS_rate_limit_per_token);
  return options;
}

}  // namespace fieldwork
