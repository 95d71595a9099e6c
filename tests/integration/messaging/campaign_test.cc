// Campaigns end to end over the real randomisation service and a real Redis, on a manual
// clock: weekly intervention messages reach exactly the treatment arm inside the send window,
// the send-time guard stops a wrongly planned control send, withdrawn participants get nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "services/messaging/convert.h"
#include "services/messaging/domain/schedule.h"
#include "services/messaging/keys.h"
#include "tests/integration/messaging/messaging_fixture.h"

namespace fieldwork::messaging {
namespace {

namespace v1 = ::fieldwork::v1;
using ::testing::HasSubstr;

v1::CampaignDefinition WeeklyCampaign(const std::string& id, int weeks, absl::Time start) {
  v1::CampaignDefinition c;
  c.set_campaign_id(id);
  c.set_kind(v1::CAMPAIGN_KIND_INTERVENTION);
  for (int w = 0; w < weeks; ++w) {
    v1::CampaignStep* step = c.add_steps();
    step->set_template_id("weekly");
    step->mutable_offset()->set_seconds(int64_t{7} * 24 * 3600 * w);
  }
  c.mutable_audience()->set_factor("messages");
  c.mutable_audience()->add_arms("treatment");
  c.set_channel(v1::MESSAGE_CHANNEL_EMAIL);
  for (int d = 1; d <= 5; ++d) c.mutable_window()->add_days(d);
  c.mutable_window()->set_start_hour(9);
  c.mutable_window()->set_end_hour(17);
  c.mutable_window()->set_zone(v1::ZONE_SOURCE_PARTICIPANT);
  c.set_trial_time_zone("Europe/London");
  *c.mutable_start() = ToTimestamp(start);
  return c;
}

void CreateAndStart(Messenger& messenger, const std::string& trial,
                    const v1::CampaignDefinition& campaign, int64_t expected_planned) {
  v1::CreateCampaignRequest create;
  create.set_trial_id(trial);
  *create.mutable_campaign() = campaign;
  absl::StatusOr<v1::CreateCampaignResponse> created = messenger.CreateCampaign(create);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->state(), v1::CAMPAIGN_STATE_DRAFT);
  v1::StartCampaignRequest start;
  start.set_trial_id(trial);
  start.set_campaign_id(campaign.campaign_id());
  absl::StatusOr<v1::StartCampaignResponse> started = messenger.StartCampaign(start);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(started->planned(), expected_planned);
  // Starting again plans nothing new (window 1).
  absl::StatusOr<v1::StartCampaignResponse> again = messenger.StartCampaign(start);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->planned(), 0);
}

