#include "tests/integration/randomisation/randomisation_fixture.h"

#include <grpcpp/create_channel.h>
#include <prometheus/text_serializer.h>

#include "absl/strings/str_cat.h"
#include "tests/testing/process.h"

namespace fieldwork::randomisation {

namespace v1 = ::fieldwork::v1;

namespace {

TokenStore Tokens() {
  const std::string yaml = absl::StrCat(
      "tokens:\n",
      "  - name: admin\n    sha256: ", HashToken(kAdmin), "\n    roles: [admin]\n",
      "  - name: researcher\n    sha256: ", HashToken(kResearcher),
      "\n    roles: [researcher, analyst]\n    trials: [\"*\"]\n",
      "  - name: la1-partner\n    sha256: ", HashToken(kPartnerLa1),
      "\n    roles: [partner]\n    trials: [\"*\"]\n    sites: [LA1]\n");
  return *TokenStore::FromYaml(yaml, "test tokens");
}

}  // namespace

ServiceStack::ServiceStack(const std::string& redis_url)
    : clock_(absl::FromCivil(absl::CivilSecond(2021, 1, 4, 9, 0, 0), absl::UTCTimeZone())) {
  RedisClientOptions options;
  options.url = redis_url;
  options.command_timeout = absl::Seconds(30);
  redis_ = *RedisClient::Create(options);
  store_ = std::make_unique<RedisRandomisationStore>(*redis_);
  authenticator_ = std::make_unique<Authenticator>(Tokens());
  metrics_registry_ = std::make_unique<prometheus::Registry>();
  metrics_ = std::make_unique<RandomisationMetrics>(*metrics_registry_);
  randomiser_ = std::make_unique<Randomiser>(*store_, clock_, metrics_->Observer());
  service_ = std::make_unique<RandomisationServiceImpl>(*randomiser_, *authenticator_);
  server_ = std::make_unique<fieldwork::testing::InProcessServer>(std::vector<grpc::Service*>{service_.get()});
  address_ = server_->address();
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(256 << 20);
  arguments.SetMaxSendMessageSize(256 << 20);
  stub_ = v1::RandomisationService::NewStub(
      grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), arguments));
}

ServiceStack::~ServiceStack() = default;

std::string ServiceStack::MetricsText() const {
  return prometheus::TextSerializer().Serialize(metrics_registry_->Collect());
}

std::string ServiceStack::GrpcMetricsText() const {
  return prometheus::TextSerializer().Serialize(server_->registry().Collect());
}

std::unique_ptr<grpc::ClientContext> ContextWith(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  AttachBearerToken(*context, token);
  return context;
}

void RandomisationTest::SetUp() {
  redis_ = std::make_unique<fieldwork::testing::RedisServer>(
      fieldwork::testing::RedisServerOptions{.durable = true});
  stack_ = std::make_unique<ServiceStack>(redis_->url());
}

grpc::Status RandomisationTest::CreateTrial(const v1::TrialDesign& design, const std::string& token) {
  v1::CreateTrialRequest request;
  *request.mutable_design() = design;
  v1::CreateTrialResponse response;
  return stub().CreateTrial(ContextWith(token).get(), request, &response);
}

grpc::Status RandomisationTest::Lock(const std::string& trial) {
  v1::LockDesignRequest request;
  request.set_trial_id(trial);
  v1::LockDesignResponse response;
  return stub().LockDesign(ContextWith(kResearcher).get(), request, &response);
}

v1::EnrolResponse RandomisationTest::Enrol(const std::string& trial,
                                           const std::vector<v1::Participant>& rows,
                                           const std::string& token, grpc::Status* status,
                                           bool all_or_nothing) {
  v1::EnrolRequest request;
  request.set_trial_id(trial);
  request.set_all_or_nothing(all_or_nothing);
  for (const auto& row : rows) *request.add_participants() = row;
  v1::EnrolResponse response;
  grpc::Status result = stub().Enrol(ContextWith(token).get(), request, &response);
  if (status != nullptr) {
    *status = result;
  } else {
    EXPECT_TRUE(result.ok()) << result.error_message();
  }
  return response;
}

