// The analysis service end to end: a real redis-server, the real randomisation service over
// gRPC (in-process, port 0) as the allocation source, the real survey-ingest service over gRPC
// as the response source (it checks each participant against randomisation and scores the
// answers), and the analysis service over gRPC. A simulated two-arm trial with a known effect
// is enrolled and randomised through the randomisation service and its responses submitted to
// survey-ingest; Analyse's CI must cover the truth. Also: plan locking, a deviation shown in the
// result, the export, the power calculator, the monitor over gRPC, the binary, and bad input.
#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "fieldwork/v1/analysis.grpc.pb.h"
#include "fieldwork/v1/randomisation.grpc.pb.h"
#include "services/analysis/grpc_sources.h"
#include "services/analysis/monitor_loop.h"
#include "services/analysis/plan_registry.h"
#include "services/analysis/redis_plan_store.h"
#include "services/analysis/service.h"
#include "services/common/grpc_auth.h"
#include "services/randomisation/randomiser.h"
#include "services/randomisation/redis_store.h"
#include "services/randomisation/service.h"
#include "services/survey_ingest/grpc_roster.h"
#include "services/survey_ingest/ingestor.h"
#include "services/survey_ingest/redis_store.h"
#include "services/survey_ingest/roster.h"
#include "services/survey_ingest/service.h"
#include "tests/integration/analysis/simulated_endline.h"
#include "tests/integration/analysis/upstream_services.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/ports.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"

namespace fieldwork::analysis {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::Contains;
using ::testing::HasSubstr;


// One numeric item scored as the scale "wellbeing".
constexpr char kInstrument[] = R"yaml(
id: wb
version: 1
title: Simulated well-being
items:
  - {id: y, label: Well-being, type: numeric, min: -20, max: 20, required: true}
scales:
  - id: wellbeing
    label: Well-being
    items: [y]
    method: mean
    min_answered: 1
)yaml";
constexpr char kTrial[] = "beneficiaries";
constexpr double kTrueEffect = 0.4;
constexpr int kParticipants = 1200;

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path);
  out << content;
}

