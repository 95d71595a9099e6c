#include "tests/integration/survey_ingest/ingest_fixture.h"

#include <grpcpp/create_channel.h>
#include <prometheus/text_serializer.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace fieldwork::survey_ingest {

namespace v1 = ::fieldwork::v1;

const char kWellbeingYaml[] = R"yaml(
id: wb
version: 1
title: Test well-being
items:
  - {id: wb_1, label: Satisfied, type: likert, min: 0, max: 10, required: true, qualtrics_import_id: QID1}
  - {id: wb_2, label: Worthwhile, type: likert, min: 0, max: 10, required: true, qualtrics_import_id: QID2}
  - {id: wb_3, label: Anxious, type: likert, min: 0, max: 10, required: true, qualtrics_import_id: QID3}
  - {id: sick_days, label: Days off sick, type: numeric, min: 0, max: 365, qualtrics_import_id: QID4}
scales:
  - id: wellbeing
    label: Well-being
    items: [wb_1, wb_2, wb_3]
    reverse: [wb_3]
    method: mean
    min_answered: 2
composites:
  - id: z_wellbeing
    label: Standardised well-being
    components:
      - {scale: wellbeing, weight: 1}
)yaml";

std::string TestTokensYaml() {
  return absl::StrCat("tokens:\n", "  - name: researcher\n    sha256: ", HashToken(kResearcher),
                      "\n    roles: [researcher, analyst]\n    trials: [\"*\"]\n",
                      "  - name: analyst\n    sha256: ", HashToken(kAnalyst),
                      "\n    roles: [analyst]\n    trials: [\"*\"]\n",
                      "  - name: la1-partner\n    sha256: ", HashToken(kPartnerLa1),
                      "\n    roles: [partner]\n    trials: [\"*\"]\n    sites: [LA1]\n",
                      "  - name: bad-input-la1-partner\n    sha256: ", HashToken(kOneTrialPartner),
                      "\n    roles: [partner]\n    trials: [bad-input]\n    sites: [LA1]\n",
                      "  - name: survey-ingest\n    sha256: ", HashToken(kIngestService),
                      "\n    roles: [analyst]\n    trials: [\"*\"]\n",
                      "  - name: the-admin\n    sha256: ", HashToken(kAdmin),
                      "\n    roles: [admin]\n    trials: [\"*\"]\n");
}

TokenStore TestTokens() { return *TokenStore::FromYaml(TestTokensYaml(), "test tokens"); }

namespace {

std::unique_ptr<RedisClient> NewRedis(const std::string& url) {
  RedisClientOptions options;
  options.url = url;
  options.command_timeout = absl::Seconds(30);
  return *RedisClient::Create(options);
}

grpc::ChannelArguments BigMessages() {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(256 << 20);
  arguments.SetMaxSendMessageSize(256 << 20);
  return arguments;
}

}  // namespace

