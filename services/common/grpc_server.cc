#include "services/common/grpc_server.h"

#include <algorithm>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/impl/server_initializer.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "grpc/health/v1/health.pb.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/grpc_metrics_interceptor.h"
#include "services/common/logging.h"

namespace fieldwork {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", what, " file ", path));
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials(
    const GrpcServerOptions& options) {
  if (options.tls_cert_file.empty() && options.tls_key_file.empty()) {
    return grpc::InsecureServerCredentials();
  }
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate file and a key file");
  }
  absl::StatusOr<std::string> cert = ReadFile(options.tls_cert_file, "TLS certificate");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile(options.tls_key_file, "TLS key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(ssl);
}

// grpc::Service does not say its name; the server learns it from the methods when the service
// is registered. This plugin, added to one builder, copies the names once the server started.
class ServiceNamesPlugin : public grpc::ServerBuilderPlugin {
 public:
  explicit ServiceNamesPlugin(std::vector<std::string>* names) : names_(names) {}
  std::string name() override { return "fieldwork_service_names"; }
  void InitServer(grpc::ServerInitializer* /*si*/) override {}
  void Finish(grpc::ServerInitializer* si) override { *names_ = *si->GetServiceList(); }
  void ChangeArguments(const std::string& /*name*/, void* /*value*/) override {}

 private:
  std::vector<std::string>* names_;
};

class ServiceNamesOption : public grpc::ServerBuilderOption {
 public:
  explicit ServiceNamesOption(std::vector<std::string>* names) : names_(names) {}
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->push_back(std::make_unique<ServiceNamesPlugin>(names_));
  }

 private:
  std::vector<std::string>* names_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const GrpcServerOptions& options, const std::vector<grpc::Service*>& services) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = MakeCredentials(options);
  if (!credentials.ok()) return credentials.status();

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  // The default health service is built without generated protobuf code, so reflection would
  // list grpc.health.v1.Health but could not describe it: touching the generated messages links
  // health.proto's descriptors into the pool reflection reads.
  grpc::health::v1::HealthCheckRequest::descriptor();

  std::unique_ptr<GrpcServer> server(new GrpcServer);
  server->options_ = options;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address, *credentials, &server->port_);
  // gRPC sets SO_REUSEPORT by default, so a second server on a port already in use would bind
  // it too and the kernel would split the connections between the two: an old process still
  // running, or another stack on the same machine, would silently answer half the calls.
  // Without it the second bind fails, and the service says so at start.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  if (options.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               static_cast<int>(absl::ToInt64Milliseconds(std::min(
                                   options.max_connection_age, absl::Hours(24 * 24)))));
  }
  for (grpc::Service* service : services) builder.RegisterService(service);
  builder.RegisterService(&server->reflection_v1_);
  std::vector<std::string> service_names;
  builder.SetOption(std::make_unique<ServiceNamesOption>(&service_names));
  if (options.registry != nullptr) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
    factories.push_back(MakeMetricsInterceptorFactory(*options.registry));
    builder.experimental().SetInterceptorCreators(std::move(factories));
  }
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for gRPC on ", options.listen_address));
  }
  // Health answers for the whole server ("") and for each service by its full name
  // ("fieldwork.v1.RandomisationService"), as Kubernetes gRPC probes may ask either.
  if (grpc::HealthCheckServiceInterface* health = server->server_->GetHealthCheckService()) {
    for (const std::string& name : service_names) health->SetServingStatus(name, true);
  }
  server->reflection_v1_.SetServiceNames(service_names);
  server->SetServing(true);
  logging::Info("gRPC server listening", {{"address", options.listen_address},
                                          {"port", server->port_},
                                          {"tls", !options.tls_cert_file.empty()}});
  return server;
}

GrpcServer::~GrpcServer() { Stop(); }

void GrpcServer::SetServing(bool serving) {
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(serving);
  }
}

void GrpcServer::Stop() {
  // A server that never started (its port could not be bound) has nothing to stop.
  if (stopped_ || server_ == nullptr) return;
  stopped_ = true;
  SetServing(false);
  logging::Info("stopping: health is NOT_SERVING",
                {{"drain_seconds", absl::ToDoubleSeconds(options_.drain_delay)},
                 {"grace_seconds", absl::ToDoubleSeconds(options_.shutdown_grace)}});
  absl::SleepFor(options_.drain_delay);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + options_.shutdown_grace));
  server_->Wait();
  logging::Info("gRPC server stopped");
}

void BlockTerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int WaitForTerminationSignal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int received = 0;
  while (sigwait(&signals, &received) != 0) {
  }
  logging::Info("termination signal received", {{"signal", received}});
  return received;
}

}  // namespace fieldwork
