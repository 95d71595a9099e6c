// The flags every service binary shares, defined once here and read into
// ServiceRuntimeOptions by ApplyServerFlags. (The older shared flags, listen address to
// simulated clock, are still defined in each main.cc.)
#ifndef FIELDWORK_SERVICES_COMMON_SERVER_FLAGS_H_
#define FIELDWORK_SERVICES_COMMON_SERVER_FLAGS_H_

#include "services/common/service_runtime.h"

namespace fieldwork {

// Sets the options that the flags defined here control. Call after the flags are parsed.
void ApplyServerFlags(ServiceRuntimeOptions& options);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_SERVER_FLAGS_H_