google::protobuf::Timestamp Ts(absl::Time t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

class AnalysisIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = std::make_unique<fieldwork::testing::RedisServer>(
        fieldwork::testing::RedisServerOptions{.durable = true});
    RedisClientOptions options;
    options.url = redis_->url();
    options.command_timeout = absl::Seconds(30);
    redis_client_ = *RedisClient::Create(options);
    authenticator_ = std::make_unique<Authenticator>(Tokens());

    // Randomisation and survey-ingest, survey-ingest checking participants against randomisation.
    upstream_ = std::make_unique<UpstreamServices>(*redis_client_, *authenticator_, clock_,
                                                   kIngestService);
    survey_ = std::make_unique<GrpcSurveyIngestSource>(
        MakeChannel(upstream_->ingest_address(), false), kAnalysisService);

    // The analysis service, reading both over gRPC with its own token.
    allocations_ = std::make_unique<GrpcAllocationSource>(
        MakeChannel(upstream_->randomisation_address(), false), kAnalysisService);
    plan_store_ = std::make_unique<RedisPlanStore>(*redis_client_);
    plans_ = std::make_unique<PlanRegistry>(*plan_store_, *allocations_, clock_);
    metrics_ = std::make_unique<AnalysisMetrics>(registry_);
    sources_.allocations = allocations_.get();
    sources_.responses = survey_.get();
    sources_.outcomes = survey_.get();
    service_ = std::make_unique<AnalysisServiceImpl>(*plans_, sources_, *authenticator_, clock_,
                                                     *metrics_);
    server_ = std::make_unique<fieldwork::testing::InProcessServer>(
        std::vector<grpc::Service*>{service_.get()});
    stub_ = v1::AnalysisService::NewStub(MakeChannel(server_->address(), false));
  }

  // Creates, locks, enrols and randomises the trial; simulates endline wellbeing with the true
  // effect for 70% of participants; withdraws two participants.
  void RunTrial() {
    v1::CreateTrialRequest create;
    *create.mutable_design() = ThreeSiteDesign(kTrial);
    v1::CreateTrialResponse created;
    ASSERT_TRUE(upstream_->randomisation().CreateTrial(As(kResearcher).get(), create, &created).ok());
    v1::LockDesignRequest lock;
    lock.set_trial_id(kTrial);
    v1::LockDesignResponse locked;
    ASSERT_TRUE(upstream_->randomisation().LockDesign(As(kResearcher).get(), lock, &locked).ok());

    std::mt19937_64 generator(1969);
    std::uniform_real_distribution<double> uniform(0, 1);
    v1::EnrolRequest enrol;
    enrol.set_trial_id(kTrial);
    std::map<std::string, double> ages;
    for (int i = 0; i < kParticipants; ++i) {
      v1::Participant& p = *enrol.add_participants();
      p.set_participant_id(absl::StrCat("P", 10000 + i));
      p.set_site(i % 3 == 0 ? "LA1" : (i % 3 == 1 ? "LA2" : "LA3"));
      const double a = 25 + 30 * uniform(generator);
      (*p.mutable_covariates())["age"].set_number(a);
      ages[p.participant_id()] = a;
    }
    v1::EnrolResponse enrolled;
    grpc::Status status = upstream_->randomisation().Enrol(As(kResearcher).get(), enrol, &enrolled);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(enrolled.enrolled(), kParticipants);
    v1::RandomiseRequest randomise;
    randomise.set_trial_id(kTrial);
    v1::RandomiseResponse randomised;
    status = upstream_->randomisation().Randomise(As(kResearcher).get(), randomise, &randomised);
    ASSERT_TRUE(status.ok()) << status.error_message();

    v1::PutInstrumentRequest instrument;
    instrument.set_trial_id(kTrial);
    instrument.mutable_instrument()->set_definition_yaml(kInstrument);
    v1::PutInstrumentResponse put_instrument;
    status = upstream_->ingest().PutInstrument(As(kResearcher).get(), instrument, &put_instrument);
    ASSERT_TRUE(status.ok()) << status.error_message();
    v1::PutWaveRequest put_wave;
    v1::Wave& wave = *put_wave.mutable_wave();
    wave.set_trial_id(kTrial);
    wave.set_wave_id("endline");
    wave.set_instrument_id("wb");
    wave.set_instrument_version(1);
    *wave.mutable_opens_at() = Ts(clock_.Now() - absl::Hours(24));
    *wave.mutable_closes_at() = Ts(clock_.Now() + absl::Hours(24 * 60));
    v1::PutWaveResponse wave_response;
    status = upstream_->ingest().PutWave(As(kResearcher).get(), put_wave, &wave_response);
    ASSERT_TRUE(status.ok()) << status.error_message();

    v1::ListAllocationsRequest list;
    list.set_trial_id(kTrial);
    auto context = As(kResearcher);
    auto reader = upstream_->randomisation().ListAllocations(context.get(), list);
    v1::ListAllocationsResponse message;
    v1::SubmitResponsesResponse submitted;
    auto submit_context = As(kResearcher);
    auto writer = upstream_->ingest().SubmitResponses(submit_context.get(), &submitted);
    while (reader->Read(&message)) {
      const v1::Allocation& allocation = message.allocation();
      treated_[allocation.participant_id()] = allocation.assignments(0).arm() == "treatment";
    }
    int64_t sent = 0;
    for (const v1::SubmitResponsesRequest& request :
         SimulatedEndline(kTrial, treated_, 0.7, kTrueEffect,
                          [&](const std::string& p) { return 0.03 * (ages[p] - 40); })) {
      ASSERT_TRUE(writer->Write(request));
      ++sent;
    }
    ASSERT_TRUE(reader->Finish().ok());
    writer->WritesDone();
    status = writer->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(submitted.accepted(), sent);
    ASSERT_EQ(treated_.size(), static_cast<size_t>(kParticipants));
    for (const char* id : {"P10000", "P10001"}) {
      v1::WithdrawRequest withdraw;
      withdraw.set_trial_id(kTrial);
      withdraw.set_participant_id(id);
      withdraw.set_reason("consent withdrawn");
      withdraw.mutable_date()->set_year(2021);
      withdraw.mutable_date()->set_month(3);
      withdraw.mutable_date()->set_day(1);
      v1::WithdrawResponse withdrawn;
      status = upstream_->randomisation().Withdraw(As(kResearcher).get(), withdraw, &withdrawn);
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
  }

  static v1::AnalysisPlan Plan() {
    v1::AnalysisPlan plan;
    plan.set_trial_id(kTrial);
    plan.set_factor("arm");
    plan.set_control_arm("control");
    plan.add_covariates("age");
    plan.set_site_fixed_effects(true);
    v1::PlannedOutcome& outcome = *plan.add_outcomes();
    outcome.set_name("wellbeing");
    outcome.set_primary(true);
    outcome.mutable_source()->mutable_survey()->set_wave_id("endline");
    outcome.mutable_source()->mutable_survey()->set_score_id("wellbeing");
    v1::PowerAssumptions& power = *plan.mutable_power();
    power.set_n(kParticipants);
    power.set_treated_share(0.5);
    power.set_response_rate(0.9);
    power.set_r_squared(0.2);
    power.set_covariates(1);
    plan.set_randomisation_inference_draws(200);
    return plan;
  }

  grpc::Status Register(const v1::AnalysisPlan& plan, const std::string& reason,
                        v1::RegisterPlanResponse* response) {
    v1::RegisterPlanRequest request;
    *request.mutable_plan() = plan;
    request.set_deviation_reason(reason);
    return stub_->RegisterPlan(As(kResearcher).get(), request, response);
  }

  // Withdraws the first participant (in id order) who has not withdrawn; `allocation` is theirs.
  void WithdrawAnActiveParticipant(v1::Allocation* allocation = nullptr) {
    v1::ListAllocationsRequest list;
    list.set_trial_id(kTrial);
    auto list_context = As(kResearcher);
    auto reader = upstream_->randomisation().ListAllocations(list_context.get(), list);
    v1::ListAllocationsResponse active;
    while (reader->Read(&active) && active.allocation().has_withdrawal()) {
    }
    list_context->TryCancel();
    ASSERT_EQ(active.allocation().assignments_size(), 1);
    v1::WithdrawRequest withdraw;
    withdraw.set_trial_id(kTrial);
    withdraw.set_participant_id(active.allocation().participant_id());
    v1::WithdrawResponse withdrawn;
    const grpc::Status status =
        upstream_->randomisation().Withdraw(As(kResearcher).get(), withdraw, &withdrawn);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(withdrawn.withdrawn(), 1);
    if (allocation != nullptr) *allocation = active.allocation();
  }

  grpc::Status Analyse(v1::AnalyseResponse* response, const std::string& trial = kTrial) {
    v1::AnalyseRequest request;
    request.set_trial_id(trial);
    return stub_->Analyse(As(kResearcher).get(), request, response);
  }

  ManualClock clock_{absl::FromCivil(absl::CivilSecond(2021, 1, 4, 9, 0, 0), absl::UTCTimeZone())};
  std::unique_ptr<fieldwork::testing::RedisServer> redis_;
  std::unique_ptr<RedisClient> redis_client_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<UpstreamServices> upstream_;
  std::unique_ptr<GrpcAllocationSource> allocations_;
  std::unique_ptr<GrpcSurveyIngestSource> survey_;
  std::unique_ptr<RedisPlanStore> plan_store_;
  std::unique_ptr<PlanRegistry> plans_;
  prometheus::Registry registry_;
  std::unique_ptr<AnalysisMetrics> metrics_;
  Sources sources_;
  std::unique_ptr<AnalysisServiceImpl> service_;
  std::unique_ptr<fieldwork::testing::InProcessServer> server_;
  std::unique_ptr<v1::AnalysisService::Stub> stub_;
  std::map<std::string, bool> treated_;
};

