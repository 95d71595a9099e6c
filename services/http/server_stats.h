// What an HTTP server refused or cut since it started (HardenedServer::stats()).
#ifndef FIELDWORK_SERVICES_HTTP_SERVER_STATS_H_
#define FIELDWORK_SERVICES_HTTP_SERVER_STATS_H_

#include <cstdint>

namespace fieldwork::http {

struct HttpServerStats {
  int64_t connections_admitted = 0;
  int64_t refused_too_many_in_all = 0;
  int64_t refused_too_many_from_address = 0;
  int64_t header_deadlines = 0;   // connections cut for a slow request line or headers
  int64_t body_deadlines = 0;     // connections cut for a slow body
  int64_t bodies_too_large = 0;   // 413s
  int64_t headers_too_large = 0;  // 431s
  int connections_open = 0;
};

}  // namespace fieldwork::http

#endif  // FIELDWORK_SERVICES_HTTP_SERVER_STATS_H_
