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
//       [--simulated_clock] [--insecure_no_auth]
// Every flag can also be set as FIELDWORK_<FLAG_IN_CAPITALS>; the command line wins. The flags
// every server shares are defined in services/common/server_flags.cc. It refuses a Redis
// without appendonly yes and appendfsync always unless --allow_volatile_redis.
// The service token file holds the bearer token this service calls randomisation with (one
// line; a researcher or analyst token on the trials served).
#include <grpcpp/security/credentials.h>

#include <fstream>
#include <iostream>
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
#include "services/survey_ingest/grpc_roster.h"
#include "services/survey_ingest/ingestor.h"
#include "services/survey_ingest/redis_store.h"
#include "services/survey_ingest/roster.h"
#include "services/survey_ingest/service.h"

ABSL_FLAG(std::string, randomisation_ca_file, "",
          "PEM roots to verify the randomisation service's TLS certificate (plaintext if empty)");
ABSL_FLAG(int, max_receive_message_mb, 256, "Largest request accepted (a whole CSV export)");

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

  absl::StatusOr<std::unique_ptr<fieldwork::ServiceRuntime>> runtime =
      fieldwork::ServiceRuntime::Create(options);
  if (!runtime.ok()) {
    fieldwork::logging::Error("cannot start", {{"error", runtime.status().ToString()}});
    return 1;
  }
  namespace si = fieldwork::survey_ingest;
  si::GrpcRoster grpc_roster(
      fieldwork::UpstreamChannel(absl::GetFlag(FLAGS_randomisation_address), *credentials),
      service_token);
  si::CachedRoster roster(grpc_roster);
  si::RedisIngestStore store((*runtime)->redis());
  si::IngestMetrics metrics((*runtime)->registry());
  si::Ingestor ingestor(store, roster, (*runtime)->clock(), metrics.Observer());
  metrics.Seed(ingestor, store);
  si::SurveyIngestServiceImpl service(ingestor, (*runtime)->authenticator());
  if (absl::Status status = (*runtime)->Serve({&service}); !status.ok()) {
    fieldwork::logging::Error("cannot serve", {{"error", status.ToString()}});
    return 1;
  }
  return 0;
}