TEST_F(AnalysisIntegrationTest, LockedPlanAnalysisCoversTheTrueEffectAndShowsDeviations) {
  ASSERT_NO_FATAL_FAILURE(RunTrial());
  v1::RegisterPlanResponse registered;
  grpc::Status status = Register(Plan(), "", &registered);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(registered.record().state(), v1::PLAN_STATE_DRAFT);

  v1::AnalyseResponse refused;
  status = Analyse(&refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("not locked"));

  v1::LockPlanRequest lock;
  lock.set_trial_id(kTrial);
  v1::LockPlanResponse locked;
  ASSERT_TRUE(stub_->LockPlan(As(kResearcher).get(), lock, &locked).ok());
  EXPECT_EQ(locked.record().locked_sha256(), PlanSha256(locked.record().plan()));
  EXPECT_EQ(locked.record().locked_by(), "researcher");

  v1::AnalyseResponse result;
  status = Analyse(&result);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(result.allocated(), kParticipants);
  EXPECT_EQ(result.withdrawn(), 2);
  ASSERT_EQ(result.outcomes_size(), 1);
  const v1::OutcomeResult& o = result.outcomes(0);
  ASSERT_EQ(o.effects_size(), 1);
  const v1::Inference& effect = o.effects(0).effect();
  EXPECT_EQ(o.effects(0).arm(), "treatment");
  RecordProperty("estimate", absl::StrCat(effect.estimate()));
  RecordProperty("ci", absl::StrCat(effect.conf_low(), " .. ", effect.conf_high()));
  RecordProperty("mdes_planned_achieved",
                 absl::StrCat(o.mdes().planned(), " / ", o.mdes().achieved()));
  RecordProperty("ri_p", absl::StrCat(o.randomisation_inference().p_value()));
  EXPECT_LT(effect.conf_low(), kTrueEffect);
  EXPECT_GT(effect.conf_high(), kTrueEffect);
  EXPECT_GT(effect.conf_low(), 0) << "the effect should be detected with " << o.n()
                                  << " respondents";
  EXPECT_GT(o.mdes().planned(), 0);
  EXPECT_GT(o.mdes().achieved(), 0);
  EXPECT_LT(o.mdes().actual_response_rate(), 0.75);
  ASSERT_EQ(o.attrition().arms_size(), 2);
  EXPECT_EQ(o.attrition().arms(0).arm(), "control");
  EXPECT_EQ(o.attrition().arms(0).randomised() + o.attrition().arms(1).randomised(),
            kParticipants - 2);
  EXPECT_TRUE(o.attrition().lee_computed());
  EXPECT_EQ(result.plan().deviations_size(), 0);
  // Randomisation inference with the trial's own method (complete within sites): the observed
  // coefficient is the ITT estimate, and no redraw comes near an effect this clear.
  EXPECT_EQ(o.randomisation_inference().draws(), 200);
  EXPECT_EQ(o.randomisation_inference().method(), "RANDOMISATION_METHOD_COMPLETE_WITHIN_STRATA");
  EXPECT_NEAR(o.randomisation_inference().observed(), effect.estimate(), 1e-8);
  EXPECT_LT(o.randomisation_inference().p_value(), 0.05);

  // A change after locking: refused without a reason, kept as a deviation with one.
  v1::AnalysisPlan changed = Plan();
  changed.set_site_fixed_effects(false);
  v1::RegisterPlanResponse ignored;
  status = Register(changed, "", &ignored);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("deviation_reason"));
  status = Register(changed, std::string(4001, 'r'), &ignored);  // kept for good: bounded
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("deviation_reason: 4001 bytes"));
  clock_.Advance(absl::Hours(48));
  status = Register(changed, "LA3 merged its teams; site effects dropped", &registered);
  ASSERT_TRUE(status.ok()) << status.error_message();

  v1::AnalyseResponse after;
  ASSERT_TRUE(Analyse(&after).ok());
  ASSERT_EQ(after.plan().deviations_size(), 1);
  EXPECT_EQ(after.plan().deviations(0).reason(), "LA3 merged its teams; site effects dropped");
  EXPECT_EQ(after.plan().deviations(0).changed_fields(0), "site_fixed_effects");
  EXPECT_EQ(after.plan().locked_sha256(), locked.record().locked_sha256());
  EXPECT_THAT(after.warnings(), Contains(HasSubstr("after locking")));
  EXPECT_LT(after.outcomes(0).effects(0).effect().conf_low(), kTrueEffect);
  EXPECT_GT(after.outcomes(0).effects(0).effect().conf_high(), kTrueEffect);

  const std::string metrics = prometheus::TextSerializer().Serialize(registry_.Collect());
  EXPECT_THAT(
      metrics,
      HasSubstr("fieldwork_analysis_analyses_total{code=\"OK\",trial=\"beneficiaries\"} 2"));
}

