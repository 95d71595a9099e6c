#include "services/common/randomisation_caller_flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, randomisation_address, "127.0.0.1:50051",
          "RandomisationService address (host:port)");
ABSL_FLAG(std::string, service_token_file, "",
          "File holding the bearer token this service calls the other services with (one line; a "
          "researcher or analyst token on the trials served)");
