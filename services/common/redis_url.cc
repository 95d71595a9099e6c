#include "services/common/redis_url.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace fieldwork {
namespace {

absl::Status ParseDatabase(absl::string_view text, RedisEndpoint& endpoint) {
  if (!absl::SimpleAtoi(text, &endpoint.database) || endpoint.database < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis URL: database \"", text, "\" is not a non-negative integer"));
  }
  return absl::OkStatus();
}

absl::StatusOr<RedisEndpoint> ParseUnix(absl::string_view rest) {
  RedisEndpoint endpoint;
  endpoint.transport = RedisEndpoint::Transport::kUnix;
  absl::string_view path = rest;
  absl::string_view query;
  if (size_t q = rest.find('?'); q != absl::string_view::npos) {
    path = rest.substr(0, q);
    query = rest.substr(q + 1);
  }
  if (path.empty() || path.front() != '/') {
    return absl::InvalidArgumentError("redis URL: unix socket path must be absolute (unix:///path)");
  }
  endpoint.socket_path = std::string(path);
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::vector<absl::string_view> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (kv.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat("redis URL: query part \"", pair, "\" is not key=value"));
    }
    if (kv[0] == "db") {
      if (absl::Status s = ParseDatabase(kv[1], endpoint); !s.ok()) return s;
    } else if (kv[0] == "password") {
      endpoint.password = std::string(kv[1]);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("redis URL: unknown query key \"", kv[0], "\""));
    }
  }
  return endpoint;
}

// Takes [[user]:password@] off the front of `rest` into `endpoint`.
void ConsumeCredentials(absl::string_view& rest, RedisEndpoint& endpoint) {
  if (size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    absl::string_view credentials = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (size_t colon = credentials.find(':'); colon != absl::string_view::npos) {
      endpoint.username = std::string(credentials.substr(0, colon));
      endpoint.password = std::string(credentials.substr(colon + 1));
    } else {
      endpoint.password = std::string(credentials);
    }
  }
}

// host[:port] or [IPv6][:port] into endpoint.host and endpoint.port.
absl::Status ParseAuthority(absl::string_view authority, RedisEndpoint& endpoint) {
  absl::string_view port_text;
  if (absl::StartsWith(authority, "[")) {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError("redis URL: unterminated [IPv6] host");
    }
    endpoint.host = std::string(authority.substr(1, close - 1));
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return absl::InvalidArgumentError("redis URL: junk after [host]");
      port_text = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != absl::string_view::npos) {
    endpoint.host = std::string(authority.substr(0, colon));
    port_text = authority.substr(colon + 1);
  } else {
    endpoint.host = std::string(authority);
  }
  if (endpoint.host.empty()) return absl::InvalidArgumentError("redis URL: host is empty");
  if (!port_text.empty() &&
      (!absl::SimpleAtoi(port_text, &endpoint.port) || endpoint.port <= 0 || endpoint.port > 65535)) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis URL: port \"", port_text, "\" is not a number in 1-65535"));
  }
  return absl::OkStatus();
}

absl::StatusOr<RedisEndpoint> ParseTcp(absl::string_view rest) {
  RedisEndpoint endpoint;
  ConsumeCredentials(rest, endpoint);
  absl::string_view authority = rest;
  if (size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    authority = rest.substr(0, slash);
    absl::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      if (absl::Status s = ParseDatabase(db, endpoint); !s.ok()) return s;
    }
  }
  if (absl::Status s = ParseAuthority(authority, endpoint); !s.ok()) return s;
  return endpoint;
}

absl::StatusOr<RedisEndpoint> ParseCluster(absl::string_view rest) {
  RedisEndpoint endpoint;
  endpoint.cluster = true;
  ConsumeCredentials(rest, endpoint);
  if (absl::StrContains(rest, '/')) {
    return absl::InvalidArgumentError(
        "redis URL: a Redis Cluster has no databases (nothing may follow the nodes)");
  }
  for (absl::string_view node : absl::StrSplit(rest, ',')) {
    RedisEndpoint seed;
    if (absl::Status s = ParseAuthority(node, seed); !s.ok()) return s;
    endpoint.cluster_seeds.emplace_back(seed.host, seed.port);
  }
  endpoint.host = endpoint.cluster_seeds.front().first;
  endpoint.port = endpoint.cluster_seeds.front().second;
  return endpoint;
}

}  // namespace

std::string RedisEndpoint::Describe() const {
  if (transport == Transport::kUnix) return absl::StrCat("unix:", socket_path, "/", database);
  return absl::StrCat(host, ":", port, "/", database);
}

absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url) {
  absl::string_view rest = url;
  if (absl::ConsumePrefix(&rest, "redis://")) return ParseTcp(rest);
  if (absl::ConsumePrefix(&rest, "unix://")) return ParseUnix(rest);
  if (absl::ConsumePrefix(&rest, "redis-cluster://")) return ParseCluster(rest);
  return absl::InvalidArgumentError(absl::StrCat(
      "redis URL \"", url.substr(0, url.find('@') == absl::string_view::npos ? url.size() : 0),
      "\" must start with redis://, unix:// or redis-cluster://"));
}

}  // namespace fieldwork
