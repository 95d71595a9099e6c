// Reads the bearer token of a gRPC call and turns it into a Principal.
#ifndef FIELDWORK_SERVICES_COMMON_GRPC_AUTH_H_
#define FIELDWORK_SERVICES_COMMON_GRPC_AUTH_H_

#include <optional>
#include <string>

#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "services/common/auth.h"

namespace fieldwork {

class Authenticator {
 public:
  // Checks tokens against `tokens`.
  explicit Authenticator(TokenStore tokens) : tokens_(std::move(tokens)) {}
  // Auth switched off (--insecure_no_auth): every call is the insecure admin. Logs a warning.
  static Authenticator Insecure();

  // The caller of `context`: UNAUTHENTICATED when the "authorization: Bearer <token>" metadata
  // is missing, malformed or unknown.
  absl::StatusOr<Principal> Authenticate(const grpc::ServerContext& context) const;

 private:
  Authenticator() = default;
  std::optional<TokenStore> tokens_;
};

// The metadata a client attaches: {"authorization", "Bearer <token>"}.
void AttachBearerToken(grpc::ClientContext& context, const std::string& token);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_GRPC_AUTH_H_
