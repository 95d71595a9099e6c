#include "services/common/grpc_metrics_interceptor.h"

#include <array>
#include <chrono>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace fieldwork {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

struct GrpcMetrics {
  prometheus::Family<prometheus::Counter>* started;
  prometheus::Family<prometheus::Counter>* handled;
  prometheus::Family<prometheus::Histogram>* handling_seconds;
};

absl::string_view TypeName(ServerRpcInfo::Type type) {
  switch (type) {
    case ServerRpcInfo::Type::UNARY:
      return "unary";
    case ServerRpcInfo::Type::CLIENT_STREAMING:
      return "client_stream";
    case ServerRpcInfo::Type::SERVER_STREAMING:
      return "server_stream";
    case ServerRpcInfo::Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unary";
}

const std::vector<double>& HandlingBuckets() {
  static const auto* buckets = new std::vector<double>{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return *buckets;
}

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(const GrpcMetrics& metrics, ServerRpcInfo* info) : metrics_(metrics) {
    // "/fieldwork.v1.RandomisationService/CreateTrial" -> service and method.
    absl::string_view full = info->method() != nullptr ? info->method() : "";
    if (!full.empty() && full.front() == '/') full.remove_prefix(1);
    const size_t slash = full.find('/');
    labels_ = {{"grpc_type", std::string(TypeName(info->type()))},
               {"grpc_service", std::string(full.substr(0, slash))},
               {"grpc_method",
                slash == absl::string_view::npos ? "" : std::string(full.substr(slash + 1))}};
    metrics_.started->Add(labels_).Increment();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      prometheus::Labels with_code = labels_;
      with_code["grpc_code"] = std::string(GrpcCodeName(status.error_code()));
      metrics_.handled->Add(with_code).Increment();
      metrics_.handling_seconds->Add(labels_, HandlingBuckets()).Observe(seconds);
    }
    methods->Proceed();
  }

 private:
  const GrpcMetrics& metrics_;
  prometheus::Labels labels_;
  // Latency is measured on the monotonic clock, not the injectable trial clock: it is about
  // the process, not about trial time.
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(prometheus::Registry& registry)
      : metrics_{&prometheus::BuildCounter()
                      .Name("grpc_server_started_total")
                      .Help("RPCs started on the server.")
                      .Register(registry),
                 &prometheus::BuildCounter()
                      .Name("grpc_server_handled_total")
                      .Help("RPCs completed on the server, by status code.")
                      .Register(registry),
                 &prometheus::BuildHistogram()
                      .Name("grpc_server_handling_seconds")
                      .Help("Time from the start of an RPC to its status being sent.")
                      .Register(registry)} {}

  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new MetricsInterceptor(metrics_, info);
  }

 private:
  GrpcMetrics metrics_;
};

}  // namespace

absl::string_view GrpcCodeName(int code) {
  static constexpr std::array<absl::string_view, 17> kNames = {
      "OK",           "CANCELLED",           "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",      "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",     "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",           "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  if (code < 0 || static_cast<size_t>(code) >= kNames.size()) return "UNKNOWN";
  return kNames[static_cast<size_t>(code)];
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeMetricsInterceptorFactory(prometheus::Registry& registry) {
  return std::make_unique<MetricsInterceptorFactory>(registry);
}

}  // namespace fieldwork
