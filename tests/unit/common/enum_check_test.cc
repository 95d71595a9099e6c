#include "services/common/enum_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fieldwork/v1/messaging.pb.h"
#include "fieldwork/v1/randomisation.pb.h"

namespace fieldwork {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

TEST(EnumCheckTest, KnownValuesPass) {
  v1::CreateCampaignRequest request;
  request.mutable_campaign()->set_kind(v1::CAMPAIGN_KIND_INTERVENTION);
  request.mutable_campaign()->mutable_window()->set_zone(v1::ZONE_SOURCE_TRIAL);
  EXPECT_TRUE(CheckEnumValuesKnown(request).ok());
  EXPECT_TRUE(CheckEnumValuesKnown(v1::OptOutRequest()).ok());  // 0, unspecified, is defined
}

TEST(EnumCheckTest, AnUnknownValueIsRefusedNamingTheField) {
  v1::OptOutRequest opt_out;
  opt_out.set_scope(static_cast<v1::OptOutScope>(7));
  absl::Status status = CheckEnumValuesKnown(opt_out);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "scope: 7 is not a value of fieldwork.v1.OptOutScope");
}

TEST(EnumCheckTest, NestedRepeatedAndMapFieldsAreWalked) {
  v1::UpsertContactsRequest contacts;
  contacts.add_contacts()->set_preference(v1::MESSAGE_CHANNEL_SMS);
  contacts.add_contacts()->set_preference(static_cast<v1::MessageChannel>(-3));
  EXPECT_THAT(CheckEnumValuesKnown(contacts).message(),
              HasSubstr("contacts[1].preference: -3 is not a value of fieldwork.v1.MessageChannel"));

  v1::ListEventsRequest events;
  events.add_kinds(v1::EVENT_KIND_SENT);
  events.add_kinds(static_cast<v1::EventKind>(99));
  EXPECT_THAT(CheckEnumValuesKnown(events).message(), HasSubstr("kinds[1]: 99"));

  v1::CreateTrialRequest trial;
  trial.mutable_design()->add_factors()->mutable_minimisation()->set_imbalance(
      static_cast<v1::MinimisationOptions::Imbalance>(42));
  EXPECT_THAT(CheckEnumValuesKnown(trial).message(),
              HasSubstr("design.factors[0].minimisation.imbalance: 42"));
}

}  // namespace
}  // namespace fieldwork