// SWING-style: 8 weekly messages to the treatment arm of a 2-arm trial, across the spring DST
// change, driven hour by hour by a manual clock.
TEST_F(MessagingTest, EightWeeklyMessagesReachEachTreatmentParticipantOnlyInsideTheWindow) {
  const std::map<std::string, std::string> arms = CreateTwoArmTrial("swing", 40);
  SaveTemplate("swing", "weekly");
  const absl::TimeZone london = *[] {
    absl::TimeZone z;
    EXPECT_TRUE(absl::LoadTimeZone("Europe/London", &z));
    return std::optional<absl::TimeZone>(z);
  }();
  // Monday 8 March 2021, 08:30 local: before the window opens at 09:00. The clocks go forward
  // on 28 March, in the middle of the campaign.
  const absl::Time start = absl::FromCivil(absl::CivilSecond(2021, 3, 8, 8, 30, 0), london);
  clock_.Set(absl::FromCivil(absl::CivilSecond(2021, 3, 8, 6, 0, 0), london));
  int treatment = 0;
  for (const auto& [p, arm] : arms) treatment += arm == "treatment" ? 1 : 0;
  CreateAndStart(*messenger_, "swing", WeeklyCampaign("weekly-texts", 8, start), treatment * 8);

  std::unique_ptr<Worker> worker = NewWorker("w1");
  for (int hour = 0; hour < 24 * 7 * 9; ++hour) {
    DrainNow(*worker);
    clock_.Advance(absl::Hours(1));
  }

  std::map<std::string, int> received;
  for (const auto& line : Delivered()) received[line.at("to")] += 1;
  for (const auto& [p, arm] : arms) {
    const int got = received[absl::StrCat(p, "@example.org")];
    EXPECT_EQ(got, arm == "treatment" ? 8 : 0) << p << " in " << arm;
  }
  SendWindow window;
  for (absl::Weekday d : {absl::Weekday::monday, absl::Weekday::tuesday, absl::Weekday::wednesday,
                          absl::Weekday::thursday, absl::Weekday::friday}) {
    window.days.push_back(d);
  }
  window.start_hour = 9;
  window.end_hour = 17;
  int sent = 0;
  std::map<int, int> sent_by_step;
  for (const v1::MessageEvent& e : Events("swing")) {
    if (e.kind() != v1::EVENT_KIND_SENT) continue;
    ++sent;
    sent_by_step[e.step()] += 1;
    EXPECT_EQ(e.arm(), "treatment");
    EXPECT_TRUE(InSendWindow(window, london, FromTimestamp(e.time())))
        << absl::FormatTime(FromTimestamp(e.time()), london);
    // Every send of step w went out on the Monday of week w at 09:00 local, DST or not.
    const absl::CivilSecond local = absl::ToCivilSecond(FromTimestamp(e.time()), london);
    EXPECT_EQ(local.hour(), 9);
    EXPECT_EQ(absl::GetWeekday(absl::CivilDay(local)), absl::Weekday::monday);
  }
  EXPECT_EQ(sent, treatment * 8);
  for (int s = 0; s < 8; ++s) EXPECT_EQ(sent_by_step[s], treatment) << "step " << s;

  v1::GetCampaignStatusRequest status_request;
  status_request.set_trial_id("swing");
  status_request.set_campaign_id("weekly-texts");
  absl::StatusOr<v1::GetCampaignStatusResponse> status =
      messenger_->GetCampaignStatus(status_request);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->state(), v1::CAMPAIGN_STATE_COMPLETED);
  ASSERT_EQ(status->steps_size(), 8);
  for (const v1::StepCounts& row : status->steps()) {
    EXPECT_EQ(row.sent(), treatment);
    EXPECT_EQ(row.scheduled(), 0);
  }
  for (const v1::StepCounts& row : status->by_arm()) EXPECT_EQ(row.arm(), "treatment");

  // The metrics count the sends by trial, campaign, channel and status, and carry no
  // participant id or address.
  const std::string metrics = prometheus::TextSerializer().Serialize(registry_.Collect());
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat(
                           "fieldwork_messaging_sends_total{campaign=\"weekly-texts\",channel="
                           "\"email\",status=\"sent\",trial=\"swing\"} ",
                           treatment * 8)));
  EXPECT_THAT(metrics, HasSubstr("fieldwork_messaging_delivery_latency_seconds_count"));
  EXPECT_THAT(metrics, ::testing::Not(HasSubstr("example.org")));
  EXPECT_THAT(metrics, ::testing::Not(HasSubstr("\"p1\"")));
}

