// The shared gRPC bootstrap, run the way the services run: health, orderly stop on SIGTERM,
// /metrics checked by promtool, bearer-token auth, TLS and configuration from the environment.
#include "services/common/grpc_server.h"

#include <signal.h>

#include <fstream>
#include <future>

#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <prometheus/text_serializer.h>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "absl/time/clock.h"
#include "services/common/auth.h"
#include "services/common/grpc_auth.h"
#include "services/common/grpc_client.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/ports.h"
#include "tests/testing/process.h"
#include "tests/testing/test_service.h"

namespace fieldwork {
namespace {

using ::fieldwork::testing::ChildProcess;
using ::fieldwork::testing::PickFreePort;
using ::fieldwork::testing::ServiceProcess;
using ::fieldwork::testing::TempDir;
using ::testing::HasSubstr;

std::string Address(int port) { return absl::StrCat("127.0.0.1:", port); }

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path);
  out << content;
}

std::string WriteTokens(const TempDir& dir) {
  const std::string path = dir.path() + "/tokens.yaml";
  WriteFile(path, absl::StrCat("tokens:\n",
                               "  - name: admin\n    sha256: ", HashToken("admin-token"),
                               "\n    roles: [admin]\n",
                               "  - name: la1-partner\n    sha256: ", HashToken("partner-token"),
                               "\n    roles: [partner]\n    trials: [beneficiaries]\n"
                               "    sites: [LA1]\n"));
  return path;
}

grpc::Status Whoami(const std::string& address, const std::string& token,
                    const std::string& trial, std::string* principal = nullptr) {
  auto stub = fieldwork::testing::TestService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  AttachBearerToken(context, token);
  fieldwork::testing::WhoamiRequest request;
  request.set_trial(trial);
  request.set_site("LA1");
  fieldwork::testing::WhoamiResponse response;
  grpc::Status status = stub->Whoami(&context, request, &response);
  if (principal != nullptr) *principal = response.principal();
  return status;
}

grpc::Status Sleep(const std::string& address, int64_t milliseconds) {
  auto stub = fieldwork::testing::TestService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  fieldwork::testing::SleepRequest request;
  request.set_milliseconds(milliseconds);
  fieldwork::testing::SleepResponse response;
  return stub->Sleep(&context, request, &response);
}

TEST(GrpcServerTest, InProcessServerOnPortZeroRecordsCallMetrics) {
  Authenticator authenticator = Authenticator::Insecure();
  fieldwork::testing::TestServiceImpl service(authenticator);
  fieldwork::testing::InProcessServer server({&service});
  EXPECT_GT(server.port(), 0);
  EXPECT_EQ(*fieldwork::testing::CheckHealth(server.address()), "SERVING");
  ASSERT_TRUE(Sleep(server.address(), 1).ok());
  EXPECT_EQ(Whoami(server.address(), "", "t").error_code(), grpc::StatusCode::OK);
  const std::string text = prometheus::TextSerializer().Serialize(server.registry().Collect());
  EXPECT_THAT(text, HasSubstr("grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Sleep\","
                              "grpc_service=\"fieldwork.testing.TestService\",grpc_type=\"unary\"} 1"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handling_seconds_count{grpc_method=\"Sleep\""));
}

// A port another server listens on is refused at start, not shared with it (gRPC's default
// SO_REUSEPORT would let both listen and split the connections between them).
TEST(GrpcServerTest, APortAnotherServerListensOnIsRefusedNotShared) {
  Authenticator authenticator = Authenticator::Insecure();
  fieldwork::testing::TestServiceImpl first_service(authenticator);
  fieldwork::testing::InProcessServer first({&first_service});
  fieldwork::testing::TestServiceImpl second_service(authenticator);
  GrpcServerOptions options;
  options.listen_address = first.address();
  absl::StatusOr<std::unique_ptr<GrpcServer>> second =
      GrpcServer::Start(options, {&second_service});
  ASSERT_FALSE(second.ok()) << "a second server listens on " << first.address();
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr("cannot listen for gRPC on " + first.address()));
}