RandomisationStack::RandomisationStack(const std::string& redis_url)
    : clock_(absl::FromCivil(absl::CivilSecond(2021, 1, 4, 9, 0, 0), absl::UTCTimeZone())) {
  redis_ = NewRedis(redis_url);
  store_ = std::make_unique<randomisation::RedisRandomisationStore>(*redis_);
  authenticator_ = std::make_unique<Authenticator>(TestTokens());
  registry_ = std::make_unique<prometheus::Registry>();
  metrics_ = std::make_unique<randomisation::RandomisationMetrics>(*registry_);
  randomiser_ = std::make_unique<randomisation::Randomiser>(*store_, clock_, metrics_->Observer());
  service_ =
      std::make_unique<randomisation::RandomisationServiceImpl>(*randomiser_, *authenticator_);
  server_ = std::make_unique<fieldwork::testing::InProcessServer>(
      std::vector<grpc::Service*>{service_.get()});
  address_ = server_->address();
  stub_ = v1::RandomisationService::NewStub(
      grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
}

RandomisationStack::~RandomisationStack() = default;

OwnIngestor::OwnIngestor(IngestStore& store, const std::string& randomisation_address)
    : clock_(absl::FromCivil(absl::CivilSecond(2021, 3, 20, 12, 0, 0), absl::UTCTimeZone())),
      roster_(grpc::CreateChannel(randomisation_address, grpc::InsecureChannelCredentials()),
              kIngestService),
      ingestor_(store, roster_, clock_) {}

IngestStack::IngestStack(const std::string& redis_url, const std::string& randomisation_address,
                         absl::Time now)
    : clock_(now) {
  redis_ = NewRedis(redis_url);
  grpc_roster_ = std::make_unique<GrpcRoster>(
      grpc::CreateChannel(randomisation_address, grpc::InsecureChannelCredentials()),
      kIngestService);
  roster_ = std::make_unique<CachedRoster>(*grpc_roster_);
  store_ = std::make_unique<RedisIngestStore>(*redis_);
  authenticator_ = std::make_unique<Authenticator>(TestTokens());
  registry_ = std::make_unique<prometheus::Registry>();
  metrics_ = std::make_unique<IngestMetrics>(*registry_);
  ingestor_ = std::make_unique<Ingestor>(*store_, *roster_, clock_, metrics_->Observer());
  metrics_->Seed(*ingestor_, *store_);
  service_ = std::make_unique<SurveyIngestServiceImpl>(*ingestor_, *authenticator_);
  server_ = std::make_unique<fieldwork::testing::InProcessServer>(
      std::vector<grpc::Service*>{service_.get()});
  stub_ = v1::SurveyIngestService::NewStub(grpc::CreateCustomChannel(
      server_->address(), grpc::InsecureChannelCredentials(), BigMessages()));
}

IngestStack::~IngestStack() = default;

std::string IngestStack::MetricsText() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

std::unique_ptr<grpc::ClientContext> ContextWith(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  AttachBearerToken(*context, token);
  return context;
}

google::protobuf::Timestamp At(int year, int month, int day, int hour, int minute) {
  google::protobuf::Timestamp t;
  t.set_seconds(absl::ToUnixSeconds(
      absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, 0), absl::UTCTimeZone())));
  return t;
}

fieldwork::v1::Submission WellbeingSubmission(const std::string& trial,
                                              const std::string& participant,
                                              const std::string& submission_id) {
  fieldwork::v1::Submission s;
  s.set_trial_id(trial);
  s.set_wave_id("baseline");
  s.set_participant_id(participant);
  s.set_submission_id(submission_id);
  (*s.mutable_answers())["wb_1"] = "7";
  (*s.mutable_answers())["wb_2"] = "8";
  (*s.mutable_answers())["wb_3"] = "2";
  *s.mutable_submitted_at() = At(2021, 3, 10);
  s.set_finished(true);
  return s;
}

void IngestTest::SetUp() {
  redis_ = std::make_unique<fieldwork::testing::RedisServer>(
      fieldwork::testing::RedisServerOptions{.durable = true});
  randomisation_ = std::make_unique<RandomisationStack>(redis_->url());
  RestartIngest();
}

void IngestTest::RestartIngest() {
  ingest_.reset();
  ingest_ = std::make_unique<IngestStack>(
      redis_->url(), randomisation_->address(),
      absl::FromCivil(absl::CivilSecond(2021, 3, 20, 9, 0, 0), absl::UTCTimeZone()));
}

