#include "services/common/upstream_flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, survey_ingest_address, "",
          "SurveyIngestService address (host:port); empty: not called, so analysis has no "
          "responses and messaging cannot send reminders");
ABSL_FLAG(bool, upstream_tls, false, "Call the other services over TLS (system roots)");
ABSL_FLAG(std::string, upstream_ca_file, "",
          "CA certificate (PEM) that verifies the other services' TLS (implies TLS)");
