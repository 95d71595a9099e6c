#include "tests/testing/grpc_harness.h"

#include <curl/curl.h>

#include <stdexcept>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace fieldwork::testing {

InProcessServer::InProcessServer(const std::vector<grpc::Service*>& services)
    : registry_(std::make_shared<prometheus::Registry>()) {
  GrpcServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.shutdown_grace = absl::Seconds(2);
  options.registry = registry_.get();
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(options, services);
  if (!server.ok()) throw std::runtime_error(server.status().ToString());
  server_ = *std::move(server);
}

InProcessServer::~InProcessServer() { server_->Stop(); }

std::string InProcessServer::address() const { return absl::StrCat("127.0.0.1:", port()); }

std::shared_ptr<grpc::Channel> InProcessServer::NewChannel() const {
  return grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
}

absl::StatusOr<std::string> CheckHealth(const std::string& address, absl::Duration timeout) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat("health check of ", address, ": ",
                                               status.error_message()));
  }
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
}

bool WaitForServing(const std::string& address, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    absl::StatusOr<std::string> health = CheckHealth(address, absl::Milliseconds(500));
    if (health.ok() && *health == "SERVING") return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

ServiceProcess::ServiceProcess(const std::string& binary, std::vector<std::string> args,
                               const std::string& grpc_address, const std::string& log_dir,
                               std::map<std::string, std::string> env)
    : address_(grpc_address) {
  std::vector<std::string> argv = {BinaryPath(binary)};
  argv.insert(argv.end(), args.begin(), args.end());
  process_ = std::make_unique<ChildProcess>(argv, std::move(env), log_dir + "/" + binary + ".log");
  if (!WaitForServing(address_)) {
    throw std::runtime_error(absl::StrCat(binary, " did not become healthy at ", address_,
                                          "; its log:\n", process_->ReadLog()));
  }
}

namespace {

size_t AppendToString(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

}  // namespace

absl::StatusOr<std::string> FetchMetrics(int port) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  std::string body;
  const std::string url = absl::StrCat("http://127.0.0.1:", port, "/metrics");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendToString);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  const CURLcode rc = curl_easy_perform(curl);
  long http_status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return absl::UnavailableError(absl::StrCat(url, ": ", curl_easy_strerror(rc)));
  if (http_status != 200) return absl::UnavailableError(absl::StrCat(url, ": HTTP ", http_status));
  return body;
}

}  // namespace fieldwork::testing
