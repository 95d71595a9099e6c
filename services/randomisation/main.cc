// fieldwork-randomisation: trial designs, enrolment, concealed and reproducible allocation,
// withdrawals, balance and the audit log (RandomisationService in
// protos/fieldwork/v1/randomisation.proto).
//
// Usage:
//   fieldwork-randomisation --redis_url=redis://127.0.0.1:6379 --tokens_file=tokens.yaml
//       [--listen_address=0.0.0.0:50051] [--metrics_port=9464]
//       [--tls_cert_file=F --tls_key_file=F] [--simulated_clock] [--insecure_no_auth]
// Every flag can also be set as FIELDWORK_<FLAG_IN_CAPITALS>; the command line wins. It refuses
// a Redis without appendonly yes and appendfsync always unless --allow_volatile_redis.
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "services/common/flags.h"
#include "services/common/logging.h"
#include "services/common/server_flags.h"
#include "services/common/service_runtime.h"
#include "services/randomisation/randomiser.h"
#include "services/randomisation/redis_store.h"
#include "services/randomisation/service.h"

ABSL_FLAG(std::string, listen_address, "0.0.0.0:50051", "gRPC listen address (host:port)");
ABSL_FLAG(int, metrics_port, 9464, "Port of the Prometheus /metrics endpoint");
ABSL_FLAG(std::string, metrics_bind_address, "0.0.0.0", "Address the /metrics endpoint binds");
ABSL_FLAG(std::string, redis_url, "redis://127.0.0.1:6379", "Redis URL (redis:// or unix://)");
ABSL_FLAG(int, redis_pool_size, 8, "Redis connections");
ABSL_FLAG(absl::Duration, redis_timeout, absl::Seconds(5), "Redis command timeout");
ABSL_FLAG(std::string, tokens_file, "", "YAML file of hashed bearer tokens");
ABSL_FLAG(bool, insecure_no_auth, false, "Accept every call as an admin (development only)");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM certificate for TLS");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key for TLS");
ABSL_FLAG(absl::Duration, drain_delay, absl::Seconds(2), "NOT_SERVING time before stopping");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10), "Grace for in-flight calls");
ABSL_FLAG(bool, simulated_clock, false, "Use the simulated clock in Redis (demo and tests)");

int main(int argc, char** argv) {
  fieldwork::BlockTerminationSignals();
  fieldwork::ParseFlagsWithEnvironment(argc, argv);

  fieldwork::ServiceRuntimeOptions options;
  options.service_name = "randomisation";
  options.grpc.listen_address = absl::GetFlag(FLAGS_listen_address);
  options.grpc.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.grpc.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.grpc.drain_delay = absl::GetFlag(FLAGS_drain_delay);
  options.grpc.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  options.metrics_bind_address = absl::GetFlag(FLAGS_metrics_bind_address);
  options.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  options.redis_url = absl::GetFlag(FLAGS_redis_url);
  options.redis_pool_size = absl::GetFlag(FLAGS_redis_pool_size);
  options.redis_timeout = absl::GetFlag(FLAGS_redis_timeout);
  options.tokens_file = absl::GetFlag(FLAGS_tokens_file);
  options.insecure_no_auth = absl::GetFlag(FLAGS_insecure_no_auth);
  options.simulated_clock = absl::GetFlag(FLAGS_simulated_clock);
  fieldwork::ApplyServerFlags(options);  // the shared flags defined in services/common

  absl::StatusOr<std::unique_ptr<fieldwork::ServiceRuntime>> runtime =
      fieldwork::ServiceRuntime::Create(options);
  if (!runtime.ok()) {
    fieldwork::logging::Error("cannot start", {{"error", runtime.status().ToString()}});
    return 1;
  }
  fieldwork::randomisation::RedisRandomisationStore store((*runtime)->redis());
  fieldwork::randomisation::RandomisationMetrics metrics((*runtime)->registry());
  fieldwork::randomisation::Randomiser randomiser(store, (*runtime)->clock(), metrics.Observer());
  metrics.Seed(randomiser);
  fieldwork::randomisation::RandomisationServiceImpl service(randomiser, (*runtime)->authenticator());
  if (absl::Status status = (*runtime)->Serve({&service}); !status.ok()) {
    fieldwork::logging::Error("cannot serve", {{"error", status.ToString()}});
    return 1;
  }
  return 0;
}