// Kubernetes and grpc_health_probe may ask for a service by its full name; that answered
// NOT_FOUND before (only "" was registered).
TEST(GrpcServerTest, HealthAnswersForEachServiceByItsFullName) {
  Authenticator authenticator = Authenticator::Insecure();
  fieldwork::testing::TestServiceImpl service(authenticator);
  fieldwork::testing::InProcessServer server({&service});
  auto health = grpc::health::v1::Health::NewStub(server.NewChannel());
  auto check = [&](const std::string& name, grpc::health::v1::HealthCheckResponse* response) {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(name);
    return health->Check(&context, request, response);
  };
  grpc::health::v1::HealthCheckResponse response;
  for (const std::string name : {"", "fieldwork.testing.TestService"}) {
    const grpc::Status status = check(name, &response);
    ASSERT_TRUE(status.ok()) << name << ": " << status.error_message();
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING) << name;
  }
  EXPECT_EQ(check("fieldwork.testing.NoSuchService", &response).error_code(), grpc::StatusCode::NOT_FOUND);
}

class ServerProcessTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra_args = {}) {
    grpc_port_ = PickFreePort();
    metrics_port_ = PickFreePort();
    std::vector<std::string> args = {absl::StrCat("--listen_address=", Address(grpc_port_)),
                                     absl::StrCat("--metrics_port=", metrics_port_),
                                     "--tokens_file=" + WriteTokens(dir_)};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    server_ = std::make_unique<ServiceProcess>("fieldwork-test-server", args,
                                               Address(grpc_port_), dir_.path());
  }
  std::string address() const { return Address(grpc_port_); }

  TempDir dir_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  std::unique_ptr<ServiceProcess> server_;
};

