// Many trials at once on one Redis and on a Redis Cluster (issue 18), printed side by side,
// never asserted. For each store — one redis-server, then a cluster of 3 masters + 3 replicas
// (every write waits for a replica, WAIT 1, as the services run on a cluster), both with AOF
// and appendfsync always — the real randomisation and survey-ingest services run in this
// process over it, as their main.cc builds them, and `trials` trials (default 50) are worked on
// at once, one caller each:
//   1. enrolment: Enrol calls of `rows` participants (default 100) until each trial has
//      `participants` (default 1,000);
//   2. response ingestion: one SubmitResponses stream per trial, one 30-item response per
//      participant (survey-ingest checks each participant with randomisation, as it does).
// Printed: enrolments/s, responses/s, and the CPU seconds the store used (summed over its
// masters), with the machine's load. Every trial key carries its trial as a hash tag, so a
// cluster spreads the trials over its masters; on this 2-core machine the 6 cluster nodes and
// the services share the same two cores, so the comparison shows the cluster's costs (WAIT,
// more processes) rather than its gain, which needs masters on machines of their own.
//
// Usage: survey_ingest_many_trials_bench [trials=50] [participants=1000] [rows=100]
// Run a Release build: build/<release dir>/bin/survey_ingest_many_trials_bench
#include <grpcpp/create_channel.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/common/bench_util.h"
#include "bench/survey_ingest/bench_data.h"
#include "bench/survey_ingest/bench_roster.h"
#include "bench/survey_ingest/bench_submissions.h"
#include "services/common/clock.h"
#include "services/common/grpc_auth.h"
#include "services/common/grpc_server.h"
#include "services/randomisation/randomiser.h"
#include "services/randomisation/redis_store.h"
#include "services/randomisation/service.h"
#include "services/survey_ingest/grpc_roster.h"
#include "services/survey_ingest/ingestor.h"
#include "services/survey_ingest/redis_store.h"
#include "services/survey_ingest/roster.h"
#include "services/survey_ingest/service.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/redis_cluster.h"
#include "tests/testing/redis_server.h"

namespace {

namespace v1 = ::fieldwork::v1;
namespace si = ::fieldwork::survey_ingest;
namespace rnd = ::fieldwork::randomisation;
using ::fieldwork::bench::Check;
using ::fieldwork::bench::ContextWithToken;
using ::fieldwork::bench::Seconds;
using ::fieldwork::bench::StoreCpuSeconds;

constexpr char kToken[] = "bench-researcher";

std::string Load() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one;
}

// Runs `work(t)` for t in [0, n) on n threads at once.
template <typename Work>
void OnePerTrial(int n, Work work) {
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) threads.emplace_back([&work, t] { work(t); });
  for (std::thread& thread : threads) thread.join();
}

// The randomisation and survey-ingest services over one store, each behind its own gRPC server.
class Services {
 public:
  Services(fieldwork::RedisClient& redis, const fieldwork::Authenticator& authenticator)
      : randomisation_store_(redis),
        randomisation_metrics_(registry_),
        randomiser_(randomisation_store_, fieldwork::RealClock::Get(),
                    randomisation_metrics_.Observer()),
        randomisation_service_(randomiser_, authenticator),
        randomisation_server_(std::vector<grpc::Service*>{&randomisation_service_}),
        grpc_roster_(grpc::CreateChannel(randomisation_server_.address(),
                                         grpc::InsecureChannelCredentials()),
                     kToken),
        roster_(grpc_roster_),
        ingest_store_(redis),
        ingest_metrics_(registry_),
        ingestor_(ingest_store_, roster_, fieldwork::RealClock::Get(), ingest_metrics_.Observer()),
        ingest_service_(ingestor_, authenticator),
        ingest_server_(std::vector<grpc::Service*>{&ingest_service_}),
        randomisation_(v1::RandomisationService::NewStub(grpc::CreateChannel(
            randomisation_server_.address(), grpc::InsecureChannelCredentials()))),
        survey_ingest_(v1::SurveyIngestService::NewStub(grpc::CreateChannel(
            ingest_server_.address(), grpc::InsecureChannelCredentials()))) {}

