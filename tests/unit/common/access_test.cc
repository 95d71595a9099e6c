#include "services/common/access.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fieldwork {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Principal Make(std::set<Role> roles, std::set<std::string> sites) {
  return Principal{"caller", std::move(roles), {"trial"}, std::move(sites)};
}

TEST(AccessTest, EveryNonAdminRoleWithSitesIsSiteScoped) {
  for (Role role : {Role::kResearcher, Role::kPartner, Role::kAnalyst}) {
    EXPECT_TRUE(ParticipantScope::Of(Make({role}, {"LA1"})).site_scoped());
    EXPECT_FALSE(ParticipantScope::Of(Make({role}, {"*"})).site_scoped());
  }
  EXPECT_FALSE(ParticipantScope::Of(Make({Role::kAdmin}, {"LA1"})).site_scoped());
  EXPECT_FALSE(ParticipantScope::Of(InsecureAdminPrincipal()).site_scoped());
}

TEST(AccessTest, WholeTrialCallsAreRefusedToSiteScopedCallers) {
  const Principal scoped = Make({Role::kResearcher}, {"LA1"});
  const absl::Status refused = AuthorizeWholeTrial(scoped, {Role::kResearcher}, "trial");
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(refused.message(), HasSubstr("every site"));
  EXPECT_TRUE(AuthorizeWholeTrial(Make({Role::kResearcher}, {"*"}), {Role::kResearcher}, "trial").ok());
  // The role and trial rules come first.
  EXPECT_THAT(AuthorizeWholeTrial(Make({Role::kPartner}, {"*"}), {Role::kResearcher}, "trial")
                  .message(),
              HasSubstr("lacks a role"));
}

TEST(AccessTest, AnotherSitesParticipantAndAnUnknownOneGetTheSameDenial) {
  const ParticipantScope scope = ParticipantScope::Sites({"LA1"});
  EXPECT_TRUE(scope.CheckParticipant("p1", "LA1").ok());
  const absl::Status other = scope.CheckParticipant("p1", "LA2");
  const absl::Status unknown = scope.CheckParticipant("p1", std::nullopt);
  EXPECT_EQ(other.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(other, unknown);
  EXPECT_THAT(other.message(), Not(HasSubstr("LA2")));
  EXPECT_THAT(other.message(), HasSubstr("not permitted"));
}

TEST(AccessTest, AnUnscopedCallerIsToldAParticipantDoesNotExist) {
  const ParticipantScope everyone;
  EXPECT_TRUE(everyone.CheckParticipant("p1", "LA2").ok());
  EXPECT_EQ(everyone.CheckParticipant("p1", std::nullopt).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(everyone.MayTouchSite("anything"));
}

}  // namespace
}  // namespace fieldwork
