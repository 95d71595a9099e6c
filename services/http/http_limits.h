// The limits an HTTP listener enforces on its clients, and their validation.
#ifndef FIELDWORK_SERVICES_HTTP_HTTP_LIMITS_H_
#define FIELDWORK_SERVICES_HTTP_HTTP_LIMITS_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace fieldwork::http {

// Every limit is per server. The defaults fit a public endpoint answering small requests
// (tracked links, a webhook, a questionnaire page): nothing it serves needs a large body or a
// slow upload, and every connection it holds costs a thread.
struct HttpLimits {
  // Largest request body. A declared Content-Length above it gets 413 before a byte of the
  // body is read; a chunked body is cut (413) once it passes it.
  size_t max_body_bytes = 64 * 1024;
  // Largest request line plus headers (431 beyond it): without it one endless header line
  // grows without bound in cpp-httplib's line reader.
  size_t max_header_bytes = 16 * 1024;
  // Whole-request deadlines, not per-read timeouts: a client trickling one byte a second
  // would reset a per-read timeout forever. The header deadline runs from the moment the
  // connection is taken up (first request) or its first byte arrives (later requests).
  absl::Duration header_timeout = absl::Seconds(10);
  // From the end of the headers to the last byte of the body.
  absl::Duration body_timeout = absl::Seconds(30);
  // Per send of the response: a client that stops reading is dropped.
  absl::Duration write_timeout = absl::Seconds(10);
  // Connections held at once, in all and per client address (0: no per-address cap). Behind
  // a proxy or ingress every connection comes from its address: raise or disable the
  // per-address cap there, and let the proxy limit its clients.
  int max_connections = 512;
  int max_connections_per_address = 32;
  // Keep-alive: requests served on one connection, and how long it may idle between them.
  int keep_alive_max_requests = 100;
  absl::Duration keep_alive_timeout = absl::Seconds(5);
};

// OK, or INVALID_ARGUMENT naming the first bad limit by its flag name (http_max_body_bytes,
// ...) and the reason.
absl::Status ValidateHttpLimits(const HttpLimits& limits);

}  // namespace fieldwork::http

#endif  // FIELDWORK_SERVICES_HTTP_HTTP_LIMITS_H_
