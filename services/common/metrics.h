// The Prometheus registry of a process and its /metrics HTTP endpoint.
#ifndef FIELDWORK_SERVICES_COMMON_METRICS_H_
#define FIELDWORK_SERVICES_COMMON_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace prometheus {
class Collectable;
class Exposer;
class Registry;
}  // namespace prometheus

namespace fieldwork {

struct MetricsOptions {
  // Address to serve /metrics on; port 0 picks a free port (read it back with port()).
  std::string bind_address = "0.0.0.0";
  int port = 9464;
  std::string service_name;  // e.g. "randomisation", for fieldwork_build_info
};

// Owns the registry every metric of the process is registered in, and serves it.
class MetricsServer {
 public:
  // Starts serving; fails (UNAVAILABLE) when the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const MetricsOptions& options);
  ~MetricsServer();

  prometheus::Registry& registry() { return *registry_; }
  // Serves `collectable` on /metrics beside the registry, for metrics read from elsewhere at
  // each scrape (http::HttpStatsCollector). Held weakly: it stops when the owner drops it.
  void AddCollectable(const std::weak_ptr<prometheus::Collectable>& collectable);
  int port() const { return port_; }

 private:
  MetricsServer() = default;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

// Registers fieldwork_build_info{version,git_sha,service} = 1.
void RegisterBuildInfo(prometheus::Registry& registry, const std::string& service_name);

// The version and git commit compiled into the binary.
const char* FieldworkVersion();
const char* FieldworkGitSha();

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_METRICS_H_
