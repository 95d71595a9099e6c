// The flags of the services that call several others (messaging, analysis): survey-ingest's
// address and TLS to every service they call. Defined once here, like the shared server flags
// in server_flags.h; a binary that includes this header has them.
#ifndef FIELDWORK_SERVICES_COMMON_UPSTREAM_FLAGS_H_
#define FIELDWORK_SERVICES_COMMON_UPSTREAM_FLAGS_H_

#include <string>

#include "absl/flags/declare.h"

ABSL_DECLARE_FLAG(std::string, survey_ingest_address);
ABSL_DECLARE_FLAG(bool, upstream_tls);
ABSL_DECLARE_FLAG(std::string, upstream_ca_file);

#endif  // FIELDWORK_SERVICES_COMMON_UPSTREAM_FLAGS_H_
