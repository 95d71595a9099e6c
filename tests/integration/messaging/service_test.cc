// The MessagingService over real gRPC (in-process server on port 0): tokens and roles are
// enforced, errors keep their codes and field names, and ListEvents streams the take-up data.
#include "services/messaging/service.h"

#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "fieldwork/v1/messaging.grpc.pb.h"
#include "services/common/auth.h"
#include "tests/integration/messaging/messaging_fixture.h"

namespace fieldwork::messaging {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

constexpr char kPartner[] = "partner-token";
constexpr char kResearcher[] = "messaging-researcher-token";

class ServiceTest : public MessagingTest {
 protected:
  void SetUp() override {
    MessagingTest::SetUp();
    const std::string yaml =
        absl::StrCat("tokens:\n", "  - name: researcher\n    sha256: ", HashToken(kResearcher),
                     "\n    roles: [researcher]\n    trials: [\"*\"]\n",
                     "  - name: partner\n    sha256: ", HashToken(kPartner),
                     "\n    roles: [partner]\n    trials: [svc]\n");
    authenticator_ = std::make_unique<Authenticator>(*TokenStore::FromYaml(yaml, "tokens"));
    service_ = std::make_unique<MessagingServiceImpl>(*messenger_, *authenticator_);
    server_ = std::make_unique<fieldwork::testing::InProcessServer>(
        std::vector<grpc::Service*>{service_.get()});
    stub_ = v1::MessagingService::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }

  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<MessagingServiceImpl> service_;
  std::unique_ptr<fieldwork::testing::InProcessServer> server_;
  std::unique_ptr<v1::MessagingService::Stub> stub_;
};

// Proto3 keeps an enum number it does not know: an OptOut with scope 7 used to be stored (as
// no channel at all) and a contact's preference 9 read as "no preference", silently.
TEST_F(ServiceTest, EnumValuesOutOfRangeAreRefusedNamingTheField) {
  CreateTwoArmTrial("svc", 2);
  v1::OptOutRequest opt_out;
  opt_out.set_trial_id("svc");
  opt_out.set_participant_id("p0");
  opt_out.set_scope(static_cast<v1::OptOutScope>(7));
  v1::OptOutResponse opted_out;
  grpc::Status s = stub_->OptOut(ContextWith(kPartner).get(), opt_out, &opted_out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("scope: 7 is not a value of fieldwork.v1.OptOutScope"));

  v1::UpsertContactsRequest contacts;
  contacts.set_trial_id("svc");
  v1::Contact* c = contacts.add_contacts();
  c->set_participant_id("p0");
  c->set_email("p0@example.org");
  c->set_preference(static_cast<v1::MessageChannel>(9));
  v1::UpsertContactsResponse upserted;
  s = stub_->UpsertContacts(ContextWith(kPartner).get(), contacts, &upserted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("contacts[0].preference: 9"));
  EXPECT_EQ(upserted.upserted(), 0);

  v1::ListEventsRequest list;
  list.set_trial_id("svc");
  list.add_kinds(static_cast<v1::EventKind>(42));
  auto context = ContextWith(kResearcher);
  auto reader = stub_->ListEvents(context.get(), list);
  v1::ListEventsResponse page;
  while (reader->Read(&page)) {
  }
  s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("kinds[0]: 42"));

