#include "services/http/http_flags.h"

#include <cstdint>

#include "absl/flags/flag.h"

namespace {
const fieldwork::http::HttpLimits kDefaults;
}  // namespace

ABSL_FLAG(int64_t, http_max_body_bytes, static_cast<int64_t>(kDefaults.max_body_bytes),
          "Largest HTTP request body (413 beyond it, before reading it)");
ABSL_FLAG(int64_t, http_max_header_bytes, static_cast<int64_t>(kDefaults.max_header_bytes),
          "Largest HTTP request line plus headers (431 beyond it)");
ABSL_FLAG(absl::Duration, http_header_timeout, kDefaults.header_timeout,
          "Time a client has to send a whole request line and headers");
ABSL_FLAG(absl::Duration, http_body_timeout, kDefaults.body_timeout,
          "Time a client has to send a whole request body, after its headers");
ABSL_FLAG(absl::Duration, http_write_timeout, kDefaults.write_timeout,
          "Time a client has to take each part of a response");
ABSL_FLAG(int, http_max_connections, kDefaults.max_connections,
          "HTTP connections held at once (more are refused at once)");
ABSL_FLAG(int, http_max_connections_per_address, kDefaults.max_connections_per_address,
          "HTTP connections held at once per client address (0: no cap; raise it behind a proxy)");
ABSL_FLAG(int, http_keep_alive_max_requests, kDefaults.keep_alive_max_requests,
          "Requests served on one HTTP connection before it is closed");
ABSL_FLAG(absl::Duration, http_keep_alive_timeout, kDefaults.keep_alive_timeout,
          "Idle time allowed between requests on one HTTP connection");

namespace fieldwork::http {

absl::StatusOr<HttpLimits> HttpLimitsFromFlags() {
  const int64_t body = absl::GetFlag(FLAGS_http_max_body_bytes);
  const int64_t header = absl::GetFlag(FLAGS_http_max_header_bytes);
  if (body < 0) return absl::InvalidArgumentError("http_max_body_bytes: must be 0 or more");
  if (header < 0) return absl::InvalidArgumentError("http_max_header_bytes: must be 0 or more");
  HttpLimits limits;
  limits.max_body_bytes = static_cast<size_t>(body);
  limits.max_header_bytes = static_cast<size_t>(header);
  limits.header_timeout = absl::GetFlag(FLAGS_http_header_timeout);
  limits.body_timeout = absl::GetFlag(FLAGS_http_body_timeout);
  limits.write_timeout = absl::GetFlag(FLAGS_http_write_timeout);
  limits.max_connections = absl::GetFlag(FLAGS_http_max_connections);
  limits.max_connections_per_address = absl::GetFlag(FLAGS_http_max_connections_per_address);
  limits.keep_alive_max_requests = absl::GetFlag(FLAGS_http_keep_alive_max_requests);
  limits.keep_alive_timeout = absl::GetFlag(FLAGS_http_keep_alive_timeout);
  if (absl::Status s = ValidateHttpLimits(limits); !s.ok()) return s;
  return limits;
}

}  // namespace fieldwork::http
