// fieldwork-test-server: the shared service bootstrap around the test-only TestService. Tests
// run it as a separate process to check health, orderly shutdown, metrics and auth exactly as
// the real service binaries do them.
//
// Usage: fieldwork-test-server --listen_address=127.0.0.1:PORT --metrics_port=PORT
//            [--tokens_file=FILE | --insecure_no_auth] [--drain_delay=1s] [--shutdown_grace=5s]
//            [--max_connection_age=5m] [--tls_cert_file=F --tls_key_file=F]
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "services/common/flags.h"
#include "services/common/grpc_server.h"
#include "services/common/logging.h"
#include "services/common/metrics.h"
#include "tests/testing/test_service.h"

ABSL_FLAG(std::string, listen_address, "127.0.0.1:0", "gRPC listen address");
ABSL_FLAG(int, metrics_port, 0, "Port of the /metrics endpoint");
ABSL_FLAG(std::string, tokens_file, "", "YAML file of hashed bearer tokens");
ABSL_FLAG(bool, insecure_no_auth, false, "Switch authentication off");
ABSL_FLAG(absl::Duration, drain_delay, absl::ZeroDuration(), "NOT_SERVING time before closing");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(5), "Grace for in-flight calls");
ABSL_FLAG(absl::Duration, max_connection_age, absl::ZeroDuration(),
          "Ask clients to reconnect after this long (0: never)");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM certificate");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key");

int main(int argc, char** argv) {
  fieldwork::BlockTerminationSignals();
  fieldwork::ParseFlagsWithEnvironment(argc, argv);
  fieldwork::logging::Init("test-server");

  fieldwork::MetricsOptions metrics_options;
  metrics_options.bind_address = "127.0.0.1";
  metrics_options.port = absl::GetFlag(FLAGS_metrics_port);
  metrics_options.service_name = "test-server";
  absl::StatusOr<std::unique_ptr<fieldwork::MetricsServer>> metrics =
      fieldwork::MetricsServer::Start(metrics_options);
  if (!metrics.ok()) {
    fieldwork::logging::Error("cannot start metrics", {{"error", metrics.status().ToString()}});
    return 1;
  }

  std::unique_ptr<fieldwork::Authenticator> authenticator;
  if (absl::GetFlag(FLAGS_insecure_no_auth)) {
    authenticator = std::make_unique<fieldwork::Authenticator>(fieldwork::Authenticator::Insecure());
  } else {
    absl::StatusOr<fieldwork::TokenStore> tokens =
        fieldwork::TokenStore::LoadFile(absl::GetFlag(FLAGS_tokens_file));
    if (!tokens.ok()) {
      fieldwork::logging::Error("cannot load tokens", {{"error", tokens.status().ToString()}});
      return 1;
    }
    authenticator = std::make_unique<fieldwork::Authenticator>(*std::move(tokens));
  }

  fieldwork::testing::TestServiceImpl service(*authenticator);
  fieldwork::GrpcServerOptions server_options;
  server_options.listen_address = absl::GetFlag(FLAGS_listen_address);
  server_options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  server_options.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  server_options.drain_delay = absl::GetFlag(FLAGS_drain_delay);
  server_options.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  server_options.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  server_options.registry = &(*metrics)->registry();
  absl::StatusOr<std::unique_ptr<fieldwork::GrpcServer>> server =
      fieldwork::GrpcServer::Start(server_options, {&service});
  if (!server.ok()) {
    fieldwork::logging::Error("cannot start gRPC", {{"error", server.status().ToString()}});
    return 1;
  }
  fieldwork::WaitForTerminationSignal();
  (*server)->Stop();
  return 0;
}
