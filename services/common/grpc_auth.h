// Reads the bearer token of a gRPC call and turns it into a Principal.
#ifndef FIELDWORK_SERVICES_COMMON_GRPC_AUTH_H_
#define FIELDWORK_SERVICES_COMMON_GRPC_AUTH_H_

#include <memory>
#include <optional>
#include <string>

#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "services/common/auth.h"
#include "services/common/rate_limiter.h"

namespace fieldwork {

class Authenticator {
 public:
  // Checks tokens against `tokens`.
  explicit Authenticator(TokenStore tokens) : tokens_(std::move(tokens)) {}
  // Auth switched off (--insecure_no_auth): every call is the insecure admin. Logs a warning.
  static Authenticator Insecure();

  // Every call authenticates first, so this is where each principal's request rate is
  // limited (off until set).
  void LimitRate(std::shared_ptr<RateLimiter> limiter) { limiter_ = std::move(limiter); }

  // The caller of `context`: UNAUTHENTICATED when the "authorization: Bearer <token>" metadata
  // is missing, malformed or unknown; RESOURCE_EXHAUSTED when the caller is over its rate.
  absl::StatusOr<Principal> Authenticate(const grpc::ServerContext& context) const;

 private:
  Authenticator() = default;
  absl::StatusOr<Principal> Identify(const grpc::ServerContext& context) const;
  std::optional<TokenStore> tokens_;
  std::shared_ptr<RateLimiter> limiter_;
};

// The metadata a client attaches: {"authorization", "Bearer <token>"}.
void AttachBearerToken(grpc::ClientContext& context, const std::string& token);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_GRPC_AUTH_H_