  v1::RandomisationService::Stub& randomisation() { return *randomisation_; }
  v1::SurveyIngestService::Stub& survey_ingest() { return *survey_ingest_; }

 private:
  prometheus::Registry registry_;
  rnd::RedisRandomisationStore randomisation_store_;
  rnd::RandomisationMetrics randomisation_metrics_;
  rnd::Randomiser randomiser_;
  rnd::RandomisationServiceImpl randomisation_service_;
  fieldwork::testing::InProcessServer randomisation_server_;
  si::GrpcRoster grpc_roster_;
  si::CachedRoster roster_;
  si::RedisIngestStore ingest_store_;
  si::IngestMetrics ingest_metrics_;
  si::Ingestor ingestor_;
  si::SurveyIngestServiceImpl ingest_service_;
  fieldwork::testing::InProcessServer ingest_server_;
  std::unique_ptr<v1::RandomisationService::Stub> randomisation_;
  std::unique_ptr<v1::SurveyIngestService::Stub> survey_ingest_;
};

struct Result {
  double enrol_seconds = 0;
  double enrol_cpu = 0;
  double submit_seconds = 0;
  double submit_cpu = 0;
  std::string enrol_load;
  std::string submit_load;
};

Result Run(const std::string& url, int trials, int participants, int rows) {
  fieldwork::RedisClientOptions options;
  options.url = url;
  options.command_timeout = absl::Seconds(120);
  options.pool_size = 16;
  std::unique_ptr<fieldwork::RedisClient> redis = *fieldwork::RedisClient::Create(options);
  const std::string tokens_yaml =
      absl::StrCat("tokens:\n  - name: bench\n    sha256: ", fieldwork::HashToken(kToken),
                   "\n    roles: [researcher, analyst]\n    trials: [\"*\"]\n");
  fieldwork::Authenticator authenticator(*fieldwork::TokenStore::FromYaml(tokens_yaml, "bench"));
  Services services(*redis, authenticator);
  auto trial_id = [](int t) { return absl::StrCat("many-", t); };

  // Each trial: BenchTrialDesign (two arms at one site); the instrument and a wave to answer.
  for (int t = 0; t < trials; ++t) {
    v1::CreateTrialRequest create;
    *create.mutable_design() = si::BenchTrialDesign(trial_id(t));
    v1::CreateTrialResponse created;
    Check(services.randomisation().CreateTrial(ContextWithToken(kToken).get(), create, &created),
          "CreateTrial");
    v1::PutInstrumentRequest instrument;
    instrument.set_trial_id(trial_id(t));
    instrument.mutable_instrument()->set_definition_yaml(std::string(si::kBenchInstrument));
    v1::PutInstrumentResponse put_instrument;
    Check(services.survey_ingest().PutInstrument(ContextWithToken(kToken).get(), instrument,
                                                 &put_instrument),
          "PutInstrument");
    v1::PutWaveRequest wave;
    wave.mutable_wave()->set_trial_id(trial_id(t));
    wave.mutable_wave()->set_wave_id("grpc");
    wave.mutable_wave()->set_instrument_id("bench");
    wave.mutable_wave()->set_instrument_version(1);
    v1::PutWaveResponse put_wave;
    Check(services.survey_ingest().PutWave(ContextWithToken(kToken).get(), wave, &put_wave),
          "PutWave");
  }

  Result result;
  // 1. Enrolment, every trial at once.
  result.enrol_load = Load();
  double cpu = StoreCpuSeconds(*redis);
  auto start = std::chrono::steady_clock::now();
  OnePerTrial(trials, [&](int t) {
    for (int first = 0; first < participants; first += rows) {
      v1::EnrolRequest request;
      request.set_trial_id(trial_id(t));
      for (int i = first; i < std::min(participants, first + rows); ++i) {
        v1::Participant& p = *request.add_participants();
        p.set_participant_id(absl::StrCat("P", i));
        p.set_site("LA1");
      }
      v1::EnrolResponse response;
      Check(services.randomisation().Enrol(ContextWithToken(kToken).get(), request, &response),
            "Enrol");
    }
  });
  result.enrol_seconds = Seconds(start);
  result.enrol_cpu = StoreCpuSeconds(*redis) - cpu;

  // 2. Response ingestion: one stream per trial, the messages built beforehand.
  std::vector<std::vector<v1::SubmitResponsesRequest>> messages(static_cast<size_t>(trials));
  for (int t = 0; t < trials; ++t) {
    uint64_t state = uint64_t{0x9E3779B97F4A7C15} + static_cast<uint64_t>(t);
    for (int i = 0; i < participants; ++i) {
      *messages[static_cast<size_t>(t)].emplace_back().mutable_submission() =
          si::MakeBenchSubmission(trial_id(t), i, state);
    }
  }
  result.submit_load = Load();
  cpu = StoreCpuSeconds(*redis);
  start = std::chrono::steady_clock::now();
  OnePerTrial(trials, [&](int t) {
    auto context = ContextWithToken(kToken);
    v1::SubmitResponsesResponse response;
    auto writer = services.survey_ingest().SubmitResponses(context.get(), &response);
    for (const auto& message : messages[static_cast<size_t>(t)]) writer->Write(message);
    writer->WritesDone();
    Check(writer->Finish(), "SubmitResponses");
    if (response.accepted() != participants) {
      std::fprintf(stderr, "trial %s: %lld of %d responses accepted\n", trial_id(t).c_str(),
                   static_cast<long long>(response.accepted()), participants);
      std::exit(1);
    }
  });
  result.submit_seconds = Seconds(start);
  result.submit_cpu = StoreCpuSeconds(*redis) - cpu;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const int trials = std::max(1, argc > 1 ? std::atoi(argv[1]) : 50);
  const int participants = std::max(1, argc > 2 ? std::atoi(argv[2]) : 1000);
  const int rows = std::max(1, argc > 3 ? std::atoi(argv[3]) : 100);
  const double total = static_cast<double>(trials) * participants;

  Result single;
  {
    fieldwork::testing::RedisServer redis({.durable = true, .single_node = true});
    single = Run(redis.url(), trials, participants, rows);
  }
  Result cluster;
  {
    fieldwork::testing::RedisCluster redis;
    cluster = Run(redis.url(), trials, participants, rows);
  }

  std::printf(
      "%d trials at once, %d participants each (Enrol calls of %d rows; one SubmitResponses "
      "stream per trial), AOF appendfsync always, %u cores\n",
      trials, participants, rows, std::thread::hardware_concurrency());
  std::printf("  %-44s %18s %18s\n", "", "one Redis", "3-master cluster");
  auto rate = [&](const char* what, double single_seconds, double cluster_seconds) {
    std::printf("  %-44s %13.0f /s   %13.0f /s\n", what, total / single_seconds,
                total / cluster_seconds);
  };
  auto cpu = [&](const char* what, double single_seconds, double cluster_seconds) {
    std::printf("  %-44s %13.1f ms   %13.1f ms\n", what, single_seconds * 1e6 / total,
                cluster_seconds * 1e6 / total);
  };
  rate("enrolment", single.enrol_seconds, cluster.enrol_seconds);
  cpu("  store CPU per 1,000 (masters, ms)", single.enrol_cpu, cluster.enrol_cpu);
  rate("response ingestion", single.submit_seconds, cluster.submit_seconds);
  cpu("  store CPU per 1,000 (masters, ms)", single.submit_cpu, cluster.submit_cpu);
  std::printf("  %-44s %18s %18s\n", "load (1 min) at the start of enrolment",
              single.enrol_load.c_str(), cluster.enrol_load.c_str());
  std::printf("  %-44s %18s %18s\n", "load (1 min) at the start of ingestion",
              single.submit_load.c_str(), cluster.submit_load.c_str());
  return 0;
}