// The same plan over the same data is answered again without reading the trial (computed_at
// says when it was computed); a withdrawal at randomisation makes the next call compute anew.
TEST_F(AnalysisIntegrationTest, AnAnswerIsKeptUntilTheDataChanges) {
  ASSERT_NO_FATAL_FAILURE(RunTrial());
  v1::RegisterPlanResponse registered;
  ASSERT_TRUE(Register(Plan(), "", &registered).ok());
  v1::LockPlanRequest lock;
  lock.set_trial_id(kTrial);
  v1::LockPlanResponse locked;
  ASSERT_TRUE(stub_->LockPlan(As(kResearcher).get(), lock, &locked).ok());
  v1::AnalyseResponse first;
  ASSERT_TRUE(Analyse(&first).ok());

  clock_.Advance(absl::Hours(1));
  v1::AnalyseResponse again;
  ASSERT_TRUE(Analyse(&again).ok());
  EXPECT_EQ(again.computed_at().seconds(), first.computed_at().seconds());
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());

  ASSERT_NO_FATAL_FAILURE(WithdrawAnActiveParticipant());

  v1::AnalyseResponse after;
  ASSERT_TRUE(Analyse(&after).ok());
  EXPECT_EQ(after.computed_at().seconds(), first.computed_at().seconds() + 3600);
  EXPECT_EQ(after.withdrawn(), first.withdrawn() + 1);
}

