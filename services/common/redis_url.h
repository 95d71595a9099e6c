// Parses the Redis URLs the services accept (--redis_url / FIELDWORK_REDIS_URL).
#ifndef FIELDWORK_SERVICES_COMMON_REDIS_URL_H_
#define FIELDWORK_SERVICES_COMMON_REDIS_URL_H_

#include <string>
#include <utility>
#include <vector>

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
  // A Redis Cluster (redis-cluster://): the client learns the masters from these seed nodes
  // (host and port above are the first of them) and routes every command by its key's slot.
  bool cluster = false;
  std::vector<std::pair<std::string, int>> cluster_seeds;

  // host:port or the socket path, without credentials: safe to log.
  std::string Describe() const;
};

// Accepts redis://[[user]:password@]host[:port][/db], redis://[::1]:port,
// unix:///path/to/socket[?db=N][&password=P], and for a Redis Cluster
// redis-cluster://[[user]:password@]host[:port][,host[:port]...] (any of its nodes; a cluster
// has no databases). Errors name the part of the URL that is wrong.
absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_REDIS_URL_H_