// The plan is not trusted: control participants put in the queue by a (simulated) planning
// bug are refused at send time because their current allocation is re-checked.
TEST_F(MessagingTest, ControlParticipantReceivesNothingEvenFromAWronglyBuiltAudience) {
  const std::map<std::string, std::string> arms = CreateTwoArmTrial("mod-ing", 30);
  SaveTemplate("mod-ing", "weekly");
  clock_.Set(absl::FromCivil(absl::CivilSecond(2021, 1, 4, 10, 0, 0), absl::UTCTimeZone()));
  int treatment = 0;
  for (const auto& [p, arm] : arms) treatment += arm == "treatment" ? 1 : 0;
  CreateAndStart(*messenger_, "mod-ing", WeeklyCampaign("video", 1, clock_.Now()), treatment);
  // The wrongly built audience: every control participant queued for step 0 as well.
  std::vector<PlannedEntry> wrong;
  for (const auto& [p, arm] : arms) {
    if (arm == "control") {
      wrong.push_back({IdempotencyKey("mod-ing", "video", 0, p), ToMs(clock_.Now()), "treatment"});
    }
  }
  ASSERT_FALSE(wrong.empty());
  absl::StatusOr<int64_t> planned = queue_->Plan("mod-ing", "video", wrong, ToMs(clock_.Now()));
  ASSERT_TRUE(planned.ok()) << planned.status();
  EXPECT_EQ(*planned, static_cast<int64_t>(wrong.size()));

  std::unique_ptr<Worker> worker = NewWorker("w1");
  DrainNow(*worker);
  std::set<std::string> received;
  for (const auto& line : Delivered()) received.insert(line.at("to"));
  EXPECT_EQ(received.size(), static_cast<size_t>(treatment));
  int skipped = 0;
  for (const v1::MessageEvent& e : Events("mod-ing")) {
    if (e.kind() == v1::EVENT_KIND_SKIPPED) {
      ++skipped;
      EXPECT_EQ(arms.at(e.participant_id()), "control");
      EXPECT_THAT(e.detail(), HasSubstr("arm_not_in_audience"));
    }
    if (e.kind() == v1::EVENT_KIND_SENT) {
      EXPECT_EQ(arms.at(e.participant_id()), "treatment");
    }
  }
  EXPECT_EQ(skipped, static_cast<int>(wrong.size()));
  for (const auto& [p, arm] : arms) {
    if (arm == "control") {
      EXPECT_EQ(received.count(absl::StrCat(p, "@example.org")), 0u) << p;
    }
  }
}

// Withdrawn participants get nothing further; the skip is recorded with the reason.
TEST_F(MessagingTest, WithdrawnParticipantGetsNothingFurther) {
  const std::map<std::string, std::string> arms = CreateTwoArmTrial("beneficiaries", 20);
  SaveTemplate("beneficiaries", "weekly");
  clock_.Set(absl::FromCivil(absl::CivilSecond(2021, 1, 4, 10, 0, 0), absl::UTCTimeZone()));
  std::string withdrawn;
  int treatment = 0;
  for (const auto& [p, arm] : arms) {
    if (arm != "treatment") continue;
    ++treatment;
    if (withdrawn.empty()) withdrawn = p;
  }
  CreateAndStart(*messenger_, "beneficiaries", WeeklyCampaign("video", 2, clock_.Now()),
                 treatment * 2);
  std::unique_ptr<Worker> worker = NewWorker("w1");
  DrainNow(*worker);
  EXPECT_EQ(Delivered().size(), static_cast<size_t>(treatment));

  v1::WithdrawRequest withdraw;
  withdraw.set_trial_id("beneficiaries");
  withdraw.set_participant_id(withdrawn);
  withdraw.mutable_date()->set_year(2021);
  withdraw.mutable_date()->set_month(1);
  withdraw.mutable_date()->set_day(5);
  withdraw.set_reason("asked to leave the study");
  v1::WithdrawResponse withdrew;
  grpc::Status s =
      randomisation_->stub().Withdraw(ContextWith(kResearcherToken).get(), withdraw, &withdrew);
  ASSERT_TRUE(s.ok()) << s.error_message();

  clock_.Advance(absl::Hours(24 * 7));
  DrainNow(*worker);
  std::map<std::string, int> received;
  for (const auto& line : Delivered()) received[line.at("to")] += 1;
  EXPECT_EQ(received[absl::StrCat(withdrawn, "@example.org")], 1);
  EXPECT_EQ(Delivered().size(), static_cast<size_t>(2 * treatment - 1));
  bool skip_recorded = false;
  for (const v1::MessageEvent& e : Events("beneficiaries")) {
    if (e.kind() == v1::EVENT_KIND_SKIPPED && e.participant_id() == withdrawn) {
      skip_recorded = true;
      EXPECT_EQ(e.step(), 1);
      EXPECT_THAT(e.detail(), HasSubstr("withdrawn"));
    }
  }
  EXPECT_TRUE(skip_recorded);
}

}  // namespace
}  // namespace fieldwork::messaging