TEST_F(AnalysisIntegrationTest, ExportStreamsOneRowPerAllocatedParticipant) {
  ASSERT_NO_FATAL_FAILURE(RunTrial());
  v1::RegisterPlanResponse registered;
  ASSERT_TRUE(Register(Plan(), "", &registered).ok());
  v1::ExportDatasetRequest request;
  request.set_trial_id(kTrial);
  auto context = As(kResearcher);
  auto reader = stub_->ExportDataset(context.get(), request);
  v1::ExportDatasetResponse message;
  std::string csv;
  int codebook = 0;
  while (reader->Read(&message)) {
    codebook += message.codebook_size();
    csv += message.csv();
  }
  ASSERT_TRUE(reader->Finish().ok());
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), static_cast<size_t>(kParticipants + 1));
  EXPECT_EQ(
      lines[0],
      "participant_id,site,cohort,cluster,arm,withdrawn,left,age,wellbeing,responded_endline");
  EXPECT_EQ(codebook, 10);
  int withdrawn = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> cells = absl::StrSplit(lines[i], ',');
    ASSERT_EQ(cells.size(), 10u) << lines[i];
    EXPECT_EQ(cells[4], treated_.at(cells[0]) ? "treatment" : "control");
    withdrawn += cells[5] == "1" ? 1 : 0;
  }
  EXPECT_EQ(withdrawn, 2);
}

