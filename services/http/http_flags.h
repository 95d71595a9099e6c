// The --http_* flags of every binary that serves HTTP (messaging's tracked links,
// survey-ingest's form): defined once here, like the shared server flags in services/common.
#ifndef FIELDWORK_SERVICES_HTTP_HTTP_FLAGS_H_
#define FIELDWORK_SERVICES_HTTP_HTTP_FLAGS_H_

#include "absl/status/statusor.h"
#include "services/http/http_limits.h"

namespace fieldwork::http {

// The limits the --http_* flags (or their FIELDWORK_HTTP_* variables) ask for; INVALID_ARGUMENT
// naming the flag when one is out of range.
absl::StatusOr<HttpLimits> HttpLimitsFromFlags();

}  // namespace fieldwork::http

#endif  // FIELDWORK_SERVICES_HTTP_HTTP_FLAGS_H_
