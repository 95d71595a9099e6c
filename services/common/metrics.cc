#include "services/common/metrics.h"

#include <exception>

#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "absl/strings/str_cat.h"

#ifndef FIELDWORK_VERSION
#define FIELDWORK_VERSION "unknown"
#endif
#ifndef FIELDWORK_GIT_SHA
#define FIELDWORK_GIT_SHA "unknown"
#endif

namespace fieldwork {

const char* FieldworkVersion() { return FIELDWORK_VERSION; }
const char* FieldworkGitSha() { return FIELDWORK_GIT_SHA; }

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const MetricsOptions& options) {
  std::unique_ptr<MetricsServer> server(new MetricsServer);
  server->registry_ = std::make_shared<prometheus::Registry>();
  const std::string address = absl::StrCat(options.bind_address, ":", options.port);
  try {
    // One thread is plenty: Prometheus scrapes every few seconds.
    server->exposer_ = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve /metrics on ", address, ": ", e.what()));
  }
  server->exposer_->RegisterCollectable(server->registry_, "/metrics");
  const std::vector<int> ports = server->exposer_->GetListeningPorts();
  server->port_ = ports.empty() ? options.port : ports.front();
  RegisterBuildInfo(*server->registry_, options.service_name);
  return server;
}

MetricsServer::~MetricsServer() = default;

void MetricsServer::AddCollectable(const std::weak_ptr<prometheus::Collectable>& collectable) {
  exposer_->RegisterCollectable(collectable, "/metrics");
}

void RegisterBuildInfo(prometheus::Registry& registry, const std::string& service_name) {
  prometheus::BuildGauge()
      .Name("fieldwork_build_info")
      .Help("Always 1; the labels say which build of which service is running.")
      .Register(registry)
      .Add({{"version", FieldworkVersion()},
            {"git_sha", FieldworkGitSha()},
            {"service", service_name}})
      .Set(1);
}

}  // namespace fieldwork