TEST_F(AnalysisIntegrationTest, MonitorReadsTheTrialOverGrpc) {
  ASSERT_NO_FATAL_FAILURE(RunTrial());
  prometheus::Registry registry;
  MonitorMetrics metrics(registry);
  MonitorLoop loop(sources_, *plans_, metrics, clock_, absl::Seconds(30));
  ASSERT_TRUE(loop.RunOnce().ok());
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  int64_t treated = 0;
  for (const auto& [id, t] : treated_) treated += t && id != "P10000" && id != "P10001" ? 1 : 0;
  double participants = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name != "fieldwork_trial_participants") continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "arm" && label.value == "treatment") participants += metric.gauge.value;
      }
    }
  }
  EXPECT_EQ(participants, static_cast<double>(treated));
  EXPECT_THAT(text, HasSubstr("fieldwork_trial_response_rate{arm=\"control\",trial="
                              "\"beneficiaries\",wave=\"endline\"}"));
  EXPECT_THAT(text,
              HasSubstr("fieldwork_trial_srm_pvalue{factor=\"arm\",trial=\"beneficiaries\"}"));
  EXPECT_THAT(text,
              HasSubstr("fieldwork_trial_withdrawn{arm=\"control\",trial=\"beneficiaries\"}"));
}

TEST_F(AnalysisIntegrationTest, PowerMatchesPowerUpsMdesIra) {
  v1::PowerRequest request;
  request.mutable_assumptions()->set_n(250);
  request.set_effect_size(0.356);
  v1::PowerResponse response;
  ASSERT_TRUE(stub_->Power(As(kResearcher).get(), request, &response).ok());
  EXPECT_NEAR(response.mdes(), 0.356, 5e-4);  // PowerUp!: mdes.ira(n = 250)
  EXPECT_NEAR(response.power(), 0.80, 5e-3);
  request.mutable_assumptions()->set_treated_share(1.5);
  grpc::Status status = stub_->Power(As(kResearcher).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("power.treated_share"));
}

