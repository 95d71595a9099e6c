// Builds and runs a gRPC server the same way for every service: TLS when configured, the
// standard health service (by server and by service name) and reflection (v1 and v1alpha),
// the metrics interceptor, and an orderly stop.
#ifndef FIELDWORK_SERVICES_COMMON_GRPC_SERVER_H_
#define FIELDWORK_SERVICES_COMMON_GRPC_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/server.h>
#include <grpcpp/impl/codegen/service_type.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/reflection_v1.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace fieldwork {

struct GrpcServerOptions {
  // host:port; port 0 picks a free port (read it back with GrpcServer::port()).
  std::string listen_address = "0.0.0.0:0";
  // PEM files; both or neither. Without them the server speaks plaintext.
  std::string tls_cert_file;
  std::string tls_key_file;
  // On Stop(): how long health answers NOT_SERVING while the listener still accepts calls,
  // so that load balancers and Kubernetes take the pod out of rotation first.
  absl::Duration drain_delay = absl::ZeroDuration();
  // On Stop(): how long in-flight calls may run before they are cancelled.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // After this long a connection is sent GOAWAY (its calls in flight run on): the client
  // reconnects, resolving the server's name again. Zero: connections live as long as they can.
  absl::Duration max_connection_age = absl::ZeroDuration();
  // The largest request message accepted (gRPC's default is 4 MiB; a CSV import needs more).
  int max_receive_message_bytes = 16 << 20;
  // Where the interceptor records the gRPC metrics; may be null (no metrics).
  prometheus::Registry* registry = nullptr;
};

class GrpcServer {
 public:
  // Registers `services` (owned by the caller, who keeps them alive until after Stop()),
  // binds and starts serving with health SERVING. UNAVAILABLE when the port cannot be bound;
  // INVALID_ARGUMENT for unreadable TLS files.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const GrpcServerOptions& options, const std::vector<grpc::Service*>& services);
  ~GrpcServer();

  int port() const { return port_; }
  grpc::Server& server() { return *server_; }

  // Sets the health of the server and of every registered service.
  void SetServing(bool serving);

  // The orderly stop: health NOT_SERVING, wait drain_delay, stop accepting, give in-flight
  // calls until shutdown_grace, then return. Idempotent.
  void Stop();

 private:
  GrpcServer() = default;
  GrpcServerOptions options_;
  ReflectionV1Service reflection_v1_;  // outlives server_
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool stopped_ = false;
};

// Blocks SIGTERM and SIGINT in the calling thread. Call first thing in main(), before any
// thread starts, so every thread inherits the mask and WaitForTerminationSignal() receives
// the signal.
void BlockTerminationSignals();

// Blocks until SIGTERM or SIGINT arrives; returns the signal number.
int WaitForTerminationSignal();

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_GRPC_SERVER_H_