void IngestTest::CreateTrial(const std::string& trial) {
  v1::CreateTrialRequest request;
  v1::TrialDesign& design = *request.mutable_design();
  design.set_trial_id(trial);
  design.add_sites()->set_id("LA1");
  design.add_sites()->set_id("LA2");
  v1::Factor& factor = *design.add_factors();
  factor.set_name("intervention");
  factor.set_method(v1::RANDOMISATION_METHOD_COMPLETE);
  for (const char* arm : {"treatment", "control"}) {
    v1::Arm& a = *factor.add_arms();
    a.set_name(arm);
    a.set_weight(1);
  }
  v1::CreateTrialResponse response;
  const grpc::Status status =
      randomisation().CreateTrial(ContextWith(kResearcher).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
}

void IngestTest::Enrol(const std::string& trial,
                       const std::vector<std::pair<std::string, std::string>>& id_and_site) {
  v1::EnrolRequest request;
  request.set_trial_id(trial);
  for (const auto& [id, site] : id_and_site) {
    v1::Participant& p = *request.add_participants();
    p.set_participant_id(id);
    p.set_site(site);
  }
  v1::EnrolResponse response;
  const grpc::Status status =
      randomisation().Enrol(ContextWith(kResearcher).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.errors_size(), 0) << response.errors(0).reason();
}

void IngestTest::Withdraw(const std::string& trial, const std::string& participant) {
  v1::WithdrawRequest request;
  request.set_trial_id(trial);
  request.set_participant_id(participant);
  request.set_reason("asked to leave the study");
  request.mutable_date()->set_year(2021);
  request.mutable_date()->set_month(3);
  request.mutable_date()->set_day(2);
  v1::WithdrawResponse response;
  const grpc::Status status =
      randomisation().Withdraw(ContextWith(kResearcher).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
}

void IngestTest::PutInstrument(const std::string& trial, const std::string& yaml) {
  v1::PutInstrumentRequest request;
  request.set_trial_id(trial);
  request.mutable_instrument()->set_definition_yaml(yaml);
  v1::PutInstrumentResponse response;
  const grpc::Status status =
      ingest().PutInstrument(ContextWith(kResearcher).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
}

void IngestTest::PutWave(const std::string& trial, const std::string& wave,
                         const std::string& instrument, bool allow_late, v1::ResponseRule rule) {
  v1::PutWaveRequest request;
  v1::Wave& w = *request.mutable_wave();
  w.set_trial_id(trial);
  w.set_wave_id(wave);
  w.set_instrument_id(instrument);
  w.set_instrument_version(1);
  *w.mutable_opens_at() = At(2021, 3, 1, 0);
  *w.mutable_closes_at() = At(2021, 3, 31, 0);
  w.set_allow_late(allow_late);
  w.set_rule(rule);
  v1::PutWaveResponse response;
  const grpc::Status status = ingest().PutWave(ContextWith(kResearcher).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
}

std::vector<v1::Response> IngestTest::ListResponses(const std::string& trial,
                                                    const std::string& wave,
                                                    bool include_not_counted) {
  v1::ListResponsesRequest request;
  request.set_trial_id(trial);
  request.set_wave_id(wave);
  request.set_include_not_counted(include_not_counted);
  auto context = ContextWith(kAnalyst);
  auto reader = ingest().ListResponses(context.get(), request);
  std::vector<v1::Response> out;
  v1::ListResponsesResponse message;
  while (reader->Read(&message)) out.push_back(message.response());
  const grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  return out;
}

bool IngestTest::WaitUntilListed(const std::string& trial, const std::string& wave, size_t n) {
  const absl::Time give_up = absl::Now() + absl::Minutes(2);
  while (ListResponses(trial, wave).size() < n) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

std::vector<v1::Reject> IngestTest::ListRejects(const std::string& trial, const std::string& token,
                                                bool include_replayed) {
  v1::ListRejectsRequest request;
  request.set_trial_id(trial);
  request.set_include_replayed(include_replayed);
  auto context = ContextWith(token);
  auto reader = ingest().ListRejects(context.get(), request);
  std::vector<v1::Reject> out;
  v1::ListRejectsResponse message;
  while (reader->Read(&message)) out.push_back(message.reject());
  const grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  return out;
}

}  // namespace fieldwork::survey_ingest