TEST_F(AnalysisIntegrationTest, BadInputGetsClearErrors) {
  ASSERT_NO_FATAL_FAILURE(RunTrial());
  v1::RegisterPlanResponse response;
  v1::AnalysisPlan unknown = Plan();
  unknown.set_trial_id("no-such-trial");
  grpc::Status status = Register(unknown, "", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("no-such-trial"));

  v1::AnalysisPlan bad = Plan();
  bad.set_control_arm("waitlist");
  bad.mutable_outcomes(0)->mutable_source()->mutable_survey()->clear_wave_id();
  status = Register(bad, "", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("plan.control_arm: \"waitlist\""));
  EXPECT_THAT(status.error_message(),
              HasSubstr("plan.outcomes[0].source.survey.wave_id: required"));

  v1::AnalyseResponse analysis;
  status = Analyse(&analysis, "no-such-trial");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  status = Analyse(&analysis);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("register it first"));

  // ListPlans: a trial is required; an unknown trial has no plans (as GetPlan, no trial data
  // is read).
  v1::ListPlansRequest list;
  v1::ListPlansResponse listed;
  status = stub_->ListPlans(As(kResearcher).get(), list, &listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("trial_id: required"));
  list.set_trial_id("no-such-trial");
  status = stub_->ListPlans(As(kResearcher).get(), list, &listed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(listed.plans_size(), 0);

  v1::RegisterPlanRequest request;
  *request.mutable_plan() = Plan();
  status = stub_->RegisterPlan(As("wrong-token").get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

// The Redis plan store: protobuf values under the trial's hash tag, compare-and-set writes.
TEST(RedisPlanStoreTest, WritesAreComparedAndSetAndSurviveARestart) {
  fieldwork::testing::RedisServer redis(fieldwork::testing::RedisServerOptions{.durable = true});
  std::unique_ptr<RedisClient> client = redis.NewClient();
  RedisPlanStore store(*client);
  v1::PlanRecord record;
  record.mutable_plan()->set_trial_id("t1");
  record.mutable_plan()->set_plan_id("main");
  record.set_version(1);
  ASSERT_TRUE(store.Put(record, 0).ok());
  absl::Status stale = store.Put(record, 0);
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted) << stale;
  record.set_version(2);
  record.set_state(v1::PLAN_STATE_LOCKED);
  ASSERT_TRUE(store.Put(record, 1).ok());
  absl::StatusOr<RedisReply> members = client->Command({"SMEMBERS", "fw:{t1}:ana:plans"});
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].str(), "main");
  redis.Restart();
  absl::StatusOr<std::optional<v1::PlanRecord>> stored = store.Get("t1", "main");
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->version(), 2);
  EXPECT_EQ((*stored)->state(), v1::PLAN_STATE_LOCKED);
  absl::StatusOr<std::optional<v1::PlanRecord>> missing = store.Get("t1", "other");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  // Every plan of a trial, in plan id order; another trial's are not listed.
  record.mutable_plan()->set_plan_id("exp1");
  record.set_version(1);
  ASSERT_TRUE(store.Put(record, 0).ok());
  absl::StatusOr<std::vector<v1::PlanRecord>> listed = store.List("t1");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].plan().plan_id(), "exp1");
  EXPECT_EQ((*listed)[1].plan().plan_id(), "main");
  absl::StatusOr<std::vector<v1::PlanRecord>> none = store.List("t2");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
}