v1::EnrolResponse RandomisationTest::EnrolStream(const std::string& trial,
                                                 const std::vector<v1::Participant>& rows) {
  auto context = ContextWith(kResearcher);
  v1::EnrolResponse response;
  auto writer = stub().EnrolStream(context.get(), &response);
  for (size_t start = 0; start < rows.size(); start += 500) {
    v1::EnrolRequest chunk;
    chunk.set_trial_id(trial);
    for (size_t i = start; i < std::min(rows.size(), start + 500); ++i) *chunk.add_participants() = rows[i];
    EXPECT_TRUE(writer->Write(chunk));
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

v1::RandomiseResponse RandomisationTest::Randomise(const std::string& trial, const std::string& cohort) {
  v1::RandomiseRequest request;
  request.set_trial_id(trial);
  request.set_cohort(cohort);
  v1::RandomiseResponse response;
  grpc::Status status = stub().Randomise(ContextWith(kResearcher).get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

std::vector<v1::Allocation> RandomisationTest::Allocations(const std::string& trial) {
  v1::ListAllocationsRequest request;
  request.set_trial_id(trial);
  auto context = ContextWith(kResearcher);
  auto reader = stub().ListAllocations(context.get(), request);
  std::vector<v1::Allocation> allocations;
  v1::ListAllocationsResponse message;
  while (reader->Read(&message)) allocations.push_back(message.allocation());
  grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  return allocations;
}

v1::VerifyAuditLogResponse RandomisationTest::Verify(const std::string& trial) {
  v1::VerifyAuditLogRequest request;
  request.set_trial_id(trial);
  v1::VerifyAuditLogResponse response;
  grpc::Status status = stub().VerifyAuditLog(ContextWith(kResearcher).get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

int RandomisationTest::CloseAndReplay(const std::string& trial, std::string* output,
                                      const std::vector<std::string>& extra_flags) {
  v1::CloseTrialRequest close;
  close.set_trial_id(trial);
  v1::CloseTrialResponse closed;
  grpc::Status status = stub().CloseTrial(ContextWith(kResearcher).get(), close, &closed);
  EXPECT_TRUE(status.ok()) << status.error_message();
  fieldwork::testing::TempDir dir;
  std::vector<std::string> argv = {fieldwork::testing::BinaryPath("fieldwork-replay"),
                                   "--address=" + stack_->address(), std::string("--token=") + kAdmin,
                                   "--trial=" + trial};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  fieldwork::testing::ChildProcess replay(argv, {}, dir.path() + "/replay.log");
  const std::optional<int> code = replay.WaitForExit(absl::Seconds(120));
  *output = replay.ReadLog();
  return code.value_or(-1);
}

v1::Participant MakeParticipant(const std::string& id, const std::string& site,
                                const std::string& cohort, const std::string& cluster) {
  v1::Participant p;
  p.set_participant_id(id);
  p.set_site(site);
  p.set_cohort(cohort);
  p.set_cluster(cluster);
  return p;
}

int64_t Enrolled(v1::RandomisationService::Stub& stub, const std::string& trial) {
  v1::GetTrialRequest request;
  request.set_trial_id(trial);
  v1::GetTrialResponse response;
  EXPECT_TRUE(stub.GetTrial(ContextWith(kResearcher).get(), request, &response).ok());
  return response.trial().enrolled();
}

void SetNumber(v1::Participant& p, const std::string& name, double value) {
  (*p.mutable_covariates())[name].set_number(value);
}

void SetCategory(v1::Participant& p, const std::string& name, const std::string& value) {
  (*p.mutable_covariates())[name].set_category(value);
}

v1::Factor TwoArms(const std::string& name, v1::RandomisationMethod method, int64_t treatment_weight,
                   int64_t control_weight) {
  v1::Factor factor;
  factor.set_name(name);
  factor.set_method(method);
  auto* treatment = factor.add_arms();
  treatment->set_name("treatment");
  treatment->set_weight(treatment_weight);
  auto* control = factor.add_arms();
  control->set_name("control");
  control->set_weight(control_weight);
  return factor;
}

}  // namespace fieldwork::randomisation
