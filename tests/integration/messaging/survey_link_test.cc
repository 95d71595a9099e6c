// Personal survey links end to end on the messaging side: the real fieldwork-messaging binary
// with --survey_link_keys and --survey_base_url delivers invitations whose {{survey_link}}
// opens, with the same key ring, to the participant's own claims; an invitation and its
// reminder carry the same link; and without a key ring a hosted campaign is refused at start,
// and a worker that has none dead-letters the send with the reason instead of mailing no link.
#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fieldwork/v1/messaging.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/common/auth.h"
#include "services/messaging/convert.h"
#include "services/survey_link/key_ring.h"
#include "services/survey_link/survey_link_token.h"
#include "tests/integration/messaging/messaging_fixture.h"
#include "tests/testing/ports.h"

namespace fieldwork::messaging {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;
using survey_link::SurveyLinkKeyRing;

// A ring as the Secret holds it: the sealing key first, an older one still opening.
constexpr char kKeyRing[] =
    "# test survey link keys\n"
    "2 4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60\n"
    "1 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n";
constexpr char kFormUrl[] = "http://127.0.0.1:8081";
const absl::Time kExpires = absl::FromUnixSeconds(4102444800);  // 2100-01-01T00:00:00Z

SurveyLinkKeyRing Ring() {
  absl::StatusOr<SurveyLinkKeyRing> ring = SurveyLinkKeyRing::Parse(kKeyRing, "test ring");
  EXPECT_TRUE(ring.ok()) << ring.status();
  return *std::move(ring);
}

// A hosted-survey invitation to wave "baseline", due from `start`, every day and hour: the
// invitation and `reminders` reminders a day apart, their links valid until `expires`.
v1::CampaignDefinition HostedInvitation(absl::Time start, int reminders, absl::Time expires = kExpires) {
  v1::CampaignDefinition c;
  c.set_campaign_id("baseline-invite");
  c.set_kind(v1::CAMPAIGN_KIND_SURVEY_INVITATION);
  for (int s = 0; s <= reminders; ++s) {
    v1::CampaignStep* step = c.add_steps();
    step->set_template_id("invite");
    step->mutable_offset()->set_seconds(int64_t{86400} * s);
    step->set_reminder(s > 0);
  }
  c.mutable_audience()->set_all_enrolled(true);
  c.set_wave_id("baseline");
  c.set_hosted_survey(true);
  *c.mutable_survey_link_expires() = ToTimestamp(expires);
  c.set_channel(v1::MESSAGE_CHANNEL_EMAIL);
  for (int d = 1; d <= 7; ++d) c.mutable_window()->add_days(d);
  c.mutable_window()->set_end_hour(24);
  c.mutable_window()->set_zone(v1::ZONE_SOURCE_TRIAL);
  c.set_trial_time_zone("UTC");
  *c.mutable_start() = ToTimestamp(start);
  return c;
}

v1::UpdateTemplateRequest InviteTemplate(const std::string& trial) {
  v1::UpdateTemplateRequest t;
  t.set_trial_id(trial);
  t.set_template_id("invite");
  t.mutable_content()->set_subject("Your survey");
  t.mutable_content()->set_text_body("Dear {{first_name}}, answer here: {{survey_link}} thank you");
  return t;
}

// The link in a delivered text ("... answer here: <link> thank you").
std::string LinkIn(const std::string& text) {
  const size_t at = text.find(kFormUrl);
  EXPECT_NE(at, std::string::npos) << text;
  if (at == std::string::npos) return "";
  return text.substr(at, text.find(' ', at) - at);
}

// The claims the link opens to with the ring. The link is the form's address and the sealed
// token only: no query, no id beside it (the unit tests show that no id is readable in a token;
// a two-character id like "p3" can turn up in any random base64 by chance).
survey_link::SurveyLinkClaims Open(const SurveyLinkKeyRing& ring, const std::string& link) {
  const std::string prefix = absl::StrCat(kFormUrl, "/s/");
  EXPECT_EQ(link.substr(0, prefix.size()), prefix);
  EXPECT_EQ(link.find_first_of("?=&/", prefix.size()), std::string::npos) << link;
  absl::StatusOr<survey_link::SurveyLinkClaims> claims =
      survey_link::OpenSurveyLink(ring, link.substr(prefix.size()), absl::Now());
  EXPECT_TRUE(claims.ok()) << claims.status();
  return claims.ok() ? *claims : survey_link::SurveyLinkClaims{};
}

TEST_F(MessagingTest, BinaryDeliversPersonalSurveyLinksThatOpenToTheParticipantsClaims) {
  CreateTwoArmTrial("links", 6);
  const std::string tokens = dir_.path() + "/tokens.yaml";
  std::ofstream(tokens) << "tokens:\n  - name: researcher\n    sha256: " << HashToken(kResearcherToken)
                        << "\n    roles: [researcher]\n    trials: [\"*\"]\n";
  std::ofstream(dir_.path() + "/service.token") << kAnalystToken << "\n";
  std::ofstream(dir_.path() + "/contact.key") << kContactKeyHex << "\n";
  std::ofstream(dir_.path() + "/link.key") << kLinkKeyHex << "\n";
  std::ofstream(dir_.path() + "/survey_link.keys") << kKeyRing;
  const int grpc_port = fieldwork::testing::PickFreePort();
  const int http_port = fieldwork::testing::PickFreePort();
  const std::string address = absl::StrCat("127.0.0.1:", grpc_port);
  const std::string out = dir_.path() + "/survey-messages.jsonl";
  fieldwork::testing::ServiceProcess process(
      "fieldwork-messaging",
      {"--listen_address=" + address, absl::StrCat("--http_port=", http_port), "--http_bind_address=127.0.0.1",
       absl::StrCat("--metrics_port=", fieldwork::testing::PickFreePort()), "--metrics_bind_address=127.0.0.1",
       "--redis_url=" + redis_server_->url(), "--tokens_file=" + tokens,
       "--randomisation_address=" + randomisation_->address(), "--service_token_file=" + dir_.path() + "/service.token",
       "--contact_key_file=" + dir_.path() + "/contact.key", "--link_key_file=" + dir_.path() + "/link.key",
       "--survey_link_keys=" + dir_.path() + "/survey_link.keys", absl::StrCat("--survey_base_url=", kFormUrl, "/"),
       "--file_channel_path=" + out, "--worker_threads=1", "--drain_delay=0s"},
      address, dir_.path());
  auto stub = v1::MessagingService::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  v1::UpdateTemplateResponse saved;
  grpc::Status s = stub->UpdateTemplate(ContextWith(kResearcherToken).get(), InviteTemplate("links"), &saved);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::CreateCampaignRequest create;
  create.set_trial_id("links");
  *create.mutable_campaign() = HostedInvitation(absl::Now() - absl::Minutes(1), 0);
  v1::CreateCampaignResponse created;
  s = stub->CreateCampaign(ContextWith(kResearcherToken).get(), create, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::StartCampaignRequest start;
  start.set_trial_id("links");
  start.set_campaign_id("baseline-invite");
  v1::StartCampaignResponse started;
  s = stub->StartCampaign(ContextWith(kResearcherToken).get(), start, &started);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(started.planned(), 6);

  auto delivered = [&] {
    std::ifstream in(out);
    std::vector<nlohmann::json> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    return lines;
  };
  for (int i = 0; i < 300 && delivered().size() < 6; ++i) absl::SleepFor(absl::Milliseconds(100));
  const std::vector<nlohmann::json> mails = delivered();
  ASSERT_EQ(mails.size(), 6u) << process.process().ReadLog();
  const SurveyLinkKeyRing ring = Ring();
  std::set<std::string> links;
  for (const nlohmann::json& mail : mails) {
    const std::string to = mail.at("to").get<std::string>();             // p<i>@example.org
    const std::string participant = to.substr(0, to.find('@'));
    const std::string link = LinkIn(mail.at("text").get<std::string>());
    links.insert(link);
    const survey_link::SurveyLinkClaims claims = Open(ring, link);
    EXPECT_EQ(claims.trial_id, "links");
    EXPECT_EQ(claims.wave_id, "baseline");
    EXPECT_EQ(claims.participant_id, participant);
    EXPECT_EQ(claims.expires, kExpires);
  }
  EXPECT_EQ(links.size(), 6u);  // one personal link each
}

TEST_F(MessagingTest, AnInvitationAndItsReminderCarryTheSameLink) {
  CreateTwoArmTrial("remind", 4);
  ASSERT_TRUE(messenger_->UpdateTemplate(InviteTemplate("remind")).ok());
  const SurveyLinkKeyRing ring = Ring();
  const SurveyLinkSettings settings{&ring, kFormUrl};
  Messenger messenger(*store_, *queue_, *allocations_, clock_, nullptr, settings);
  clock_.Set(absl::FromCivil(absl::CivilSecond(2021, 1, 4, 10, 0, 0), absl::UTCTimeZone()));
  v1::CreateCampaignRequest create;
  create.set_trial_id("remind");
  *create.mutable_campaign() = HostedInvitation(clock_.Now(), 1);
  ASSERT_TRUE(messenger.CreateCampaign(create).ok());
  v1::StartCampaignRequest start;
  start.set_trial_id("remind");
  start.set_campaign_id("baseline-invite");
  absl::StatusOr<v1::StartCampaignResponse> started = messenger.StartCampaign(start);
  ASSERT_TRUE(started.ok()) << started.status();
  ASSERT_EQ(started->planned(), 8);

  RespondedSet nobody;  // no one answers: everyone gets the reminder
  WorkerDeps deps;
  deps.queue = queue_.get();
  deps.store = store_.get();
  deps.allocations = allocations_.get();
  deps.responses = &nobody;
  deps.signer = signer_.get();
  deps.email = file_channel_.get();
  deps.clock = &clock_;
  deps.survey_links = settings;
  WorkerOptions options;
  options.block = absl::ZeroDuration();
  Worker worker(deps, options);
  DrainNow(worker);
  clock_.Advance(absl::Hours(25));
  DrainNow(worker);
  std::map<std::string, std::vector<std::string>> links_by_participant;
  for (const auto& mail : Delivered()) links_by_participant[mail.at("to")].push_back(LinkIn(mail.at("text")));
  ASSERT_EQ(links_by_participant.size(), 4u);
  for (const auto& [to, links] : links_by_participant) {
    ASSERT_EQ(links.size(), 2u) << to;  // the invitation and the reminder
    EXPECT_EQ(links[0], links[1]) << to;
    EXPECT_EQ(Open(ring, links[0]).participant_id, to.substr(0, to.find('@')));
  }
}

TEST_F(MessagingTest, WithoutAKeyRingAHostedCampaignIsRefusedAndItsSendsDeadLettered) {
  CreateTwoArmTrial("nokeys", 3);
  ASSERT_TRUE(messenger_->UpdateTemplate(InviteTemplate("nokeys")).ok());
  clock_.Set(absl::FromCivil(absl::CivilSecond(2021, 1, 4, 10, 0, 0), absl::UTCTimeZone()));
  v1::CreateCampaignRequest create;
  create.set_trial_id("nokeys");
  *create.mutable_campaign() = HostedInvitation(clock_.Now(), 0);
  ASSERT_TRUE(messenger_->CreateCampaign(create).ok());
  v1::StartCampaignRequest start;
  start.set_trial_id("nokeys");
  start.set_campaign_id("baseline-invite");
  // The fixture's messenger has no key ring: nothing is planned.
  absl::StatusOr<v1::StartCampaignResponse> refused = messenger_->StartCampaign(start);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("--survey_link_keys"));

  // Started by a process that has the keys, delivered by a worker that has none (a
  // --role=worker process deployed without the Secret): dead letters with the reason, no mail.
  const SurveyLinkKeyRing ring = Ring();
  Messenger keyed(*store_, *queue_, *allocations_, clock_, nullptr, {&ring, kFormUrl});
  absl::StatusOr<v1::StartCampaignResponse> started = keyed.StartCampaign(start);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<Worker> worker = NewWorker("no-keys");
  DrainNow(*worker);
  EXPECT_TRUE(Delivered().empty());
  v1::ListDeadLettersRequest list;
  list.set_trial_id("nokeys");
  absl::StatusOr<v1::ListDeadLettersResponse> dead = messenger_->ListDeadLetters(list);
  ASSERT_TRUE(dead.ok()) << dead.status();
  ASSERT_EQ(dead->dead_letters_size(), 3);
  for (const v1::DeadLetter& d : dead->dead_letters()) {
    EXPECT_THAT(d.last_error(), HasSubstr("no survey link key ring (--survey_link_keys)"));
  }
}

TEST_F(MessagingTest, AReminderDueAfterItsLinkExpiredIsSkippedNotSent) {
  CreateTwoArmTrial("late", 2);
  ASSERT_TRUE(messenger_->UpdateTemplate(InviteTemplate("late")).ok());
  const SurveyLinkKeyRing ring = Ring();
  const SurveyLinkSettings settings{&ring, kFormUrl};
  Messenger messenger(*store_, *queue_, *allocations_, clock_, nullptr, settings);
  clock_.Set(absl::FromCivil(absl::CivilSecond(2021, 1, 4, 10, 0, 0), absl::UTCTimeZone()));
  v1::CreateCampaignRequest create;
  create.set_trial_id("late");
  // The link dies 12 hours after the invitation; the reminder is due a day after it.
  *create.mutable_campaign() = HostedInvitation(clock_.Now(), 1, clock_.Now() + absl::Hours(12));
  ASSERT_TRUE(messenger.CreateCampaign(create).ok());
  v1::StartCampaignRequest start;
  start.set_trial_id("late");
  start.set_campaign_id("baseline-invite");
  ASSERT_TRUE(messenger.StartCampaign(start).ok());
  RespondedSet nobody;
  WorkerDeps deps;
  deps.queue = queue_.get();
  deps.store = store_.get();
  deps.allocations = allocations_.get();
  deps.responses = &nobody;
  deps.signer = signer_.get();
  deps.email = file_channel_.get();
  deps.clock = &clock_;
  deps.survey_links = settings;
  WorkerOptions options;
  options.block = absl::ZeroDuration();
  Worker worker(deps, options);
  DrainNow(worker);
  EXPECT_EQ(Delivered().size(), 2u);  // the invitations
  clock_.Advance(absl::Hours(25));
  DrainNow(worker);
  EXPECT_EQ(Delivered().size(), 2u);  // no reminder with a dead link
  int skipped = 0;
  for (const v1::MessageEvent& e : Events("late")) {
    if (e.kind() != v1::EVENT_KIND_SKIPPED) continue;
    ++skipped;
    EXPECT_THAT(e.detail(), HasSubstr("survey_link_expired: the survey link expired at 2021-01-04T22:00:00Z"));
  }
  EXPECT_EQ(skipped, 2);
}

}  // namespace
}  // namespace fieldwork::messaging