TEST_F(ServerProcessTest, MetricsPagePassesPromtool) {
  Start();
  ASSERT_TRUE(Sleep(address(), 1).ok());
  ASSERT_EQ(Whoami(address(), "", "beneficiaries").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  absl::StatusOr<std::string> page = fieldwork::testing::FetchMetrics(metrics_port_);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(*page, HasSubstr("fieldwork_build_info{"));
  EXPECT_THAT(*page, HasSubstr("grpc_code=\"UNAUTHENTICATED\""));
  const std::string path = dir_.path() + "/metrics.txt";
  WriteFile(path, *page);
  ChildProcess promtool({"sh", "-c", "promtool check metrics < " + path},
                        {}, dir_.path() + "/promtool.log");
  const std::optional<int> exit_code = promtool.WaitForExit(absl::Seconds(60));
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_EQ(*exit_code, 0) << "promtool check metrics:\n" << promtool.ReadLog() << "\npage:\n" << *page;
}

TEST_F(ServerProcessTest, BearerTokensAreCheckedAndScoped) {
  Start();
  EXPECT_EQ(Whoami(address(), "", "beneficiaries").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Whoami(address(), "forged", "beneficiaries").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  std::string principal;
  EXPECT_TRUE(Whoami(address(), "partner-token", "beneficiaries", &principal).ok());
  EXPECT_EQ(principal, "la1-partner");
  const grpc::Status other_trial = Whoami(address(), "partner-token", "swing");
  EXPECT_EQ(other_trial.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(other_trial.error_message(), HasSubstr("swing"));
  EXPECT_TRUE(Whoami(address(), "admin-token", "swing", &principal).ok());
  EXPECT_EQ(principal, "admin");
}

// Behind a headless Kubernetes Service callers use dns:///name:port with round_robin; only a
// connection that ends makes gRPC look the name up again, so the servers end old ones.
TEST_F(ServerProcessTest, OldConnectionsAreAskedToReconnectWhileTheirCallsFinish) {
  Start({"--max_connection_age=300ms"});
  std::shared_ptr<grpc::Channel> channel =
      UpstreamChannel(absl::StrCat("dns:///", address()), grpc::InsecureChannelCredentials());
  auto stub = fieldwork::testing::TestService::NewStub(channel);
  auto sleep = [&](int64_t milliseconds) {
    grpc::ClientContext context;
    AttachBearerToken(context, "admin-token");
    fieldwork::testing::SleepRequest request;
    request.set_milliseconds(milliseconds);
    fieldwork::testing::SleepResponse response;
    return stub->Sleep(&context, request, &response);
  };
  // A call that outlives the connection's age still finishes on it.
  const grpc::Status long_call = sleep(1500);
  EXPECT_TRUE(long_call.ok()) << long_call.error_message();
  // The connection is ended (GOAWAY): the channel leaves READY, and the next call reconnects.
  if (channel->GetState(false) == GRPC_CHANNEL_READY) {
    EXPECT_TRUE(channel->WaitForStateChange(
        GRPC_CHANNEL_READY, std::chrono::system_clock::now() + std::chrono::seconds(30)))
        << "the connection was never ended";
  }
  const grpc::Status next_call = sleep(1);
  EXPECT_TRUE(next_call.ok()) << next_call.error_message();
}

TEST_F(ServerProcessTest, SigtermDrainsThenStopsAndExitsZero) {
  Start({"--drain_delay=1500ms", "--shutdown_grace=5s"});
  ASSERT_EQ(*fieldwork::testing::CheckHealth(address()), "SERVING");
  // A call in flight when the signal arrives must complete.
  std::future<grpc::Status> in_flight =
      std::async(std::launch::async, [&] { return Sleep(address(), 1000); });
  absl::SleepFor(absl::Milliseconds(200));
  server_->process().Signal(SIGTERM);

  // Health turns NOT_SERVING while the listener still answers.
  bool saw_not_serving = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline && !saw_not_serving) {
    absl::StatusOr<std::string> health =
        fieldwork::testing::CheckHealth(address(), absl::Milliseconds(500));
    saw_not_serving = health.ok() && *health == "NOT_SERVING";
    if (!health.ok()) break;  // the listener closed before we saw NOT_SERVING
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(saw_not_serving);
  EXPECT_TRUE(in_flight.get().ok());
  const std::optional<int> exit_code = server_->process().WaitForExit(absl::Seconds(15));
  ASSERT_TRUE(exit_code.has_value()) << "the server did not exit within its grace period";
  EXPECT_EQ(*exit_code, 0) << server_->process().ReadLog();
  // And after exit nothing listens.
  EXPECT_FALSE(fieldwork::testing::CheckHealth(address(), absl::Milliseconds(300)).ok());
}

TEST_F(ServerProcessTest, LogsAreOneJsonObjectPerLine) {
  Start();
  server_->process().Signal(SIGTERM);
  ASSERT_TRUE(server_->process().WaitForExit(absl::Seconds(15)).has_value());
  std::istringstream log(server_->process().ReadLog());
  int lines = 0;
  for (std::string line; std::getline(log, line);) {
    if (line.empty()) continue;
    ++lines;
    EXPECT_NO_THROW({
      const nlohmann::json parsed = nlohmann::json::parse(line);
      EXPECT_TRUE(parsed.contains("severity"));
      EXPECT_EQ(parsed["service"], "test-server");
    }) << line;
  }
  EXPECT_GE(lines, 2);
}

TEST(ServerEnvironmentTest, EnvironmentConfiguresTheBinaryAndTheCommandLineWins) {
  TempDir dir;
  const int env_port = PickFreePort();
  const int flag_port = PickFreePort();
  {
    ServiceProcess server("fieldwork-test-server", {"--insecure_no_auth"}, Address(env_port),
                          dir.path(),
                          {{"FIELDWORK_LISTEN_ADDRESS", Address(env_port)},
                           {"FIELDWORK_METRICS_PORT", std::to_string(PickFreePort())}});
    EXPECT_EQ(*fieldwork::testing::CheckHealth(Address(env_port)), "SERVING");
    // --insecure_no_auth makes every caller an admin, and says so in the log.
    EXPECT_TRUE(Whoami(Address(env_port), "", "any").ok());
    EXPECT_THAT(server.process().ReadLog(), HasSubstr("authentication is OFF"));
  }
  ServiceProcess server("fieldwork-test-server",
                        {"--insecure_no_auth", "--listen_address=" + Address(flag_port)},
                        Address(flag_port), dir.path(),
                        {{"FIELDWORK_LISTEN_ADDRESS", Address(env_port)},
                         {"FIELDWORK_METRICS_PORT", std::to_string(PickFreePort())}});
  EXPECT_EQ(*fieldwork::testing::CheckHealth(Address(flag_port)), "SERVING");
  EXPECT_FALSE(fieldwork::testing::CheckHealth(Address(env_port), absl::Milliseconds(300)).ok());
}

TEST(ServerTlsTest, ServesTlsWithConfiguredCertificate) {
  TempDir dir;
  const std::string cert = dir.path() + "/cert.pem";
  const std::string key = dir.path() + "/key.pem";
  ChildProcess openssl({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                        "-keyout", key, "-out", cert},
                       {}, dir.path() + "/openssl.log");
  ASSERT_EQ(openssl.WaitForExit(absl::Seconds(60)), 0) << openssl.ReadLog();
  const int port = PickFreePort();
  ChildProcess server({fieldwork::testing::BinaryPath("fieldwork-test-server"),
                       "--listen_address=" + Address(port), "--metrics_port=0",
                       "--insecure_no_auth", "--tls_cert_file=" + cert, "--tls_key_file=" + key},
                      {}, dir.path() + "/server.log");

  // The credentials a service uses to call another one, verified against the given CA file.
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      UpstreamCredentials(/*tls=*/false, cert, "--upstream_ca_file");
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  grpc::ChannelArguments arguments;
  arguments.SetSslTargetNameOverride("localhost");
  // Retry quickly while the server starts, instead of gRPC's default back-off of seconds.
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  auto channel = grpc::CreateCustomChannel(Address(port), *credentials, arguments);
  // Connect only once the server says it listens, then wait for the channel to be ready.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (server.ReadLog().find("gRPC server listening") == std::string::npos &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  auto stub = fieldwork::testing::TestService::NewStub(channel);
  grpc::ClientContext context;
  context.set_wait_for_ready(true);
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(15)));
  fieldwork::testing::SleepRequest request;
  fieldwork::testing::SleepResponse response;
  const grpc::Status status = stub->Sleep(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message() << "\n" << server.ReadLog();
  // A plaintext client cannot talk to the TLS port.
  EXPECT_FALSE(fieldwork::testing::CheckHealth(Address(port), absl::Milliseconds(500)).ok());
}

TEST(ServerTlsTest, UnreadableUpstreamCaFileIsAClearError) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      UpstreamCredentials(/*tls=*/true, "/nonexistent/ca.pem", "--upstream_ca_file");
  EXPECT_EQ(credentials.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(credentials.status().message(), HasSubstr("--upstream_ca_file"));
  EXPECT_THAT(credentials.status().message(), HasSubstr("/nonexistent/ca.pem"));
}

TEST(ServerTlsTest, MissingKeyFileIsAClearError) {
  GrpcServerOptions options;
  options.tls_cert_file = "/nonexistent/cert.pem";
  options.tls_key_file = "/nonexistent/key.pem";
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(options, {});
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("/nonexistent/cert.pem"));
  options.tls_key_file = "";
  EXPECT_THAT(GrpcServer::Start(options, {}).status().message(), HasSubstr("both"));
}

}  // namespace
}  // namespace fieldwork