  // A campaign of a kind that does not exist is refused by its path and not created.
  v1::CreateCampaignRequest create;
  create.set_trial_id("svc");
  create.mutable_campaign()->set_campaign_id("odd");
  create.mutable_campaign()->set_kind(static_cast<v1::CampaignKind>(42));
  v1::CreateCampaignResponse created;
  s = stub_->CreateCampaign(ContextWith(kResearcher).get(), create, &created);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("campaign.kind: 42 is not a value of"));
  v1::GetCampaignStatusRequest get;
  get.set_trial_id("svc");
  get.set_campaign_id("odd");
  v1::GetCampaignStatusResponse status;
  EXPECT_EQ(stub_->GetCampaignStatus(ContextWith(kResearcher).get(), get, &status).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServiceTest, RolesAreEnforcedAndEventsStream) {
  CreateTwoArmTrial("svc", 6);
  v1::UpdateTemplateRequest tmpl;
  tmpl.set_trial_id("svc");
  tmpl.set_template_id("hello");
  tmpl.mutable_content()->set_subject("Hello {{first_name}}");
  tmpl.mutable_content()->set_text_body("Hi {{first_name}}");
  v1::UpdateTemplateResponse saved;
  grpc::ClientContext anonymous;
  EXPECT_EQ(stub_->UpdateTemplate(&anonymous, tmpl, &saved).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stub_->UpdateTemplate(ContextWith(kPartner).get(), tmpl, &saved).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  grpc::Status s = stub_->UpdateTemplate(ContextWith(kResearcher).get(), tmpl, &saved);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(saved.version(), 1);

  // Partners upload contacts for their own trial only.
  v1::UpsertContactsRequest contacts;
  contacts.set_trial_id("svc");
  v1::Contact* c = contacts.add_contacts();
  c->set_participant_id("p0");
  c->set_email("p0@example.org");
  v1::UpsertContactsResponse upserted;
  s = stub_->UpsertContacts(ContextWith(kPartner).get(), contacts, &upserted);
  ASSERT_TRUE(s.ok()) << s.error_message();
  contacts.set_trial_id("other");
  EXPECT_EQ(stub_->UpsertContacts(ContextWith(kPartner).get(), contacts, &upserted).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  v1::CreateCampaignRequest create;
  create.set_trial_id("svc");
  v1::CampaignDefinition& def = *create.mutable_campaign();
  def.set_campaign_id("c");
  def.set_kind(v1::CAMPAIGN_KIND_INTERVENTION);
  def.add_steps()->set_template_id("hello");
  def.mutable_audience()->set_factor("messages");
  def.mutable_audience()->add_arms("treatment");
  def.set_channel(v1::MESSAGE_CHANNEL_EMAIL);
  def.mutable_window()->add_days(9);  // not a weekday
  def.mutable_window()->set_end_hour(24);
  def.set_trial_time_zone("UTC");
  v1::CreateCampaignResponse created;
  s = stub_->CreateCampaign(ContextWith(kResearcher).get(), create, &created);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("campaign.window.days[0]"));
  def.mutable_window()->set_days(0, 1);
  *def.mutable_start() = google::protobuf::Timestamp();
  def.mutable_start()->set_seconds(absl::ToUnixSeconds(clock_.Now()));
  s = stub_->CreateCampaign(ContextWith(kResearcher).get(), create, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::StartCampaignRequest start;
  start.set_trial_id("svc");
  start.set_campaign_id("c");
  v1::StartCampaignResponse started;
  s = stub_->StartCampaign(ContextWith(kResearcher).get(), start, &started);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_GT(started.planned(), 0);

  v1::ListEventsRequest list;
  list.set_trial_id("svc");
  list.add_kinds(v1::EVENT_KIND_QUEUED);
  auto context = ContextWith(kResearcher);
  auto reader = stub_->ListEvents(context.get(), list);
  v1::ListEventsResponse page;
  int64_t queued = 0;
  while (reader->Read(&page)) {
    for (const v1::MessageEvent& e : page.events()) {
      EXPECT_EQ(e.kind(), v1::EVENT_KIND_QUEUED);
      EXPECT_EQ(e.arm(), "treatment");
      EXPECT_FALSE(e.cursor().empty());
      ++queued;
    }
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(queued, started.planned());
  // Partners never read events (they would reveal arms).
  auto partner_context = ContextWith(kPartner);
  auto partner_reader = stub_->ListEvents(partner_context.get(), list);
  while (partner_reader->Read(&page)) {
  }
  EXPECT_EQ(partner_reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // A cursor ListEvents never gave is refused naming the field, whichever log it would be read
  // in (the whole event log; opens and clicks: the engagement log of this trial).
  for (const char* bad :
       {"not-a-cursor", "12", "1-2-3", "-1-0", "1733443200000-x", "99999999999999999999-0"}) {
    for (bool engagement : {false, true}) {
      v1::ListEventsRequest after;
      after.set_trial_id("svc");
      after.set_after_cursor(bad);
      if (engagement) {
        after.add_kinds(v1::EVENT_KIND_OPENED);
        after.add_kinds(v1::EVENT_KIND_CLICKED);
      }
      auto after_context = ContextWith(kResearcher);
      auto after_reader = stub_->ListEvents(after_context.get(), after);
      while (after_reader->Read(&page)) {
      }
      const grpc::Status refused = after_reader->Finish();
      EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
      EXPECT_THAT(refused.error_message(), HasSubstr("after_cursor")) << bad;
    }
  }
}

}  // namespace
}  // namespace fieldwork::messaging
