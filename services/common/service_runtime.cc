#include "services/common/service_runtime.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/logging.h"
#include "services/common/redis_durability.h"
#include "services/common/simulated_clock.h"

namespace fieldwork {
namespace {

// Refuses a Redis that may lose acknowledged writes unless options.allow_volatile_redis; then
// warns and exports fieldwork_redis_volatile 1. Waits for a Redis that is not up yet (a pod
// started beside it) up to options.redis_startup_wait.
absl::Status RequireDurableRedis(const ServiceRuntimeOptions& options, RedisClient& redis,
                                 prometheus::Registry& registry) {
  const absl::Time deadline = absl::Now() + options.redis_startup_wait;
  absl::StatusOr<RedisDurability> checked = CheckRedisDurability(redis);
  bool waiting_logged = false;
  while (!checked.ok() && absl::IsUnavailable(checked.status()) && absl::Now() < deadline) {
    if (!waiting_logged) {
      logging::Info("waiting for Redis to check its persistence",
                    {{"redis", redis.endpoint().Describe()},
                     {"error", checked.status().ToString()}});
      waiting_logged = true;
    }
    absl::SleepFor(absl::Milliseconds(500));
    checked = CheckRedisDurability(redis);
  }
  if (!checked.ok()) {
    return absl::Status(checked.status().code(),
                        absl::StrCat("cannot check the persistence of Redis at ",
                                     redis.endpoint().Describe(), ": ",
                                     checked.status().message()));
  }
  if (!checked->durable && !options.allow_volatile_redis) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to start: ", checked->reason,
        ". Run Redis with appendonly yes and appendfsync always, or start with "
        "--allow_volatile_redis to accept losing acknowledged writes (tests and demos only)"));
  }
  if (!checked->durable) {
    logging::Warning(
        "Redis may lose acknowledged writes: running anyway because of --allow_volatile_redis",
        {{"redis", redis.endpoint().Describe()}, {"reason", checked->reason}});
  }
  ExportRedisVolatile(registry, options.service_name, !checked->durable);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServiceRuntime>> ServiceRuntime::Create(ServiceRuntimeOptions options) {
  logging::Init(options.service_name);
  std::unique_ptr<ServiceRuntime> runtime(new ServiceRuntime);
  runtime->options_ = options;

  MetricsOptions metrics;
  metrics.bind_address = options.metrics_bind_address;
  metrics.port = options.metrics_port;
  metrics.service_name = options.service_name;
  absl::StatusOr<std::unique_ptr<MetricsServer>> metrics_server = MetricsServer::Start(metrics);
  if (!metrics_server.ok()) return metrics_server.status();
  runtime->metrics_ = *std::move(metrics_server);

  RedisClientOptions redis;
  redis.url = options.redis_url;
  redis.pool_size = options.redis_pool_size;
  redis.command_timeout = options.redis_timeout;
  redis.registry = &runtime->metrics_->registry();
  absl::StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Create(redis);
  if (!client.ok()) return client.status();
  runtime->redis_ = *std::move(client);
  if (absl::Status durable = RequireDurableRedis(options, *runtime->redis_, runtime->registry());
      !durable.ok()) {
    return durable;
  }

  if (options.insecure_no_auth) {
    runtime->authenticator_ = std::make_unique<Authenticator>(Authenticator::Insecure());
  } else {
    if (options.tokens_file.empty()) {
      return absl::InvalidArgumentError(
          "no --tokens_file: give one, or --insecure_no_auth to run without authentication");
    }
    absl::StatusOr<TokenStore> tokens = TokenStore::LoadFile(options.tokens_file);
    if (!tokens.ok()) return tokens.status();
    runtime->authenticator_ = std::make_unique<Authenticator>(*std::move(tokens));
  }

  if (options.rate_limit_per_token < 0) {
    return absl::InvalidArgumentError("--rate_limit_per_token must be 0 (no limit) or more");
  }
  if (options.rate_limit_per_token > 0) {
    // Real time even on the simulated clock: the limit protects the real machine.
    runtime->authenticator_->LimitRate(
        std::make_shared<RateLimiter>(RealClock::Get(), options.rate_limit_per_token));
  }

  if (options.simulated_clock) {
    logging::Warning("running on the SIMULATED clock kept in Redis: for demos and tests only");
    runtime->owned_clock_ = std::make_unique<SimulatedClock>(*runtime->redis_, RealClock::Get().Now());
    runtime->clock_ = runtime->owned_clock_.get();
  } else {
    runtime->clock_ = &RealClock::Get();
  }
  logging::Info("service configured", {{"redis", runtime->redis_->endpoint().Describe()},
                                       {"metrics_port", runtime->metrics_->port()},
                                       {"version", FieldworkVersion()},
                                       {"git_sha", FieldworkGitSha()}});
  return runtime;
}

absl::Status ServiceRuntime::Serve(const std::vector<grpc::Service*>& services) {
  GrpcServerOptions grpc_options = options_.grpc;
  grpc_options.registry = &metrics_->registry();
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(grpc_options, services);
  if (!server.ok()) return server.status();
  WaitForTerminationSignal();
  (*server)->Stop();
  return absl::OkStatus();
}

}  // namespace fieldwork
