// Command-line parsing where every Abseil flag can also come from the environment, so that
// Kubernetes (the Helm chart) configures the services with FIELDWORK_* variables.
#ifndef FIELDWORK_SERVICES_COMMON_FLAGS_H_
#define FIELDWORK_SERVICES_COMMON_FLAGS_H_

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"

namespace fieldwork {

// The environment variable that sets flag `flag_name`: FIELDWORK_ + the name in capitals
// ("metrics_port" -> "FIELDWORK_METRICS_PORT").
std::string EnvironmentVariableForFlag(absl::string_view flag_name);

// Sets every registered flag whose FIELDWORK_* variable is present in the environment.
// Fails naming the variable and the reason when a value does not parse.
absl::Status ApplyFlagsFromEnvironment();

// Applies the environment, then parses the command line (which wins), exiting with a usage
// message on bad input as absl::ParseCommandLine does. Returns the positional arguments.
std::vector<char*> ParseFlagsWithEnvironment(int argc, char** argv);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_FLAGS_H_
