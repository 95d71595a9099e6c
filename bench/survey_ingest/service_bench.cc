// End-to-end survey-ingest benchmark through the real gRPC API into a real redis-server (AOF on,
// appendfsync always: every batch is on disk before the RPC answers), with the real
// randomisation service as the roster. Printed with the targets, never asserted:
//   1. SubmitResponses of a 30-item instrument, `streams` client streams at once, one row a
//      message and then `rows_per_message` rows a message: target >= 20,000 responses/s;
//   2. ImportCsv of a 100,000-row Qualtrics export of the same instrument: target <= 10 s.
// Usage: survey_ingest_service_bench [responses=100000] [streams=4] [csv_rows=100000]
//                                    [rows_per_message=250]
//            (BENCH_NO_FSYNC=1: Redis without AOF, to see the fsync's share)
// Run a Release build: build/<release dir>/bin/survey_ingest_service_bench
#include <grpcpp/create_channel.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/common/bench_util.h"
#include "bench/survey_ingest/bench_data.h"
#include "bench/survey_ingest/bench_roster.h"
#include "bench/survey_ingest/bench_submissions.h"
#include "services/common/clock.h"
#include "services/common/grpc_auth.h"
#include "services/common/grpc_server.h"
#include "services/survey_ingest/grpc_roster.h"
#include "services/survey_ingest/ingestor.h"
#include "services/survey_ingest/redis_store.h"
#include "services/survey_ingest/roster.h"
#include "services/survey_ingest/service.h"
#include "tests/testing/grpc_harness.h"
#include "tests/testing/redis_server.h"

namespace {

namespace v1 = ::fieldwork::v1;
namespace si = ::fieldwork::survey_ingest;
using ::fieldwork::bench::BusyShare;
using ::fieldwork::bench::Check;
using ::fieldwork::bench::ContextWithToken;
using ::fieldwork::bench::ProcessCpuSeconds;
using ::fieldwork::bench::ReadMachineCpu;
using ::fieldwork::bench::Seconds;
using ::fieldwork::bench::StoreCpuSeconds;
using ::fieldwork::bench::ThreadCpuSeconds;

constexpr char kToken[] = "bench-researcher";
constexpr char kTrial[] = "bench";

struct SubmitRun {
  std::string wave;
  int responses = 0;
  int streams = 0;
  int rows_per_message = 1;
};
struct SubmitFigures {
  double seconds = 0;
  int64_t accepted = 0;
  int64_t rejected = 0;
  double process_cpu = 0;  // the clients, survey-ingest and randomisation (the roster)
  double store_cpu = 0;    // redis-server
  double clients_cpu = 0;  // the client streams' own threads
  double machine_busy = 0;
};

// `run.responses` rows into `run.wave` over `run.streams` SubmitResponses streams at once, the
// messages (`run.rows_per_message` rows each) built beforehand.
SubmitFigures SubmitStreams(v1::SurveyIngestService::Stub& stub, fieldwork::RedisClient& client,
                            const SubmitRun& run) {
  std::vector<std::vector<v1::SubmitResponsesRequest>> messages(static_cast<size_t>(run.streams));
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < run.responses; ++i) {
    std::vector<v1::SubmitResponsesRequest>& stream =
        messages[static_cast<size_t>(i % run.streams)];
    if (stream.empty() || stream.back().submissions_size() >= run.rows_per_message) {
      stream.emplace_back();
    }
    v1::Submission& row = *stream.back().add_submissions();
    row = si::MakeBenchSubmission(kTrial, i, state);
    row.set_wave_id(run.wave);
    row.set_submission_id(absl::StrCat(run.wave, "-", i));  // ids are unique across a trial
  }
  std::vector<v1::SubmitResponsesResponse> results(static_cast<size_t>(run.streams));
  // Each client stream's own thread: serialising and sending its rows (and whatever of gRPC's
  // work that thread is given while it waits), the part a partner's machine would pay.
  std::vector<double> client_cpu(static_cast<size_t>(run.streams));
  SubmitFigures figures;
  const double process_cpu_before = ProcessCpuSeconds();
  const double store_cpu_before = StoreCpuSeconds(client);
  const fieldwork::bench::MachineCpu machine_before = ReadMachineCpu();
  const auto submit_start = std::chrono::steady_clock::now();
  {
    std::vector<std::thread> threads;
    for (size_t k = 0; k < static_cast<size_t>(run.streams); ++k) {
      threads.emplace_back([&, k] {
        const double cpu_before = ThreadCpuSeconds();
        auto context = ContextWithToken(kToken);
        auto writer = stub.SubmitResponses(context.get(), &results[k]);
        for (const auto& message : messages[k]) writer->Write(message);
        writer->WritesDone();
        Check(writer->Finish(), "SubmitResponses");
        client_cpu[k] = ThreadCpuSeconds() - cpu_before;
      });
    }
    for (std::thread& t : threads) t.join();
  }
  figures.seconds = Seconds(submit_start);
  figures.process_cpu = ProcessCpuSeconds() - process_cpu_before;
  figures.store_cpu = StoreCpuSeconds(client) - store_cpu_before;
  figures.machine_busy = BusyShare(machine_before, ReadMachineCpu());
  for (const auto& r : results) {
    figures.accepted += r.accepted();
    figures.rejected += r.rejected();
  }
  for (double seconds : client_cpu) figures.clients_cpu += seconds;
  return figures;
}

