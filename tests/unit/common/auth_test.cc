#include "services/common/auth.h"
#include "services/common/access.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace fieldwork {
namespace {

using ::testing::HasSubstr;

std::string TokensYaml() {
  return absl::StrCat(R"(tokens:
  - name: admin
    sha256: )", HashToken("admin-token"), R"(
    roles: [admin]
  - name: la1-partner
    sha256: )", HashToken("partner-token"), R"(
    roles: [partner]
    trials: [beneficiaries]
    sites: [LA1]
  - name: analyst
    sha256: )", HashToken("analyst-token"), R"(
    roles: [analyst]
    trials: ["*"]
)");
}

TEST(AuthTest, HashIsSha256Hex) {
  // SHA-256("abc") from FIPS 180-2.
  EXPECT_EQ(HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AuthTest, AuthenticatesKnownTokensOnly) {
  absl::StatusOr<TokenStore> store = TokenStore::FromYaml(TokensYaml(), "tokens.yaml");
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(store->size(), 3u);
  absl::StatusOr<Principal> partner = store->Authenticate("partner-token");
  ASSERT_TRUE(partner.ok());
  EXPECT_EQ(partner->name, "la1-partner");
  EXPECT_TRUE(partner->HasRole(Role::kPartner));
  EXPECT_EQ(store->Authenticate("nope").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(store->Authenticate("").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(AuthTest, PartnerIsScopedToItsTrialAndSite) {
  absl::StatusOr<TokenStore> store = TokenStore::FromYaml(TokensYaml(), "tokens.yaml");
  ASSERT_TRUE(store.ok());
  const Principal partner = *store->Authenticate("partner-token");
  EXPECT_TRUE(Authorize(partner, {Role::kPartner}, "beneficiaries", "LA1").ok());
  const absl::Status other_trial = Authorize(partner, {Role::kPartner}, "swing", "LA1");
  EXPECT_EQ(other_trial.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(other_trial.message(), HasSubstr("swing"));
  const absl::Status other_site = Authorize(partner, {Role::kPartner}, "beneficiaries", "LA2");
  EXPECT_EQ(other_site.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(other_site.message(), HasSubstr("LA2"));
  const absl::Status wrong_role = Authorize(partner, {Role::kResearcher}, "beneficiaries");
  EXPECT_EQ(wrong_role.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(wrong_role.message(), HasSubstr("researcher"));
}

TEST(AuthTest, AdminPassesEverywhereAndWildcardsWork) {
  absl::StatusOr<TokenStore> store = TokenStore::FromYaml(TokensYaml(), "tokens.yaml");
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE(Authorize(*store->Authenticate("admin-token"), {Role::kResearcher}, "any", "x").ok());
  const Principal analyst = *store->Authenticate("analyst-token");
  EXPECT_TRUE(Authorize(analyst, {Role::kAnalyst}, "swing", "LA9").ok());
  EXPECT_TRUE(Authorize(InsecureAdminPrincipal(), {Role::kPartner}, "t", "s").ok());
}

TEST(AuthTest, RejectsBadTokenFilesNamingTheEntryAndField) {
  EXPECT_THAT(TokenStore::FromYaml("tokens: [", "f.yaml").status().message(), HasSubstr("f.yaml"));
  EXPECT_THAT(TokenStore::FromYaml("other: 1", "f.yaml").status().message(), HasSubstr("tokens"));
  EXPECT_THAT(TokenStore::FromYaml("tokens:\n  - name: a\n    sha256: abc\n    roles: [admin]\n",
                                   "f.yaml")
                  .status()
                  .message(),
              HasSubstr("tokens[0].sha256"));
  const std::string digest = HashToken("x");
  EXPECT_THAT(TokenStore::FromYaml(absl::StrCat("tokens:\n  - name: a\n    sha256: ", digest,
                                                "\n    roles: [wizard]\n"),
                                   "f.yaml")
                  .status()
                  .message(),
              HasSubstr("wizard"));
  EXPECT_THAT(TokenStore::FromYaml(absl::StrCat("tokens:\n  - name: a\n    sha256: ", digest,
                                                "\n    roles: [admin]\n  - name: b\n    sha256: ",
                                                digest, "\n    roles: [admin]\n"),
                                   "f.yaml")
                  .status()
                  .message(),
              HasSubstr("tokens[1].sha256 is listed twice"));
  EXPECT_THAT(TokenStore::LoadFile("/nonexistent/tokens.yaml").status().message(),
              HasSubstr("/nonexistent/tokens.yaml"));
}

}  // namespace
}  // namespace fieldwork
