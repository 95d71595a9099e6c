// Fuzzes ParseRedisUrl. Checks, beyond not crashing: a URL is accepted with a port in 1-65535
// and a database >= 0 (a cluster: every seed node's port in range, the first node as host and
// port, database 0), and is read back the same from its canonical spelling when its parts need
// no escaping; Describe() never shows the password; and an error message never repeats the
// password of a URL with credentials.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/string_view.h"
#include "fuzz/check.h"
#include "services/common/redis_url.h"

namespace fieldwork {
namespace {

using fuzz::Check;

bool Plain(absl::string_view part) {
  for (char c : part) {
    if (c == '@' || c == ':' || c == '/' || c == '[' || c == ']' || c == '?' || c == '&' ||
        c == '=') {
      return false;
    }
  }
  return true;
}

// The URL's password as a reader would see it (text after the first ':' of the part before the
// last '@'), or "" when there is none.
absl::string_view PasswordIn(absl::string_view url) {
  if (!absl::ConsumePrefix(&url, "redis://") && !absl::ConsumePrefix(&url, "redis-cluster://")) {
    return "";
  }
  const size_t at = url.rfind('@');
  if (at == absl::string_view::npos) return "";
  const absl::string_view credentials = url.substr(0, at);
  const size_t colon = credentials.find(':');
  return colon == absl::string_view::npos ? credentials : credentials.substr(colon + 1);
}

void CheckRoundTrip(const RedisEndpoint& endpoint) {
  std::string url;
  if (endpoint.transport == RedisEndpoint::Transport::kUnix) {
    if (!Plain(endpoint.password) || absl::StrContains(endpoint.socket_path, '?')) return;
    url = absl::StrCat("unix://", endpoint.socket_path, "?db=", endpoint.database);
    if (!endpoint.password.empty()) absl::StrAppend(&url, "&password=", endpoint.password);
  } else if (endpoint.cluster) {
    if (!Plain(endpoint.username) || !Plain(endpoint.password)) return;
    url = "redis-cluster://";
    if (!endpoint.username.empty() || !endpoint.password.empty()) {
      absl::StrAppend(&url, endpoint.username, ":", endpoint.password, "@");
    }
    for (size_t i = 0; i < endpoint.cluster_seeds.size(); ++i) {
      const auto& [host, port] = endpoint.cluster_seeds[i];
      if (!Plain(host) || absl::StrContains(host, ',')) return;
      absl::StrAppend(&url, i == 0 ? "" : ",", host, ":", port);
    }
  } else {
    if (!Plain(endpoint.username) || !Plain(endpoint.password) || !Plain(endpoint.host)) return;
    url = "redis://";
    if (!endpoint.username.empty() || !endpoint.password.empty()) {
      absl::StrAppend(&url, endpoint.username, ":", endpoint.password, "@");
    }
    absl::StrAppend(&url, endpoint.host, ":", endpoint.port, "/", endpoint.database);
  }
  absl::StatusOr<RedisEndpoint> again = ParseRedisUrl(url);
  Check(again.ok(), "the canonical spelling of an accepted URL is accepted", url);
  Check(again->transport == endpoint.transport && again->host == endpoint.host &&
            again->port == endpoint.port && again->socket_path == endpoint.socket_path &&
            again->username == endpoint.username && again->password == endpoint.password &&
            again->database == endpoint.database && again->cluster == endpoint.cluster &&
            again->cluster_seeds == endpoint.cluster_seeds,
        "the canonical spelling reads back the same endpoint", url);
}

}  // namespace
}  // namespace fieldwork

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fieldwork;  // NOLINT(build/namespaces): a fuzz entry point
  using fuzz::Check;
  const absl::string_view url(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl(url);
  const absl::string_view password = PasswordIn(url);
  if (!endpoint.ok()) {
    Check(endpoint.status().code() == absl::StatusCode::kInvalidArgument,
          "a rejected URL is INVALID_ARGUMENT");
    // Short passwords can appear in the message by coincidence ("1" in a port number).
    if (password.size() >= 4 && url.find(password) == url.rfind(password)) {
      Check(!absl::StrContains(endpoint.status().message(), password),
            "an error never repeats the password", endpoint.status().ToString());
    }
    return 0;
  }
  Check(endpoint->port >= 1 && endpoint->port <= 65535 && endpoint->database >= 0,
        "port in 1-65535, database >= 0");
  if (endpoint->cluster) {
    Check(!endpoint->cluster_seeds.empty() && endpoint->database == 0,
          "a cluster has seed nodes and no database");
    for (const auto& [host, port] : endpoint->cluster_seeds) {
      Check(!host.empty() && port >= 1 && port <= 65535, "every seed node has a host and a port",
            host);
    }
    Check(endpoint->host == endpoint->cluster_seeds.front().first &&
              endpoint->port == endpoint->cluster_seeds.front().second,
          "host and port are the first seed node");
  }
  // Exactly the endpoint without credentials (a password can be as short as ":").
  const std::string expected =
      endpoint->transport == RedisEndpoint::Transport::kUnix
          ? absl::StrCat("unix:", endpoint->socket_path, "/", endpoint->database)
          : absl::StrCat(endpoint->host, ":", endpoint->port, "/", endpoint->database);
  Check(endpoint->Describe() == expected, "Describe() never shows the password", expected);
  CheckRoundTrip(*endpoint);
  return 0;
}
