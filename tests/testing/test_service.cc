#include "tests/testing/test_service.h"

#include "absl/time/clock.h"
#include "services/common/access.h"
#include "services/common/grpc_status.h"

namespace fieldwork::testing {

grpc::Status TestServiceImpl::Sleep(grpc::ServerContext* /*context*/, const SleepRequest* request,
                                    SleepResponse* /*response*/) {
  absl::SleepFor(absl::Milliseconds(request->milliseconds()));
  return grpc::Status::OK;
}

grpc::Status TestServiceImpl::Whoami(grpc::ServerContext* context, const WhoamiRequest* request,
                                     WhoamiResponse* response) {
  absl::StatusOr<Principal> principal = authenticator_.Authenticate(*context);
  if (!principal.ok()) return ToGrpcStatus(principal.status());
  if (absl::Status allowed =
          Authorize(*principal, {Role::kPartner, Role::kResearcher}, request->trial(),
                    request->site());
      !allowed.ok()) {
    return ToGrpcStatus(allowed);
  }
  response->set_principal(principal->name);
  return grpc::Status::OK;
}

}  // namespace fieldwork::testing