void PrintSubmit(const SubmitFigures& f, int responses, int streams, int rows_per_message) {
  const double rate = static_cast<double>(responses) / f.seconds;
  absl::PrintF(
      "  SubmitResponses %d x 30 items, %d streams, %3d row(s) a message  %8.2f s  %8.0f /s  "
      "target >= 20,000/s  %s\n",
      responses, streams, rows_per_message, f.seconds, rate, rate >= 20'000 ? "MET" : "NOT MET");
  absl::PrintF("    accepted %d, rejected %d\n", f.accepted, f.rejected);
  absl::PrintF(
      "    CPU per response: %.1f us in this process (clients, survey-ingest, randomisation), "
      "%.1f us in redis-server; %.2f cores busy on average\n"
      "      of this process's, %.1f us in the client streams' own threads (on real machines "
      "the partner's, not ours)\n"
      "    the whole machine (/proc/stat: kernel, AOF rewrite child, everything): %.0f %% of "
      "%u cores busy\n",
      f.process_cpu * 1e6 / responses, f.store_cpu * 1e6 / responses,
      (f.process_cpu + f.store_cpu) / f.seconds, f.clients_cpu * 1e6 / responses,
      f.machine_busy * 100, std::thread::hardware_concurrency());
}

}  // namespace

int main(int argc, char** argv) {
  const int responses = argc > 1 ? std::atoi(argv[1]) : 100'000;
  const int streams = std::max(1, argc > 2 ? std::atoi(argv[2]) : 4);
  const int csv_rows = argc > 3 ? std::atoi(argv[3]) : 100'000;
  const int rows_per_message = std::max(1, argc > 4 ? std::atoi(argv[4]) : 250);
  const int participants = std::max(responses, csv_rows);

  fieldwork::testing::RedisServer redis(
      fieldwork::testing::RedisServerOptions{.durable = std::getenv("BENCH_NO_FSYNC") == nullptr});
  fieldwork::RedisClientOptions redis_options;
  redis_options.url = redis.url();
  redis_options.command_timeout = absl::Seconds(120);
  std::unique_ptr<fieldwork::RedisClient> client = *fieldwork::RedisClient::Create(redis_options);
  fieldwork::RealClock& clock = fieldwork::RealClock::Get();
  const std::string tokens_yaml =
      absl::StrCat("tokens:\n  - name: bench\n    sha256: ", fieldwork::HashToken(kToken),
                   "\n    roles: [researcher, analyst]\n    trials: [\"*\"]\n");
  fieldwork::Authenticator authenticator(*fieldwork::TokenStore::FromYaml(tokens_yaml, "bench"));

  // The randomisation service, with the roster.
  si::BenchRoster randomisation(*client, authenticator, kToken, kTrial, participants);

  // The survey-ingest service, as main.cc builds it (256 MiB requests).
  si::GrpcRoster grpc_roster(
      grpc::CreateChannel(randomisation.address(), grpc::InsecureChannelCredentials()), kToken);
  si::CachedRoster roster(grpc_roster);
  si::RedisIngestStore store(*client);
  prometheus::Registry registry;
  si::IngestMetrics metrics(registry);
  si::Ingestor ingestor(store, roster, clock, metrics.Observer());
  si::SurveyIngestServiceImpl service(ingestor, authenticator);
  fieldwork::GrpcServerOptions server_options;
  server_options.listen_address = "127.0.0.1:0";
  server_options.max_receive_message_bytes = 256 << 20;
  server_options.shutdown_grace = absl::Seconds(1);
  std::unique_ptr<fieldwork::GrpcServer> server =
      *fieldwork::GrpcServer::Start(server_options, {&service});
  grpc::ChannelArguments arguments;
  arguments.SetMaxSendMessageSize(256 << 20);
  auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", server->port()),
                                           grpc::InsecureChannelCredentials(), arguments);
  auto stub = v1::SurveyIngestService::NewStub(channel);
  {
    v1::PutInstrumentRequest request;
    request.set_trial_id(kTrial);
    request.mutable_instrument()->set_definition_yaml(std::string(si::kBenchInstrument));
    v1::PutInstrumentResponse response;
    Check(stub->PutInstrument(ContextWithToken(kToken).get(), request, &response), "PutInstrument");
    for (const char* wave : {"warmup", "grpc", "grpc-paged", "csv"}) {
      v1::PutWaveRequest put;
      put.mutable_wave()->set_trial_id(kTrial);
      put.mutable_wave()->set_wave_id(wave);
      put.mutable_wave()->set_instrument_id("bench");
      put.mutable_wave()->set_instrument_version(1);
      v1::PutWaveResponse put_response;
      Check(stub->PutWave(ContextWithToken(kToken).get(), put, &put_response), "PutWave");
    }
  }

  // The first batch fills survey-ingest's caches (instrument scorer, the first roster
  // lookups): timed on its own, so that the rate below is the steady state.
  const auto warmup_start = std::chrono::steady_clock::now();
  {
    uint64_t warmup_state = 1;
    auto context = ContextWithToken(kToken);
    v1::SubmitResponsesResponse warmed;
    auto writer = stub->SubmitResponses(context.get(), &warmed);
    for (int i = 0; i < 1000; ++i) {
      v1::SubmitResponsesRequest message;
      *message.mutable_submission() = si::MakeBenchSubmission(kTrial, i, warmup_state);
      message.mutable_submission()->set_wave_id("warmup");
      message.mutable_submission()->set_submission_id(absl::StrCat("warmup-", i));
      writer->Write(message);
    }
    writer->WritesDone();
    Check(writer->Finish(), "SubmitResponses (warm-up)");
  }
  const double warmup_seconds = Seconds(warmup_start);

  // 1. SubmitResponses: one row a message, then the same number of rows in pages.
  const SubmitFigures single = SubmitStreams(
      *stub, *client,
      {.wave = "grpc", .responses = responses, .streams = streams, .rows_per_message = 1});
  const SubmitFigures paged = SubmitStreams(*stub, *client,
                                            {.wave = "grpc-paged",
                                             .responses = responses,
                                             .streams = streams,
                                             .rows_per_message = rows_per_message});

  // 2. ImportCsv of a Qualtrics export.
  const std::string csv = si::MakeExport(csv_rows);
  v1::ImportCsvRequest import;
  import.set_trial_id(kTrial);
  import.set_wave_id("csv");
  import.set_content(csv);
  import.set_file_name("bench.csv");
  v1::ImportCsvResponse imported;
  const auto import_start = std::chrono::steady_clock::now();
  Check(stub->ImportCsv(ContextWithToken(kToken).get(), import, &imported), "ImportCsv");
  const double import_seconds = Seconds(import_start);

  std::printf("survey-ingest service benchmark (real gRPC + real redis-server, fsync %s)\n",
              std::getenv("BENCH_NO_FSYNC") == nullptr ? "always" : "off");
  std::printf("  first batch of 1,000 (a trial of %d participants)           %8.2f s\n",
              participants, warmup_seconds);
  PrintSubmit(single, responses, streams, 1);
  PrintSubmit(paged, responses, streams, rows_per_message);
  std::printf("  ImportCsv %d rows (%.1f MB Qualtrics)      %8.2f s  target <= 10 s  %s\n",
              csv_rows, static_cast<double>(csv.size()) / 1e6, import_seconds,
              import_seconds <= 10 ? "MET" : "NOT MET");
  absl::PrintF("    accepted %d, duplicate %d, rejected %d\n", imported.accepted(),
               imported.duplicate(), imported.rejected());
  server->Stop();
  return 0;
}
