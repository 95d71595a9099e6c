// The one conversion between absl::Status (domain code) and grpc::Status (the wire).
#ifndef FIELDWORK_SERVICES_COMMON_GRPC_STATUS_H_
#define FIELDWORK_SERVICES_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace fieldwork {

// Maps the code one to one (both follow google.rpc.Code) and keeps the message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The inverse, for clients of other Fieldwork services.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_GRPC_STATUS_H_
