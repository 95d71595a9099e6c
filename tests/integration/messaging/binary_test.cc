// The fieldwork-messaging binary as its own process (--role=all): it becomes healthy, serves
// the gRPC API with bearer tokens, plans and delivers a campaign to the file channel through
// its own scheduler and workers, answers tracked links over HTTP and exports the metrics.
#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "fieldwork/v1/messaging.grpc.pb.h"
#include "services/common/auth.h"
#include "services/messaging/convert.h"
#include "tests/integration/messaging/messaging_fixture.h"
#include "tests/testing/ports.h"

namespace fieldwork::messaging {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

TEST_F(MessagingTest, BinaryServesTheApiDeliversAndTracks) {
  CreateTwoArmTrial("bin", 10);
  const std::string tokens = dir_.path() + "/tokens.yaml";
  std::ofstream(tokens) << "tokens:\n  - name: researcher\n    sha256: "
                        << HashToken(kResearcherToken)
                        << "\n    roles: [researcher]\n    trials: [\"*\"]\n";
  std::ofstream(dir_.path() + "/service.token") << kAnalystToken << "\n";
  std::ofstream(dir_.path() + "/contact.key") << kContactKeyHex << "\n";
  std::ofstream(dir_.path() + "/link.key") << kLinkKeyHex << "\n";
  const int grpc_port = fieldwork::testing::PickFreePort();
  const int http_port = fieldwork::testing::PickFreePort();
  const int metrics_port = fieldwork::testing::PickFreePort();
  const std::string address = absl::StrCat("127.0.0.1:", grpc_port);
  const std::string out = dir_.path() + "/binary-messages.jsonl";
  fieldwork::testing::ServiceProcess process(
      "fieldwork-messaging",
      {"--listen_address=" + address, absl::StrCat("--http_port=", http_port),
       "--http_bind_address=127.0.0.1", absl::StrCat("--metrics_port=", metrics_port),
       "--metrics_bind_address=127.0.0.1", "--redis_url=" + redis_server_->url(),
       "--tokens_file=" + tokens, "--randomisation_address=" + randomisation_->address(),
       "--service_token_file=" + dir_.path() + "/service.token",
       "--contact_key_file=" + dir_.path() + "/contact.key",
       "--link_key_file=" + dir_.path() + "/link.key", "--file_channel_path=" + out,
       absl::StrCat("--link_base_url=http://127.0.0.1:", http_port), "--worker_threads=2",
       "--drain_delay=0s"},
      address, dir_.path());
  auto stub = v1::MessagingService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));

  v1::UpdateTemplateRequest tmpl;
  tmpl.set_trial_id("bin");
  tmpl.set_template_id("hello");
  tmpl.mutable_content()->set_subject("Hello {{first_name}}");
  tmpl.mutable_content()->set_text_body("Watch {{tracked_link:https://video.example.org/x}} now");
  v1::UpdateTemplateResponse saved;
  grpc::Status s = stub->UpdateTemplate(ContextWith(kResearcherToken).get(), tmpl, &saved);
  ASSERT_TRUE(s.ok()) << s.error_message();

  v1::CreateCampaignRequest create;
  create.set_trial_id("bin");
  v1::CampaignDefinition& def = *create.mutable_campaign();
  def.set_campaign_id("c");
  def.set_kind(v1::CAMPAIGN_KIND_INTERVENTION);
  def.add_steps()->set_template_id("hello");
  def.mutable_audience()->set_factor("messages");
  def.mutable_audience()->add_arms("treatment");
  def.set_channel(v1::MESSAGE_CHANNEL_EMAIL);
  for (int d = 1; d <= 7; ++d) def.mutable_window()->add_days(d);
  def.mutable_window()->set_end_hour(24);
  def.mutable_window()->set_zone(v1::ZONE_SOURCE_TRIAL);
  def.set_trial_time_zone("UTC");
  *def.mutable_start() = ToTimestamp(absl::Now() - absl::Minutes(1));
  v1::CreateCampaignResponse created;
  s = stub->CreateCampaign(ContextWith(kResearcherToken).get(), create, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::StartCampaignRequest start;
  start.set_trial_id("bin");
  start.set_campaign_id("c");
  v1::StartCampaignResponse started;
  s = stub->StartCampaign(ContextWith(kResearcherToken).get(), start, &started);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_GT(started.planned(), 0);

  auto lines = [&] {
    std::ifstream in(out);
    std::vector<std::string> result;
    for (std::string line; std::getline(in, line);) result.push_back(line);
    return result;
  };
  for (int i = 0; i < 300 && lines().size() < static_cast<size_t>(started.planned()); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  const std::vector<std::string> delivered = lines();
  ASSERT_EQ(delivered.size(), static_cast<size_t>(started.planned()))
      << process.process().ReadLog();
  const std::string& first = delivered[0];
  const size_t at = first.find("/c/");
  ASSERT_NE(at, std::string::npos);
  const std::string token = first.substr(at + 3, first.find(' ', at) - at - 3);
  httplib::Client client("127.0.0.1", http_port);
  auto clicked = client.Get(("/c/" + token).c_str());
  ASSERT_TRUE(clicked);
  EXPECT_EQ(clicked->status, 302);
  auto forged = client.Get(("/c/x" + token).c_str());
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 403);

  absl::StatusOr<std::string> metrics = fieldwork::testing::FetchMetrics(metrics_port);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(*metrics, HasSubstr("fieldwork_messaging_sends_total{"));
  EXPECT_THAT(*metrics, HasSubstr("fieldwork_messaging_engagement_total{"));
  EXPECT_THAT(*metrics, HasSubstr("fieldwork_messaging_queue_depth{"));
  EXPECT_THAT(*metrics, ::testing::Not(HasSubstr("example.org")));
}

}  // namespace
}  // namespace fieldwork::messaging
