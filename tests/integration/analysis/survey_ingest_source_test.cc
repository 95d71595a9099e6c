// Analyse over the real services only: a real redis-server, the real randomisation service and
// the real survey-ingest service (in-process over gRPC, on port 0), and the analysis service over
// gRPC reading both through its gRPC sources. Responses are submitted to survey-ingest, scored
// there from the instrument, and read back by the analysis; the CI must cover the true effect.
#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "fieldwork/v1/analysis.grpc.pb.h"
#include "fieldwork/v1/randomisation.grpc.pb.h"
#include "fieldwork/v1/survey_ingest.grpc.pb.h"
#include "services/analysis/grpc_sources.h"
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
#include "tests/testing/redis_server.h"

// A namespace of its own: its trial and instrument constants are not analysis_integration_test's
// (the two files are compiled as one in a unity build).
namespace fieldwork::analysis::survey_ingest_source {
namespace {

namespace v1 = ::fieldwork::v1;

constexpr char kTrial[] = "swing";
constexpr double kTrueEffect = 0.5;
constexpr int kParticipants = 600;

constexpr char kInstrument[] = R"yaml(
id: outcome
version: 1
title: Simulated outcome
items:
  - {id: y, label: Outcome, type: numeric, min: -20, max: 20, required: true}
scales:
  - id: score
    label: Score
    items: [y]
    method: mean
    min_answered: 1
)yaml";

google::protobuf::Timestamp At(absl::Time t) {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

TEST(AnalysisOverRealServicesTest, ResponsesScoredBySurveyIngestGiveACiCoveringTheTruth) {
  fieldwork::testing::RedisServer redis(fieldwork::testing::RedisServerOptions{.durable = true});
  std::unique_ptr<RedisClient> client = redis.NewClient();
  const absl::Time now =
      absl::FromCivil(absl::CivilSecond(2021, 3, 10, 9, 0, 0), absl::UTCTimeZone());
  ManualClock clock(now);
  Authenticator authenticator(Tokens());

  // Randomisation.
  prometheus::Registry rnd_registry;
  randomisation::RedisRandomisationStore rnd_store(*client);
  randomisation::RandomisationMetrics rnd_metrics(rnd_registry);
  randomisation::Randomiser randomiser(rnd_store, clock, rnd_metrics.Observer());
  randomisation::RandomisationServiceImpl rnd_service(randomiser, authenticator);
  fieldwork::testing::InProcessServer rnd_server({&rnd_service});
  auto rnd = v1::RandomisationService::NewStub(MakeChannel(rnd_server.address(), false));

  // Survey-ingest, checking participants against randomisation.
  survey_ingest::GrpcRoster grpc_roster(MakeChannel(rnd_server.address(), false), kIngestService);
  survey_ingest::CachedRoster roster(grpc_roster);
  survey_ingest::RedisIngestStore ingest_store(*client);
  prometheus::Registry ingest_registry;
  survey_ingest::IngestMetrics ingest_metrics(ingest_registry);
  survey_ingest::Ingestor ingestor(ingest_store, roster, clock, ingest_metrics.Observer());
  survey_ingest::SurveyIngestServiceImpl ingest_service(ingestor, authenticator);
  fieldwork::testing::InProcessServer ingest_server({&ingest_service});
  auto ingest = v1::SurveyIngestService::NewStub(MakeChannel(ingest_server.address(), false));

  // Analysis, reading both over gRPC.
  GrpcAllocationSource allocations(MakeChannel(rnd_server.address(), false), kAnalysisService);
  GrpcSurveyIngestSource survey(MakeChannel(ingest_server.address(), false), kAnalysisService);
  RedisPlanStore plan_store(*client);
  PlanRegistry plans(plan_store, allocations, clock);
  prometheus::Registry registry;
  AnalysisMetrics metrics(registry);
  Sources sources;
  sources.allocations = &allocations;
  sources.responses = &survey;
  sources.outcomes = &survey;
  AnalysisServiceImpl service(plans, sources, authenticator, clock, metrics);
  fieldwork::testing::InProcessServer server({&service});
  auto analysis = v1::AnalysisService::NewStub(MakeChannel(server.address(), false));

  // The trial: complete randomisation, two arms.
  v1::CreateTrialRequest create;
  v1::TrialDesign& design = *create.mutable_design();
  design.set_trial_id(kTrial);
  v1::Factor& factor = *design.add_factors();
  factor.set_name("arm");
  factor.set_method(v1::RANDOMISATION_METHOD_COMPLETE);
  for (const char* arm : {"treatment", "control"}) {
    v1::Arm& a = *factor.add_arms();
    a.set_name(arm);
    a.set_weight(1);
  }
  design.add_sites()->set_id("LA1");
  v1::CreateTrialResponse created;
  ASSERT_TRUE(rnd->CreateTrial(As(kResearcher).get(), create, &created).ok());
  v1::LockDesignRequest lock;
  lock.set_trial_id(kTrial);
  v1::LockDesignResponse locked;
  ASSERT_TRUE(rnd->LockDesign(As(kResearcher).get(), lock, &locked).ok());
  v1::EnrolRequest enrol;
  enrol.set_trial_id(kTrial);
  for (int i = 0; i < kParticipants; ++i) {
    v1::Participant& p = *enrol.add_participants();
    p.set_participant_id(absl::StrCat("S", 1000 + i));
    p.set_site("LA1");
  }
  v1::EnrolResponse enrolled;
  ASSERT_TRUE(rnd->Enrol(As(kResearcher).get(), enrol, &enrolled).ok());
  v1::RandomiseRequest randomise;
  randomise.set_trial_id(kTrial);
  v1::RandomiseResponse randomised;
  ASSERT_TRUE(rnd->Randomise(As(kResearcher).get(), randomise, &randomised).ok());

  // The instrument and the endline wave in survey-ingest.
  v1::PutInstrumentRequest instrument;
  instrument.set_trial_id(kTrial);
  instrument.mutable_instrument()->set_definition_yaml(kInstrument);
  v1::PutInstrumentResponse put_instrument;
  grpc::Status status = ingest->PutInstrument(As(kResearcher).get(), instrument, &put_instrument);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::PutWaveRequest wave;
  wave.mutable_wave()->set_trial_id(kTrial);
  wave.mutable_wave()->set_wave_id("endline");
  wave.mutable_wave()->set_instrument_id("outcome");
  wave.mutable_wave()->set_instrument_version(1);
  *wave.mutable_wave()->mutable_opens_at() = At(now - absl::Hours(24 * 9));
  *wave.mutable_wave()->mutable_closes_at() = At(now + absl::Hours(24 * 20));
  v1::PutWaveResponse put_wave;
  status = ingest->PutWave(As(kResearcher).get(), wave, &put_wave);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // 75% respond; the outcome is the true effect for the treated plus N(0, 1) noise, the same
  // data for each arm whatever the allocation (SimulatedEndline).
  v1::ListAllocationsRequest list;
  list.set_trial_id(kTrial);
  auto list_context = As(kResearcher);
  auto reader = rnd->ListAllocations(list_context.get(), list);
  v1::ListAllocationsResponse message;
  std::map<std::string, bool> treated_by_participant;
  while (reader->Read(&message)) {
    treated_by_participant[message.allocation().participant_id()] =
        message.allocation().assignments(0).arm() == "treatment";
  }
  v1::SubmitResponsesResponse submitted;
  auto submit_context = As(kResearcher);
  auto writer = ingest->SubmitResponses(submit_context.get(), &submitted);
  int64_t sent = 0;
  for (const v1::SubmitResponsesRequest& request :
       SimulatedEndline(kTrial, treated_by_participant, 0.75, kTrueEffect,
                        [](const std::string&) { return 0.0; })) {
    ASSERT_TRUE(writer->Write(request));
    ++sent;
  }
  ASSERT_TRUE(reader->Finish().ok());
  writer->WritesDone();
  status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(submitted.accepted(), sent)
      << (submitted.errors_size() > 0 ? submitted.errors(0).reason() : "");

  // The plan, locked, then Analyse.
  v1::RegisterPlanRequest register_plan;
  v1::AnalysisPlan& plan = *register_plan.mutable_plan();
  plan.set_trial_id(kTrial);
  plan.set_control_arm("control");
  v1::PlannedOutcome& outcome = *plan.add_outcomes();
  outcome.set_name("score_endline");
  outcome.set_primary(true);
  outcome.mutable_source()->mutable_survey()->set_wave_id("endline");
  outcome.mutable_source()->mutable_survey()->set_score_id("score");
  v1::RegisterPlanResponse registered;
  status = analysis->RegisterPlan(As(kResearcher).get(), register_plan, &registered);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::LockPlanRequest lock_plan;
  lock_plan.set_trial_id(kTrial);
  v1::LockPlanResponse locked_plan;
  ASSERT_TRUE(analysis->LockPlan(As(kResearcher).get(), lock_plan, &locked_plan).ok());
  v1::AnalyseRequest analyse;
  analyse.set_trial_id(kTrial);
  v1::AnalyseResponse result;
  status = analysis->Analyse(As(kResearcher).get(), analyse, &result);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(result.outcomes_size(), 1);
  const v1::OutcomeResult& o = result.outcomes(0);
  EXPECT_EQ(o.n(), sent);
  ASSERT_EQ(o.effects_size(), 1);
  EXPECT_LT(o.effects(0).effect().conf_low(), kTrueEffect);
  EXPECT_GT(o.effects(0).effect().conf_high(), kTrueEffect);
  EXPECT_THAT(result.sources(), ::testing::Contains("survey-ingest responses"));
  EXPECT_NEAR(o.attrition().overall_rate(), static_cast<double>(sent) / kParticipants, 1e-12);

  // What the analysis service asks for (analysis_view): the fields it reads, and no other.
  v1::ListResponsesRequest view;
  view.set_trial_id(kTrial);
  view.set_paged(true);
  view.set_analysis_view(true);
  auto view_context = As(kResearcher);
  auto responses = ingest->ListResponses(view_context.get(), view);
  v1::ListResponsesResponse page;
  int64_t listed = 0;
  while (responses->Read(&page)) {
    for (const v1::Response& r : page.responses()) {
      ++listed;
      EXPECT_FALSE(r.participant_id().empty());
      EXPECT_EQ(r.wave_id(), "endline");
      EXPECT_TRUE(r.counted());
      EXPECT_TRUE(r.has_received_at());
      ASSERT_EQ(r.scales_size() + r.composites_size(), 1);
      EXPECT_TRUE(r.trial_id().empty() && r.submission_id().empty() && r.source().empty() &&
                  r.site().empty() && r.instrument_id().empty() && r.answers().empty() &&
                  !r.has_started_at())
          << r.ShortDebugString();
    }
  }
  ASSERT_TRUE(responses->Finish().ok());
  EXPECT_EQ(listed, sent);
}

}  // namespace
}  // namespace fieldwork::analysis::survey_ingest_source
