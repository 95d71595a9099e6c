// Who is calling and what they may touch: bearer tokens mapped to principals with roles
// scoped to trials and sites. Pure logic; grpc_auth.h reads the token from a call.
#ifndef FIELDWORK_SERVICES_COMMON_AUTH_H_
#define FIELDWORK_SERVICES_COMMON_AUTH_H_

#include <map>
#include <set>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fieldwork {

enum class Role { kAdmin, kResearcher, kPartner, kAnalyst };

absl::string_view RoleName(Role role);

struct Principal {
  std::string name;
  std::set<Role> roles;
  // Trials and sites this principal may touch; "*" means all. Admins are not scoped.
  std::set<std::string> trials;
  std::set<std::string> sites;

  bool HasRole(Role role) const { return roles.count(role) > 0; }
  bool MayTouchTrial(absl::string_view trial) const;
  bool MayTouchSite(absl::string_view site) const;
};

// The principal used when auth is switched off with --insecure_no_auth.
Principal InsecureAdminPrincipal();

// Tokens are held only as SHA-256 hex digests, so the tokens file is not itself a secret
// that grants access.
class TokenStore {
 public:
  // Parses the YAML tokens file:
  //   tokens:
  //     - name: la1-partner
  //       sha256: <hex SHA-256 of the bearer token>
  //       roles: [partner]
  //       trials: [beneficiaries]
  //       sites: [LA1]          # optional; default "*"
  // `source` names the file in errors.
  static absl::StatusOr<TokenStore> FromYaml(absl::string_view yaml, absl::string_view source);
  static absl::StatusOr<TokenStore> LoadFile(const std::string& path);

  // UNAUTHENTICATED for an empty or unknown token.
  absl::StatusOr<Principal> Authenticate(absl::string_view token) const;

  size_t size() const { return by_digest_.size(); }

 private:
  std::map<std::string, Principal, std::less<>> by_digest_;
};

// Lowercase hex SHA-256 of `token`.
std::string HashToken(absl::string_view token);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_AUTH_H_
