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

// In a gRPC handler: returns the error of an absl::Status expression as a grpc::Status.
#define FW_GRPC_RETURN_IF_ERROR(expr)                                  \
  do {                                                                 \
    if (const ::absl::Status fw_status_ = (expr); !fw_status_.ok()) { \
      return ::fieldwork::ToGrpcStatus(fw_status_);                    \
    }                                                                  \
  } while (false)

// In a gRPC handler: declares `lhs` as the value of an absl::StatusOr expression, or returns
// its error as a grpc::Status.
#define FW_GRPC_ASSIGN_OR_RETURN(lhs, expr)                                 \
  auto lhs##_or_ = (expr);                                                  \
  if (!lhs##_or_.ok()) return ::fieldwork::ToGrpcStatus(lhs##_or_.status()); \
  auto lhs = *std::move(lhs##_or_)

#endif  // FIELDWORK_SERVICES_COMMON_GRPC_STATUS_H_
