// fieldwork-analysis: analysis plans (locked, with deviations), analyses of a trial under its
// plan, the power calculator, dataset export, and the live trial monitor (AnalysisService in
// protos/fieldwork/v1/analysis.proto; the monitor's gauges on /metrics).
//
// Usage:
//   fieldwork-analysis --redis_url=redis://127.0.0.1:6379 --tokens_file=tokens.yaml
//       --randomisation_address=127.0.0.1:50051 [--survey_ingest_address=127.0.0.1:50053]
//       [--messaging_address=127.0.0.1:50052] [--service_token_file=analysis.token]
//       [--monitor_interval=30s] [--listen_address=0.0.0.0:50054] [--metrics_port=9467]
//       [--tls_cert_file=F --tls_key_file=F] [--upstream_tls] [--upstream_ca_file=F]
//       [--simulated_clock]
//       [--insecure_no_auth]
// Every flag can also be set as FIELDWORK_<FLAG_IN_CAPITALS>; the command line wins. The flags
// every server shares are defined in services/common/server_flags.cc. It refuses a Redis
// without appendonly yes and appendfsync always unless --allow_volatile_redis.
#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "services/analysis/grpc_sources.h"
#include "services/analysis/keys.h"
#include "services/analysis/monitor_loop.h"
#include "services/analysis/plan_registry.h"
#include "services/analysis/redis_plan_store.h"
#include "services/analysis/service.h"
#include "services/common/freed_memory.h"
#include "services/common/grpc_client.h"
#include "services/common/logging.h"
#include "services/common/randomisation_caller_flags.h"
#include "services/common/server_flags.h"
#include "services/common/service_runtime.h"
#include "services/common/upstream_flags.h"

ABSL_FLAG(std::string, messaging_address, "", "MessagingService address (none: no take-up data)");
ABSL_FLAG(absl::Duration, monitor_interval, absl::Seconds(30), "Live monitor interval (0: off)");

namespace {

absl::StatusOr<std::string> ReadToken(const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read --service_token_file " + path);
  std::stringstream text;
  text << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(text.str()));
}

}  // namespace

int main(int argc, char** argv) {
  // An arena per core, not per gRPC thread, keeps the memory a whole-trial join frees from
  // staying resident in every thread's arena (services/common/freed_memory.h). Per core, so
  // that the outcomes analysed in parallel (one thread a core) need not share one.
  fieldwork::LimitMallocArenas(static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  fieldwork::BlockTerminationSignals();
  fieldwork::ServiceRuntimeOptions options = fieldwork::ParseServerFlags(
      argc, argv,
      {.service_name = "analysis", .listen_address = "0.0.0.0:50054",
       .metrics_port = 9467});

  absl::StatusOr<std::string> token = ReadToken(absl::GetFlag(FLAGS_service_token_file));
  if (!token.ok()) {
    fieldwork::logging::Error("cannot start", {{"error", token.status().ToString()}});
    return 1;
  }
  absl::StatusOr<std::unique_ptr<fieldwork::ServiceRuntime>> runtime =
      fieldwork::ServiceRuntime::Create(options);
  if (!runtime.ok()) {
    fieldwork::logging::Error("cannot start", {{"error", runtime.status().ToString()}});
    return 1;
  }
  namespace analysis = fieldwork::analysis;
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> upstream =
      fieldwork::UpstreamCredentials(absl::GetFlag(FLAGS_upstream_tls),
                                     absl::GetFlag(FLAGS_upstream_ca_file), "--upstream_ca_file");
  if (!upstream.ok()) {
    fieldwork::logging::Error("cannot start", {{"error", upstream.status().ToString()}});
    return 1;
  }
  analysis::GrpcAllocationSource allocations(
      fieldwork::UpstreamChannel(absl::GetFlag(FLAGS_randomisation_address), *upstream,
                                 analysis::kStreamWindowBytes),
      *token);
  std::unique_ptr<analysis::GrpcSurveyIngestSource> survey;
  std::unique_ptr<analysis::GrpcEngagementSource> engagement;
  analysis::Sources sources;
  sources.allocations = &allocations;
  if (const std::string address = absl::GetFlag(FLAGS_survey_ingest_address); !address.empty()) {
    survey = std::make_unique<analysis::GrpcSurveyIngestSource>(
        fieldwork::UpstreamChannel(address, *upstream, analysis::kStreamWindowBytes), *token);
    sources.responses = survey.get();
    sources.outcomes = survey.get();
  }
  if (const std::string address = absl::GetFlag(FLAGS_messaging_address); !address.empty()) {
    engagement = std::make_unique<analysis::GrpcEngagementSource>(
        fieldwork::UpstreamChannel(address, *upstream, analysis::kStreamWindowBytes), *token);
    sources.engagement = engagement.get();
  }

  analysis::RedisPlanStore store((*runtime)->redis());
  analysis::PlanRegistry plans(store, allocations, (*runtime)->clock());
  analysis::AnalysisMetrics metrics((*runtime)->registry());
  analysis::AnalysisServiceImpl service(plans, sources, (*runtime)->authenticator(),
                                        (*runtime)->clock(), metrics);
  analysis::MonitorMetrics monitor_metrics((*runtime)->registry());
  const absl::Duration interval = absl::GetFlag(FLAGS_monitor_interval);
  // One replica's monitor publishes at a time. The holder renews at each pass, so the lease
  // outlives a pass that takes up to one interval; a dead holder's lapses within two.
  fieldwork::RedisLease lease((*runtime)->redis(), analysis::keys::MonitorLease(),
                              fieldwork::ProcessHolderName(), 2 * interval);
  analysis::MonitorLoop monitor(sources, plans, monitor_metrics, (*runtime)->clock(), interval,
                                &lease);
  if (interval > absl::ZeroDuration()) monitor.Start();

  absl::Status status = (*runtime)->Serve({&service});
  monitor.Stop();
  if (!status.ok()) {
    fieldwork::logging::Error("cannot serve", {{"error", status.ToString()}});
    return 1;
  }
  return 0;
}
