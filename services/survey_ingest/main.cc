// fieldwork-survey-ingest: instruments and waves, survey responses over gRPC and as Qualtrics or
// plain CSV exports, scoring, the rejects log and administrative outcomes (SurveyIngestService
// in protos/fieldwork/v1/survey_ingest.proto). Participants are checked against the
// randomisation service.
//
// Usage:
//   fieldwork-survey-ingest --redis_url=redis://127.0.0.1:6379 --tokens_file=tokens.yaml
//       --randomisation_address=127.0.0.1:50051 --service_token_file=ingest.token
//       [--listen_address=0.0.0.0:50053] [--metrics_port=9466]
//       [--tls_cert_file=F --tls_key_file=F] [--randomisation_ca_file=F]
//       [--max_receive_message_mb=256]
//       [--http_listen_address=0.0.0.0:8081 --survey_link_keys=survey-link.keys]
//       [--form_rate_limit_per_minute=60 --form_rate_limit_per_address_per_minute=600]
//       [--http_max_body_bytes=65536 --http_header_timeout=10s ...] (services/http)
//       [--simulated_clock] [--insecure_no_auth]
// Every flag can also be set as FIELDWORK_<FLAG_IN_CAPITALS>; the command line wins. The flags
// every server shares are defined in services/common/server_flags.cc. It refuses a Redis
// without appendonly yes and appendfsync always unless --allow_volatile_redis.
// The service token file holds the bearer token this service calls randomisation with (one
// line; a researcher or analyst token on the trials served).
// The hosted questionnaire (form/) listens on --http_listen_address (empty: no form) and opens
// participants' links with the key ring in --survey_link_keys (services/survey_link/key_ring.h,
// the Secret messaging seals links with); with the listener on it refuses to start without it.
// The same key ring resolves the survey link tokens of an ImportCsv with a token column.
#include <grpcpp/security/credentials.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "services/common/grpc_client.h"
#include "services/common/logging.h"
#include "services/common/randomisation_caller_flags.h"
#include "services/common/server_flags.h"
#include "services/common/service_runtime.h"
#include "services/http/http_flags.h"
#include "services/http/http_metrics.h"
#include "services/survey_ingest/form/form_metrics.h"
#include "services/survey_ingest/form/form_server.h"
#include "services/survey_ingest/form/redis_form_store.h"
#include "services/survey_ingest/form/survey_form.h"
#include "services/survey_ingest/grpc_roster.h"
#include "services/survey_ingest/ingestor.h"
#include "services/survey_ingest/redis_store.h"
#include "services/survey_ingest/roster.h"
#include "services/survey_ingest/service.h"
#include "services/survey_link/key_ring.h"
#include "services/survey_link/survey_link_flags.h"

ABSL_FLAG(std::string, randomisation_ca_file, "",
          "PEM roots to verify the randomisation service's TLS certificate (plaintext if empty)");
ABSL_FLAG(int, max_receive_message_mb, 256, "Largest request accepted (a whole CSV export)");
ABSL_FLAG(std::string, http_listen_address, "0.0.0.0:8081",
          "host:port of the hosted questionnaire (participants' survey links); empty: no form");
ABSL_FLAG(double, form_rate_limit_per_minute, 60,
          "Form requests a minute per survey link, in bursts of a minute's worth (0: no limit)");
ABSL_FLAG(double, form_rate_limit_per_address_per_minute, 600,
          "Form requests a minute per client address (0: no limit; raise it behind an ingress)");

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", what, " ", path));
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace

int main(int argc, char** argv) {
  fieldwork::BlockTerminationSignals();
  fieldwork::ServiceRuntimeOptions options = fieldwork::ParseServerFlags(
      argc, argv,
      {.service_name = "survey-ingest", .listen_address = "0.0.0.0:50053",
       .metrics_port = 9466});
  options.grpc.max_receive_message_bytes = absl::GetFlag(FLAGS_max_receive_message_mb) << 20;

  std::string service_token;
  if (const std::string path = absl::GetFlag(FLAGS_service_token_file); !path.empty()) {
    absl::StatusOr<std::string> token = ReadFile(path, "--service_token_file");
    if (!token.ok()) {
      fieldwork::logging::Error("cannot start", {{"error", token.status().ToString()}});
      return 1;
    }
    service_token = std::string(absl::StripAsciiWhitespace(*token));
  } else if (!options.insecure_no_auth) {
    fieldwork::logging::Error(
        "cannot start", {{"error", "no --service_token_file: the token to call randomisation"}});
    return 1;
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      fieldwork::UpstreamCredentials(/*tls=*/false, absl::GetFlag(FLAGS_randomisation_ca_file),
                                     "--randomisation_ca_file");
  if (!credentials.ok()) {
    fieldwork::logging::Error("cannot start", {{"error", credentials.status().ToString()}});
    return 1;
  }

  // The survey link key ring: the form opens participants' links with it, and a CSV import
  // with a token column resolves the tokens with it.
  absl::StatusOr<std::optional<fieldwork::survey_link::SurveyLinkKeyRing>> ring =
      fieldwork::survey_link::SurveyLinkKeysFromFlag();
  if (!ring.ok()) {
    fieldwork::logging::Error("cannot start", {{"error", ring.status().ToString()}});
    return 1;
  }
  const std::optional<fieldwork::survey_link::SurveyLinkKeyRing> link_keys = std::move(*ring);

  // The form's configuration is checked before anything starts, so a missing key ring is
  // the one clear error at start-up.
  const std::string form_address = absl::GetFlag(FLAGS_http_listen_address);
  std::string form_host;
  int form_port = 0;
  fieldwork::survey_ingest::form::FormServerOptions form_options;
  if (!form_address.empty()) {
    absl::Status form_ok = fieldwork::survey_ingest::form::SplitHostPort(
        form_address, "http_listen_address", &form_host, &form_port);
    if (form_ok.ok()) {
      if (!link_keys.has_value()) {
        form_ok = absl::FailedPreconditionError(absl::StrCat(
            "the questionnaire form listens on --http_listen_address=", form_address,
            " but no --survey_link_keys file was given to open participants' links (the key "
            "ring messaging seals them with); give it, or set --http_listen_address= (empty) "
            "to run without the form"));
      }
    }
    absl::StatusOr<fieldwork::http::HttpLimits> limits = fieldwork::http::HttpLimitsFromFlags();
    if (form_ok.ok() && !limits.ok()) form_ok = limits.status();
    if (!form_ok.ok()) {
      fieldwork::logging::Error("cannot start", {{"error", form_ok.ToString()}});
      return 1;
    }
    form_options.limits = *limits;
    form_options.rate_limit_per_link_per_minute = absl::GetFlag(FLAGS_form_rate_limit_per_minute);
    form_options.rate_limit_per_address_per_minute =
        absl::GetFlag(FLAGS_form_rate_limit_per_address_per_minute);
  }

  absl::StatusOr<std::unique_ptr<fieldwork::ServiceRuntime>> runtime =
      fieldwork::ServiceRuntime::Create(options);
  if (!runtime.ok()) {
    fieldwork::logging::Error("cannot start", {{"error", runtime.status().ToString()}});
    return 1;
  }
  namespace si = fieldwork::survey_ingest;
  const std::shared_ptr<grpc::Channel> randomisation =
      fieldwork::UpstreamChannel(absl::GetFlag(FLAGS_randomisation_address), *credentials);
  si::GrpcRoster grpc_roster(randomisation, service_token);
  si::GrpcAllocations allocations(randomisation, service_token);
  si::CachedRoster roster(grpc_roster);
  si::RedisIngestStore store((*runtime)->redis());
  si::IngestMetrics metrics((*runtime)->registry());
  si::Ingestor ingestor(store, roster, (*runtime)->clock(), metrics.Observer(),
                        link_keys.has_value() ? &*link_keys : nullptr);
  metrics.Seed(ingestor, store);
  si::SurveyIngestServiceImpl service(ingestor, (*runtime)->authenticator());

  std::unique_ptr<si::form::RedisFormStore> form_store;
  std::unique_ptr<si::form::FormMetrics> form_metrics;
  std::unique_ptr<si::form::SurveyForm> form;
  std::unique_ptr<si::form::FormServer> form_server;
  std::shared_ptr<fieldwork::http::HttpStatsCollector> form_http_metrics;
  if (!form_address.empty()) {
    form_store = std::make_unique<si::form::RedisFormStore>((*runtime)->redis());
    form_metrics = std::make_unique<si::form::FormMetrics>((*runtime)->registry());
    form = std::make_unique<si::form::SurveyForm>(ingestor, *form_store, *link_keys,
                                                  (*runtime)->clock(), form_metrics->Observer(),
                                                  &allocations);
    form_server = std::make_unique<si::form::FormServer>(*form, form_options);
    if (absl::Status s = form_server->Start(form_host, form_port); !s.ok()) {
      fieldwork::logging::Error("cannot start", {{"error", s.ToString()}});
      return 1;
    }
    fieldwork::logging::Info("questionnaire form", {{"port", form_server->port()}});
    form_http_metrics = std::make_shared<fieldwork::http::HttpStatsCollector>(
        "survey_form", [&form_server] { return form_server->http_stats(); });
    (*runtime)->ExportCollectable(form_http_metrics);
  }
  const absl::Status served = (*runtime)->Serve({&service});
  if (form_server) {
    form_http_metrics->Detach();
    form_server->Stop();
  }
  if (!served.ok()) {
    fieldwork::logging::Error("cannot serve", {{"error", served.ToString()}});
    return 1;
  }
  return 0;
}
