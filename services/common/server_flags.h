// The flags every service binary shares (gRPC listen address, /metrics, Redis, tokens, TLS,
// drain, clock, volatile Redis), defined once here and read into ServiceRuntimeOptions, so a
// shared option is added in one place. Each main.cc defines only the flags of its own service.
//
// Three defaults differ by service: the listen address (its gRPC port), the metrics port and
// the Redis pool size. They are one flag each, and the binary passes its own defaults to
// ParseServerFlags, which makes them the flags' values before the FIELDWORK_* environment and
// the command line are read (both still win); --helpfull shows a service's own default as
// "currently". A field left at its default below is the flag's registered default.
#ifndef FIELDWORK_SERVICES_COMMON_SERVER_FLAGS_H_
#define FIELDWORK_SERVICES_COMMON_SERVER_FLAGS_H_

#include <string>

#include "services/common/service_runtime.h"

namespace fieldwork {

// A service binary's own defaults for the shared flags.
struct ServerDefaults {
  std::string service_name;    // "randomisation", ...: in the logs and metrics
  std::string listen_address = "0.0.0.0:0";  // "0.0.0.0:50051"; port 0: any free port
  int metrics_port = 0;  // 0: any free port
  int redis_pool_size = 8;
};

// Gives the shared flags `defaults`, parses the environment and the command line as
// ParseFlagsWithEnvironment does (exiting with a usage message on bad input), and returns the
// runtime options the shared flags ask for.
ServiceRuntimeOptions ParseServerFlags(int argc, char** argv, const ServerDefaults& defaults);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_SERVER_FLAGS_H_
