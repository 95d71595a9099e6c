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
// Every flag can also be set as FIELDWORK_<FLAG_IN_CAPITALS>; the command line wins. It refuses
// a Redis without appendonly yes and appendfsync always unless --allow_volatile_redis.
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "services/analysis/grpc_sources.h"
#include "services/analysis/monitor_loop.h"
#include "services/analysis/plan_registry.h"
#include "services/analysis/redis_plan_store.h"
#include "services/analysis/service.h"
#include "services/common/flags.h"
#include "services/common/grpc_client.h"
#include "services/common/logging.h"
#include "services/common/server_flags.h"
#include "services/common/service_runtime.h"

ABSL_FLAG(std::string, listen_address, "0.0.0.0:50054", "gRPC listen address (host:port)");
ABSL_FLAG(int, metrics_port, 9467, "Port of the Prometheus /metrics endpoint");
ABSL_FLAG(std::string, metrics_bind_address, "0.0.0.0", "Address the /metrics endpoint binds");
ABSL_FLAG(std::string, redis_url, "redis://127.0.0.1:6379", "Redis URL (redis:// or unix://)");
ABSL_FLAG(int, redis_pool_size, 8, "Redis connections");
ABSL_FLAG(absl::Duration, redis_timeout, absl::Seconds(5), "Redis command timeout");
ABSL_FLAG(std::string, tokens_file, "", "YAML file of hashed bearer tokens");
ABSL_FLAG(bool, insecure_no_auth, false, "Accept every call as an admin (development only)");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM certificate for TLS");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key for TLS");
ABSL_FLAG(absl::Duration, drain_delay, absl::Seconds(2), "NOT_SERVING time before stopping");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10), "Grace for in-flight calls");
ABSL_FLAG(bool, simulated_clock, false, "Use the simulated clock in Redis (demo and tests)");
ABSL_FLAG(std::string, randomisation_address, "127.0.0.1:50051", "RandomisationService address");
ABSL_FLAG(std::string, survey_ingest_address, "",
          "SurveyIngestService address (none: no responses)");
ABSL_FLAG(std::string, messaging_address, "", "MessagingService address (none: no take-up data)");
ABSL_FLAG(bool, upstream_tls, false, "Call the other services over TLS (system roots)");
ABSL_FLAG(std::string, upstream_ca_file, "",
          "CA certificate (PEM) that verifies the other services' TLS (implies TLS)");
ABSL_FLAG(std::string, service_token_file, "",
          "File holding this service's bearer token for the others");
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
  fieldwork::BlockTerminationSignals();
  fieldwork::ParseFlagsWithEnvironment(argc, argv);

  fieldwork::ServiceRuntimeOptions options;
  options.service_name = "analysis";
  options.grpc.listen_address = absl::GetFlag(FLAGS_listen_address);
  options.grpc.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.grpc.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.grpc.drain_delay = absl::GetFlag(FLAGS_drain_delay);
  options.grpc.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  options.metrics_bind_address = absl::GetFlag(FLAGS_metrics_bind_address);
  options.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  options.redis_url = absl::GetFlag(FLAGS_redis_url);
  options.redis_pool_size = absl::GetFlag(FLAGS_redis_pool_size);
  options.redis_timeout = absl::GetFlag(FLAGS_redis_timeout);
  options.tokens_file = absl::GetFlag(FLAGS_tokens_file);
  options.insecure_no_auth = absl::GetFlag(FLAGS_insecure_no_auth);
  options.simulated_clock = absl::GetFlag(FLAGS_simulated_clock);
  fieldwork::ApplyServerFlags(options);  // the shared flags defined in services/common

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
  analysis::MonitorLoop monitor(sources, plans, monitor_metrics, (*runtime)->clock(), interval);
  if (interval > absl::ZeroDuration()) monitor.Start();

  absl::Status status = (*runtime)->Serve({&service});
  monitor.Stop();
  if (!status.ok()) {
    fieldwork::logging::Error("cannot serve", {{"error", status.ToString()}});
    return 1;
  }
  return 0;
}
