// Parses the Redis URLs the services accept (--redis_url / FIELDWORK_REDIS_URL).
#ifndef FIELDWORK_SERVICES_COMMON_REDIS_URL_H_
#define FIELDWORK_SERVICES_COMMON_REDIS_URL_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace fieldwork {

struct RedisEndpoint {
  enum class Transport { kTcp, kUnix };
  Transport transport = Transport::kTcp;
  std::string host = "127.0.0.1";  // kTcp
  int port = 6379;                 // kTcp
  std::string socket_path;         // kUnix
  std::string username;            // ACL user; empty for the default user
  std::string password;            // empty: no AUTH
  int database = 0;

  // host:port or the socket path, without credentials: safe to log.
  std::string Describe() const;
};

// Accepts redis://[[user]:password@]host[:port][/db], redis://[::1]:port, and
// unix:///path/to/socket[?db=N][&password=P]. Errors name the part of the URL that is wrong.
absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_REDIS_URL_H_
