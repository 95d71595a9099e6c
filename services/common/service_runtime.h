// What every service binary sets up the same way, from the options its main.cc filled from
// flags: logging, /metrics, the Redis client, auth, the clock, and serving until SIGTERM.
#ifndef FIELDWORK_SERVICES_COMMON_SERVICE_RUNTIME_H_
#define FIELDWORK_SERVICES_COMMON_SERVICE_RUNTIME_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/common/grpc_auth.h"
#include "services/common/grpc_server.h"
#include "services/common/metrics.h"
#include "services/common/redis_client.h"

namespace fieldwork {

struct ServiceRuntimeOptions {
  std::string service_name;  // "randomisation", ...
  GrpcServerOptions grpc;    // its registry is filled in by the runtime
  std::string metrics_bind_address = "0.0.0.0";
  int metrics_port = 0;
  std::string redis_url = "redis://127.0.0.1:6379";
  int redis_pool_size = 8;
  absl::Duration redis_timeout = absl::Seconds(2);
  std::string tokens_file;
  bool insecure_no_auth = false;
  bool simulated_clock = false;
  // Start even when Redis may lose acknowledged writes (see CheckRedisDurability): a warning
  // in the log and fieldwork_redis_volatile 1 instead of a refusal.
  bool allow_volatile_redis = false;
  // How long to wait for an unreachable Redis to answer the durability check at start-up.
  absl::Duration redis_startup_wait = absl::Seconds(30);
  // Requests a second each bearer token may make (see RateLimiter); 0: no limit.
  double rate_limit_per_token = 0;
};

class ServiceRuntime {
 public:
  // Fails naming what could not be set up (unreadable tokens file, bad Redis URL, metrics
  // port taken). Without a tokens file and without insecure_no_auth it refuses to start; so
  // it does against a Redis that may lose acknowledged writes, unless allow_volatile_redis.
  static absl::StatusOr<std::unique_ptr<ServiceRuntime>> Create(ServiceRuntimeOptions options);

  RedisClient& redis() { return *redis_; }
  prometheus::Registry& registry() { return metrics_->registry(); }
  const Authenticator& authenticator() const { return *authenticator_; }
  const Clock& clock() const { return *clock_; }
  int metrics_port() const { return metrics_->port(); }
  // See MetricsServer::AddCollectable.
  void ExportCollectable(const std::weak_ptr<prometheus::Collectable>& collectable) {
    metrics_->AddCollectable(collectable);
  }

  // Serves `services` until SIGTERM or SIGINT, then stops in order. The caller must have
  // called BlockTerminationSignals() first thing in main().
  absl::Status Serve(const std::vector<grpc::Service*>& services);

 private:
  ServiceRuntime() = default;
  ServiceRuntimeOptions options_;
  std::unique_ptr<MetricsServer> metrics_;
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<Clock> owned_clock_;
  const Clock* clock_ = nullptr;
};

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_SERVICE_RUNTIME_H_
