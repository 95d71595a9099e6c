// fieldwork-randomisation: trial designs, enrolment, concealed and reproducible allocation,
// withdrawals, balance and the audit log (RandomisationService in
// protos/fieldwork/v1/randomisation.proto).
//
// Usage:
//   fieldwork-randomisation --redis_url=redis://127.0.0.1:6379 --tokens_file=tokens.yaml
//       [--listen_address=0.0.0.0:50051] [--metrics_port=9464]
//       [--tls_cert_file=F --tls_key_file=F] [--simulated_clock] [--insecure_no_auth]
// Every flag can also be set as FIELDWORK_<FLAG_IN_CAPITALS>; the command line wins. The flags
// every server shares are defined in services/common/server_flags.cc. It refuses a Redis
// without appendonly yes and appendfsync always unless --allow_volatile_redis.
#include <iostream>
#include <string>

#include "services/common/logging.h"
#include "services/common/server_flags.h"
#include "services/common/service_runtime.h"
#include "services/randomisation/randomiser.h"
#include "services/randomisation/redis_store.h"
#include "services/randomisation/service.h"

int main(int argc, char** argv) {
  fieldwork::BlockTerminationSignals();
  fieldwork::ServiceRuntimeOptions options = fieldwork::ParseServerFlags(
      argc, argv,
      {.service_name = "randomisation", .listen_address = "0.0.0.0:50051",
       .metrics_port = 9464});

  absl::StatusOr<std::unique_ptr<fieldwork::ServiceRuntime>> runtime =
      fieldwork::ServiceRuntime::Create(options);
  if (!runtime.ok()) {
    fieldwork::logging::Error("cannot start", {{"error", runtime.status().ToString()}});
    return 1;
  }
  fieldwork::randomisation::RedisRandomisationStore store((*runtime)->redis());
  fieldwork::randomisation::RandomisationMetrics metrics((*runtime)->registry());
  fieldwork::randomisation::Randomiser randomiser(store, (*runtime)->clock(), metrics.Observer());
  metrics.Seed(randomiser);
  fieldwork::randomisation::RandomisationServiceImpl service(randomiser, (*runtime)->authenticator());
  if (absl::Status status = (*runtime)->Serve({&service}); !status.ok()) {
    fieldwork::logging::Error("cannot serve", {{"error", status.ToString()}});
    return 1;
  }
  return 0;
}
