// What a real service binary serves besides its own API, checked on fieldwork-randomisation:
// health by service name, server reflection v1 and v1alpha able to describe every service it
// lists (the built-in health service included), and the per-token request rate limit.
#include <fstream>

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "fieldwork/v1/randomisation.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "services/common/auth.h"
#include "services/common/grpc_auth.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/ports.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"

namespace fieldwork {
namespace {

namespace refl = ::grpc::reflection::v1;
using ::testing::Contains;
using ::testing::HasSubstr;

constexpr char kResearcher[] = "researcher-token";
constexpr char kAdmin[] = "admin-token";

class ServedApisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string tokens = dir_.path() + "/tokens.yaml";
    std::ofstream(tokens) << absl::StrCat(
        "tokens:\n  - name: researcher\n    sha256: ", HashToken(kResearcher),
        "\n    roles: [researcher]\n    trials: [\"*\"]\n",
        "  - name: admin\n    sha256: ", HashToken(kAdmin), "\n    roles: [admin]\n");
    const std::string address = absl::StrCat("127.0.0.1:", fieldwork::testing::PickFreePort());
    // A rate so slow that the bucket (one request) cannot refill while the test runs.
    service_ = std::make_unique<fieldwork::testing::ServiceProcess>(
        "fieldwork-randomisation",
        std::vector<std::string>{"--listen_address=" + address,
                                 absl::StrCat("--metrics_port=", fieldwork::testing::PickFreePort()),
                                 "--redis_url=" + redis_.url(), "--tokens_file=" + tokens,
                                 "--drain_delay=0s", "--rate_limit_per_token=0.001"},
        address, dir_.path());
    channel_ = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  }

  grpc::Status Health(const std::string& service, grpc::health::v1::HealthCheckResponse* response) {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    return grpc::health::v1::Health::NewStub(channel_)->Check(&context, request, response);
  }

  // One request on a reflection stream of `method` (v1 and v1alpha have the same messages).
  refl::ServerReflectionResponse Reflect(const refl::ServerReflectionRequest& request,
                                         const std::string& method =
                                             "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo") {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReaderWriter<refl::ServerReflectionRequest, refl::ServerReflectionResponse>>
        stream(grpc::internal::ClientReaderWriterFactory<refl::ServerReflectionRequest,
                                                         refl::ServerReflectionResponse>::
                   Create(channel_.get(),
                          grpc::internal::RpcMethod(method.c_str(),
                                                    grpc::internal::RpcMethod::BIDI_STREAMING),
                          &context));
    refl::ServerReflectionResponse response;
    EXPECT_TRUE(stream->Write(request));
    stream->WritesDone();
    EXPECT_TRUE(stream->Read(&response)) << method;
    const grpc::Status status = stream->Finish();
    EXPECT_TRUE(status.ok()) << method << ": " << status.error_message();
    return response;
  }

  // The names of the files in a file_descriptor_response, checking each parses.
  static std::vector<std::string> Files(const refl::ServerReflectionResponse& response) {
    std::vector<std::string> names;
    for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto file;
      EXPECT_TRUE(file.ParseFromString(bytes));
      names.push_back(file.name());
    }
    return names;
  }

  fieldwork::testing::TempDir dir_;
  fieldwork::testing::RedisServer redis_{fieldwork::testing::RedisServerOptions{.durable = true}};
  std::unique_ptr<fieldwork::testing::ServiceProcess> service_;
  std::shared_ptr<grpc::Channel> channel_;
};

// By name used to answer NOT_FOUND: only "" was registered.
TEST_F(ServedApisTest, HealthAnswersByServiceName) {
  grpc::health::v1::HealthCheckResponse response;
  for (const std::string name : {"", "fieldwork.v1.RandomisationService"}) {
    const grpc::Status status = Health(name, &response);
    ASSERT_TRUE(status.ok()) << name << ": " << status.error_message();
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING) << name;
  }
  EXPECT_EQ(Health("fieldwork.v1.NoSuchService", &response).error_code(), grpc::StatusCode::NOT_FOUND);
}

// Only v1alpha was served, and neither could describe grpc.health.v1.Health, which it listed.
TEST_F(ServedApisTest, ReflectionV1AndV1AlphaDescribeEveryListedService) {
  refl::ServerReflectionRequest list;
  list.set_list_services("*");
  const refl::ServerReflectionResponse listed = Reflect(list);
  std::vector<std::string> services;
  for (const auto& service : listed.list_services_response().service()) services.push_back(service.name());
  EXPECT_THAT(services, Contains("fieldwork.v1.RandomisationService"));
  EXPECT_THAT(services, Contains("grpc.health.v1.Health"));
  EXPECT_THAT(services, Contains("grpc.reflection.v1.ServerReflection"));
  EXPECT_THAT(services, Contains("grpc.reflection.v1alpha.ServerReflection"));

  for (const std::string& method : {std::string("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
                                    std::string("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")}) {
    SCOPED_TRACE(method);
    for (const std::string& service : services) {
      refl::ServerReflectionRequest describe;
      describe.set_file_containing_symbol(service);
      const refl::ServerReflectionResponse described = Reflect(describe, method);
      EXPECT_FALSE(described.has_error_response()) << service << ": " << described.error_response().error_message();
      EXPECT_FALSE(Files(described).empty()) << service;
    }
  }

  refl::ServerReflectionRequest api;
  api.set_file_containing_symbol("fieldwork.v1.RandomisationService.EnrolStream");
  const std::vector<std::string> files = Files(Reflect(api));
  EXPECT_THAT(files, Contains("fieldwork/v1/randomisation.proto"));
  EXPECT_THAT(files, Contains("fieldwork/v1/common.proto"));  // and what it imports

  refl::ServerReflectionRequest unknown;
  unknown.set_file_containing_symbol("fieldwork.v1.Nothing");
  const refl::ServerReflectionResponse missing = Reflect(unknown);
  EXPECT_EQ(missing.error_response().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServedApisTest, EachTokenIsRateLimited) {
  auto stub = fieldwork::v1::RandomisationService::NewStub(channel_);
  auto list_trials = [&](const std::string& token) {
    grpc::ClientContext context;
    AttachBearerToken(context, token);
    fieldwork::v1::ListTrialsResponse response;
    return stub->ListTrials(&context, {}, &response);
  };
  ASSERT_TRUE(list_trials(kResearcher).ok());
  const grpc::Status limited = list_trials(kResearcher);
  EXPECT_EQ(limited.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(limited.error_message(), HasSubstr("rate limit: researcher may make 0.001 request(s) a second"));
  EXPECT_TRUE(list_trials(kAdmin).ok()) << "another token has its own bucket";
  // Unauthenticated calls and health checks are not counted against anyone.
  grpc::health::v1::HealthCheckResponse health;
  EXPECT_TRUE(Health("", &health).ok());
}

}  // namespace
}  // namespace fieldwork