// The fieldwork-analysis binary as its own process: flags, health, the gRPC API, and the live
// monitor's gauges on /metrics (checked by promtool) for the trial read from the randomisation
// service.
TEST_F(AnalysisIntegrationTest, BinaryServesAndPublishesMonitorGauges) {
  ASSERT_NO_FATAL_FAILURE(RunTrial());
  fieldwork::testing::TempDir dir;
  WriteFile(dir.path() + "/tokens.yaml", TokensYaml());
  WriteFile(dir.path() + "/analysis.token", absl::StrCat(kAnalysisService, "\n"));
  const int grpc_port = fieldwork::testing::PickFreePort();
  const int metrics_port = fieldwork::testing::PickFreePort();
  const std::string address = absl::StrCat("127.0.0.1:", grpc_port);
  fieldwork::testing::ServiceProcess process(
      "fieldwork-analysis",
      {"--listen_address=" + address, absl::StrCat("--metrics_port=", metrics_port),
       "--metrics_bind_address=127.0.0.1", "--redis_url=" + redis_->url(),
       "--tokens_file=" + dir.path() + "/tokens.yaml",
       "--service_token_file=" + dir.path() + "/analysis.token",
       "--randomisation_address=" + upstream_->randomisation_address(),
       "--survey_ingest_address=" + upstream_->ingest_address(), "--monitor_interval=200ms"},
      address, dir.path());
  auto stub = v1::AnalysisService::NewStub(MakeChannel(address, false));
  v1::PowerRequest power;
  power.mutable_assumptions()->set_n(250);
  v1::PowerResponse power_response;
  ASSERT_TRUE(stub->Power(As(kResearcher).get(), power, &power_response).ok());
  EXPECT_NEAR(power_response.mdes(), 0.356, 5e-4);
  v1::RegisterPlanRequest request;
  *request.mutable_plan() = Plan();
  v1::RegisterPlanResponse registered;
  grpc::Status status = stub->RegisterPlan(As(kResearcher).get(), request, &registered);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // The monitor runs every 200 ms; wait (up to a minute) for its first pass with the plan (a
  // pass that began before RegisterPlan has every gauge but the plan's MDES).
  std::string page;
  for (int attempt = 0; attempt < 300; ++attempt) {
    absl::StatusOr<std::string> fetched = fieldwork::testing::FetchMetrics(metrics_port);
    if (fetched.ok() && absl::StrContains(*fetched, "fieldwork_trial_mdes{kind=\"achieved\"")) {
      page = *fetched;
      break;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_FALSE(page.empty()) << "no monitor gauges on /metrics";
  EXPECT_THAT(
      page,
      HasSubstr(
          "fieldwork_trial_participants{arm=\"control\",site=\"LA1\",trial=\"beneficiaries\"}"));
  EXPECT_THAT(page,
              HasSubstr("fieldwork_trial_withdrawn{arm=\"control\",trial=\"beneficiaries\"}"));
  EXPECT_THAT(page, HasSubstr("fieldwork_analysis_monitor_run_seconds_count"));
  EXPECT_THAT(page, HasSubstr("fieldwork_trial_response_rate{arm=\"control\",trial="
                              "\"beneficiaries\",wave=\"endline\"}"));
  EXPECT_THAT(
      page,
      HasSubstr(
          "fieldwork_trial_mdes{kind=\"achieved\",trial=\"beneficiaries\",wave=\"endline\"}"));
  EXPECT_THAT(page, ::testing::Not(HasSubstr("P1000")));  // no participant ids
  WriteFile(dir.path() + "/metrics.txt", page);
  fieldwork::testing::ChildProcess promtool(
      {"sh", "-c", "promtool check metrics < " + dir.path() + "/metrics.txt"}, {},
      dir.path() + "/promtool.log");
  const std::optional<int> exit_code = promtool.WaitForExit(absl::Seconds(60));
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_EQ(*exit_code, 0) << promtool.ReadLog();

  // Passes over unchanged data read nothing again and keep the gauges; a withdrawal (a new
  // audit head at randomisation) is read at the next pass.
  auto withdrawn_in = [](const std::string& metrics, const std::string& arm) {
    const std::string series =
        absl::StrCat("fieldwork_trial_withdrawn{arm=\"", arm, "\",trial=\"beneficiaries\"} ");
    const size_t at = metrics.find(series);
    double value = -1;
    if (at != std::string::npos) {
      const size_t from = at + series.size();
      EXPECT_TRUE(absl::SimpleAtod(metrics.substr(from, metrics.find('\n', from) - from), &value));
    }
    return value;
  };
  auto wait_for = [&](const std::function<bool(const std::string&)>& done, const char* what) {
    for (int attempt = 0; attempt < 300; ++attempt) {
      absl::StatusOr<std::string> fetched = fieldwork::testing::FetchMetrics(metrics_port);
      if (fetched.ok() && done(*fetched)) return *fetched;
      absl::SleepFor(absl::Milliseconds(200));
    }
    ADD_FAILURE() << "never on /metrics: " << what;
    return std::string();
  };
  page = wait_for(
      [](const std::string& m) {
        return absl::StrContains(m, "fieldwork_analysis_monitor_trials_read 0\n");
      },
      "a pass that read nothing again");
  std::map<std::string, double> before;
  for (const char* arm : {"control", "treatment"}) {
    before[arm] = withdrawn_in(page, arm);
    ASSERT_GE(before[arm], 0) << "no withdrawn gauge for " << arm;
  }
  v1::Allocation withdrawn;
  ASSERT_NO_FATAL_FAILURE(WithdrawAnActiveParticipant(&withdrawn));
  const std::string arm = withdrawn.assignments(0).arm();
  wait_for([&](const std::string& m) { return withdrawn_in(m, arm) == before[arm] + 1; },
           "the withdrawal");
}

}  // namespace
}  // namespace fieldwork::analysis
