// The flags of every service that calls randomisation (survey-ingest, messaging, analysis):
// where it is and the token to call it (and the other services) with. Defined once here, like
// the shared server flags in server_flags.h; a binary that includes this header has them.
#ifndef FIELDWORK_SERVICES_COMMON_RANDOMISATION_CALLER_FLAGS_H_
#define FIELDWORK_SERVICES_COMMON_RANDOMISATION_CALLER_FLAGS_H_

#include <string>

#include "absl/flags/declare.h"

ABSL_DECLARE_FLAG(std::string, randomisation_address);
ABSL_DECLARE_FLAG(std::string, service_token_file);

#endif  // FIELDWORK_SERVICES_COMMON_RANDOMISATION_CALLER_FLAGS_H_
