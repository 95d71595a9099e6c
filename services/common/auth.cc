#include "services/common/auth.h"

#include <sodium.h>

#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "absl/strings/str_cat.h"

namespace fieldwork {
namespace {

absl::StatusOr<Role> ParseRole(const std::string& name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "researcher") return Role::kResearcher;
  if (name == "partner") return Role::kPartner;
  if (name == "analyst") return Role::kAnalyst;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown role \"", name, "\" (expected admin, researcher, partner or analyst)"));
}

bool InScope(const std::set<std::string>& scope, absl::string_view value) {
  return scope.count("*") > 0 || scope.count(std::string(value)) > 0;
}

bool IsLowerHexDigest(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kResearcher:
      return "researcher";
    case Role::kPartner:
      return "partner";
    case Role::kAnalyst:
      return "analyst";
  }
  return "unknown";
}

bool Principal::MayTouchTrial(absl::string_view trial) const {
  return HasRole(Role::kAdmin) || InScope(trials, trial);
}

bool Principal::MayTouchSite(absl::string_view site) const {
  return HasRole(Role::kAdmin) || InScope(sites, site);
}

Principal InsecureAdminPrincipal() {
  return Principal{"insecure-no-auth", {Role::kAdmin}, {"*"}, {"*"}};
}

std::string HashToken(absl::string_view token) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
  return std::string(hex);
}

absl::StatusOr<TokenStore> TokenStore::FromYaml(absl::string_view yaml, absl::string_view source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": not valid YAML: ", e.what()));
  }
  const YAML::Node tokens = root["tokens"];
  if (!tokens || !tokens.IsSequence()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": needs a list under \"tokens\""));
  }
  TokenStore store;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const YAML::Node entry = tokens[i];
    const std::string where = absl::StrCat(source, ": tokens[", i, "]");
    try {
      Principal principal;
      principal.name = entry["name"].as<std::string>("");
      if (principal.name.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ".name is required"));
      const std::string digest = entry["sha256"].as<std::string>("");
      if (!IsLowerHexDigest(digest)) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".sha256 must be 64 lowercase hex characters (the SHA-256 of the token)"));
      }
      if (!entry["roles"] || !entry["roles"].IsSequence() || entry["roles"].size() == 0) {
        return absl::InvalidArgumentError(absl::StrCat(where, ".roles needs at least one role"));
      }
      for (const YAML::Node& role : entry["roles"]) {
        absl::StatusOr<Role> parsed = ParseRole(role.as<std::string>());
        if (!parsed.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ".roles: ", parsed.status().message()));
        principal.roles.insert(*parsed);
      }
      for (const char* scope : {"trials", "sites"}) {
        std::set<std::string>& target = absl::string_view(scope) == "trials" ? principal.trials : principal.sites;
        if (!entry[scope]) {
          // A non-admin without a trial list may touch no trial; sites default to all.
          if (absl::string_view(scope) == "sites") target.insert("*");
          continue;
        }
        for (const YAML::Node& value : entry[scope]) target.insert(value.as<std::string>());
      }
      if (!store.by_digest_.emplace(digest, std::move(principal)).second) {
        return absl::InvalidArgumentError(absl::StrCat(where, ".sha256 is listed twice"));
      }
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", e.what()));
    }
  }
  return store;
}

absl::StatusOr<TokenStore> TokenStore::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read tokens file ", path));
  std::stringstream content;
  content << in.rdbuf();
  return FromYaml(content.str(), path);
}

absl::StatusOr<Principal> TokenStore::Authenticate(absl::string_view token) const {
  if (token.empty()) return absl::UnauthenticatedError("missing bearer token");
  auto it = by_digest_.find(HashToken(token));
  if (it == by_digest_.end()) return absl::UnauthenticatedError("unknown bearer token");
  return it->second;
}

}  // namespace fieldwork
