#include "services/common/grpc_auth.h"

#include <grpcpp/client_context.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "services/common/logging.h"

namespace fieldwork {

Authenticator Authenticator::Insecure() {
  logging::Warning("authentication is OFF (--insecure_no_auth): every caller is an admin");
  return Authenticator();
}

absl::StatusOr<Principal> Authenticator::Authenticate(const grpc::ServerContext& context) const {
  absl::StatusOr<Principal> principal = Identify(context);
  if (!principal.ok() || limiter_ == nullptr) return principal;
  if (absl::Status admitted = limiter_->Admit(principal->name); !admitted.ok()) return admitted;
  return principal;
}

absl::StatusOr<Principal> Authenticator::Identify(const grpc::ServerContext& context) const {
  if (!tokens_.has_value()) return InsecureAdminPrincipal();
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError("missing \"authorization: Bearer <token>\" metadata");
  }
  absl::string_view value(it->second.data(), it->second.size());
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return absl::UnauthenticatedError("authorization metadata must be \"Bearer <token>\"");
  }
  return tokens_->Authenticate(absl::StripAsciiWhitespace(value.substr(kScheme.size())));
}

void AttachBearerToken(grpc::ClientContext& context, const std::string& token) {
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
}

}  // namespace fieldwork
