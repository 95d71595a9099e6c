// The server interceptor that records the standard gRPC server metrics for every call.
#ifndef FIELDWORK_SERVICES_COMMON_GRPC_METRICS_INTERCEPTOR_H_
#define FIELDWORK_SERVICES_COMMON_GRPC_METRICS_INTERCEPTOR_H_

#include <memory>
#include "absl/strings/string_view.h"

#include <grpcpp/support/server_interceptor.h>

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace fieldwork {

// Records grpc_server_started_total{grpc_type,grpc_service,grpc_method},
// grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code} and
// grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method} (the names Grafana's
// standard gRPC dashboards expect).
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeMetricsInterceptorFactory(prometheus::Registry& registry);

// "OK", "NOT_FOUND", ...: the grpc_code label value.
absl::string_view GrpcCodeName(int code);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_GRPC_METRICS_INTERCEPTOR_H_
